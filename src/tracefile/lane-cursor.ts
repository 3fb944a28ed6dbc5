/**
 * Reading one lane of a trace file: its PAGE and LOST chunks in file order, one chunk in memory at a
 * time, records decoded exactly as from the ring (docs/FORMAT.md sections 8 and 9.5). The bytes are
 * untrusted: every header is bounds-checked against its chunk, and a record that does not parse
 * ends that chunk with a warning naming its file offset.
 */
import { TraceFileError } from "../errors.js";
import {
  INTERNAL_BIT,
  INTERNAL_LOST,
  INTERNAL_TIME,
  LENGTH_MASK,
  LENGTH_SHIFT,
  PAGE_HEADER_BYTES,
  PG_BASE_TIME,
  PG_SEQ,
  PG_SEQ_HI,
  RECORD_HEADER_BYTES,
  STATE_BUSY,
  STATE_COMMITTED,
  STATE_SHIFT,
  TYPE_MASK,
} from "../layout.js";
import { RingRecord } from "../reader.js";
import { crc32 } from "./crc32.js";
import { CHUNK_FLAG_CRC, CHUNK_HEADER_BYTES, CHUNK_LOST, CH_CRC, CH_FLAGS, CH_KIND, CH_LENGTH, CH_VALUE, LC_TIME, LOST_PAYLOAD_BYTES, padded } from "./file-layout.js";
import type { ByteSource } from "./source.js";

const TWO_32 = 4294967296;
/** Where a page chunk's records start in the cursor's buffer: after the chunk header and the page header copy. */
const RECORDS_AT = CHUNK_HEADER_BYTES + PAGE_HEADER_BYTES;

/** Per-lane counts a cursor keeps while it reads. */
export interface LaneReadCounts {
  /** Page chunks read. */
  pages: number;
  /** Records reserved but never committed when the pages were copied (crash recovery, snapshots). */
  uncommitted: number;
}

export class TraceLaneCursor {
  readonly record = new RingRecord();
  readonly counts: LaneReadCounts = { pages: 0, uncommitted: 0 };
  hasHead = false;
  readonly #src: ByteSource;
  readonly #chunks: readonly number[];
  readonly #warn: (e: TraceFileError) => void;
  readonly #buf: Uint8Array;
  readonly #dv: DataView;
  readonly #i32: Int32Array;
  readonly #f64: Float64Array;
  #next = 0;
  /** File position of the chunk in the buffer. */
  #chunkPos = 0;
  #bPos = 0;
  #bEnd = 0;
  #base = 0;
  #nextTime = Number.NaN;

  /** @param chunkBytes the largest payload among `chunks` (from the scan): the buffer's size, so that memory follows the file, not the page size its header claims. */
  constructor(src: ByteSource, lane: number, chunks: readonly number[], chunkBytes: number, warn: (e: TraceFileError) => void) {
    this.#src = src;
    this.#chunks = chunks;
    this.#warn = warn;
    this.#buf = new Uint8Array(CHUNK_HEADER_BYTES + padded(Math.max(chunkBytes, LOST_PAYLOAD_BYTES)));
    this.#dv = new DataView(this.#buf.buffer);
    this.#i32 = new Int32Array(this.#buf.buffer);
    this.#f64 = new Float64Array(this.#buf.buffer);
    this.record.lane = lane;
    this.record.bytes = this.#buf;
  }

  /** Load the next record or loss marker into `record`; false at the end of the lane. */
  head(): boolean {
    if (this.hasHead) return true;
    for (;;) {
      while (this.#bPos < this.#bEnd) {
        const at = this.#bPos;
        const h = this.#i32[at >> 2] ?? 0;
        if (h === 0) break; // the rest of the page was never written
        const state = h >>> STATE_SHIFT;
        const len = (h >>> LENGTH_SHIFT) & LENGTH_MASK;
        const size = (RECORD_HEADER_BYTES + len + 7) & ~7;
        if (state === 0 || at + size > this.#bEnd) {
          this.#damaged(at, `record header 0x${(h >>> 0).toString(16)} (state ${state}, length ${len}) does not fit the ${this.#bEnd - at} bytes left in its chunk`);
          break;
        }
        this.#bPos = at + size;
        if (state !== STATE_COMMITTED) {
          if (state === STATE_BUSY) this.counts.uncommitted++;
          this.#nextTime = Number.NaN; // a TIME record belongs to the record right after it
          continue;
        }
        if ((h & INTERNAL_BIT) !== 0) {
          const kind = h & TYPE_MASK;
          if (kind === INTERNAL_TIME && len >= 8) {
            this.#nextTime = this.#f64[(at + RECORD_HEADER_BYTES) >> 3] ?? 0;
          } else if (kind === INTERNAL_LOST && len >= 8) {
            return this.#lost(this.#f64[(at + RECORD_HEADER_BYTES) >> 3] ?? 0, this.#base + ((this.#i32[(at >> 2) + 1] ?? 0) >>> 0), "dropped");
          }
          continue;
        }
        const r = this.record;
        r.kind = "data";
        r.cause = "";
        r.type = h & TYPE_MASK;
        const next = this.#nextTime;
        if (next === next) {
          r.timestamp = next;
          this.#nextTime = Number.NaN;
        } else {
          r.timestamp = this.#base + ((this.#i32[(at >> 2) + 1] ?? 0) >>> 0);
        }
        r.offset = at + RECORD_HEADER_BYTES;
        r.length = len;
        this.hasHead = true;
        return true;
      }
      if (this.#next >= this.#chunks.length) return false;
      if (this.#load(this.#chunks[this.#next++] as number)) return true;
    }
  }

  /** Read the chunk at `pos`. True when it is a LOST chunk, now the head. */
  #load(pos: number): boolean {
    this.#bPos = this.#bEnd = 0;
    this.#nextTime = Number.NaN;
    this.#chunkPos = pos;
    const dv = this.#dv;
    if (this.#src.read(pos, this.#buf, CHUNK_HEADER_BYTES) !== CHUNK_HEADER_BYTES) {
      this.#warn(new TraceFileError(`Cannot read the chunk at byte ${pos}: the file is shorter than when it was indexed`, pos));
      return false;
    }
    const length = dv.getUint32(CH_LENGTH, true);
    const n = Math.min(length, this.#buf.length - CHUNK_HEADER_BYTES); // the scan checked it fits (and sized the buffer)
    if (this.#src.read(pos + CHUNK_HEADER_BYTES, this.#buf.subarray(CHUNK_HEADER_BYTES), n) !== n) {
      this.#warn(new TraceFileError(`Cannot read the chunk at byte ${pos}: the file is shorter than when it was indexed`, pos));
      return false;
    }
    if ((dv.getUint16(CH_FLAGS, true) & CHUNK_FLAG_CRC) !== 0 && crc32(this.#buf, CHUNK_HEADER_BYTES, CHUNK_HEADER_BYTES + n) !== dv.getUint32(CH_CRC, true)) {
      this.#warn(new TraceFileError(`Damaged chunk at byte ${pos}: checksum mismatch; its records are skipped`, pos));
      return false;
    }
    const value = dv.getFloat64(CH_VALUE, true);
    if (dv.getUint16(CH_KIND, true) === CHUNK_LOST) {
      return this.#lost(value, dv.getFloat64(CHUNK_HEADER_BYTES + LC_TIME, true), "overrun");
    }
    const lo = dv.getUint32(CHUNK_HEADER_BYTES + PG_SEQ, true);
    const hi = dv.getUint32(CHUNK_HEADER_BYTES + PG_SEQ_HI, true);
    if (!(value >= 0) || lo !== value % TWO_32 || hi !== Math.floor(value / TWO_32)) {
      this.#warn(new TraceFileError(`Damaged page chunk at byte ${pos}: the chunk says page ${value} but its page header says ${hi * TWO_32 + lo}; skipped`, pos));
      return false;
    }
    this.counts.pages++;
    this.#base = dv.getFloat64(CHUNK_HEADER_BYTES + PG_BASE_TIME, true);
    // Records sit in the buffer at (page offset - CH_OFFSET + RECORDS_AT): 8-aligned, as in the ring.
    this.#bPos = RECORDS_AT;
    this.#bEnd = CHUNK_HEADER_BYTES + n;
    return false;
  }

  #lost(count: number, time: number, cause: "overrun" | "dropped"): boolean {
    const r = this.record;
    r.kind = "lost";
    r.cause = cause;
    r.lost = count;
    r.timestamp = time;
    r.type = 0;
    r.offset = 0;
    r.length = 0;
    this.hasHead = true;
    return true;
  }

  #damaged(at: number, what: string): void {
    const filePos = this.#chunkPos + at;
    this.#warn(new TraceFileError(`Damaged page chunk at byte ${this.#chunkPos} (lane ${this.record.lane}): at byte ${filePos}, ${what}; the rest of the chunk is skipped`, filePos));
    this.#bPos = this.#bEnd;
  }
}

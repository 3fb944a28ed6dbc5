/**
 * Reading one lane of a trace file: its PAGE and LOST chunks in file order, one chunk in memory at a
 * time, records decoded exactly as from the ring (docs/FORMAT.md sections 8 and 9.5). The bytes are
 * untrusted: every header is bounds-checked against its chunk, and a record that does not parse
 * ends that chunk with a warning naming its file offset.
 */
import { TraceFileError } from "../errors.js";
import {
  INTERNAL_BIT,
  INTERNAL_IDENTITY,
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
import { IdentityTracker } from "../identity.js";
import { crc32 } from "./crc32.js";
import { CHUNK_FLAG_CRC, CHUNK_HEADER_BYTES, CHUNK_LOST, CH_CRC, CH_FLAGS, CH_KIND, CH_LENGTH, CH_VALUE, LC_CAUSE, LC_TIME, LOST_CAUSE_DROPPED, LOST_PAYLOAD_BYTES, padded } from "./file-layout.js";
import type { ByteSource } from "./source.js";

const TWO_32 = 4294967296;

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
  readonly #pageSize: number;
  #buf: Uint8Array;
  #dv: DataView;
  #i32: Int32Array;
  #f64: Float64Array;
  #next = 0;
  /** In a chunk of whole pages: where the current page starts in the buffer, its counter, and the pages after it. */
  #pageAt = 0;
  #page = 0;
  #pagesLeft = 0;
  #chunkEnd = 0;
  /** File position of the chunk in the buffer. */
  #chunkPos = 0;
  #bPos = 0;
  #bEnd = 0;
  #base = 0;
  #nextTime = Number.NaN;
  /** Who wrote the records being decoded (IDENTITY records, FORMAT.md 8.3). */
  readonly #who = new IdentityTracker();

  constructor(src: ByteSource, lane: number, chunks: readonly number[], pageSize: number, warn: (e: TraceFileError) => void) {
    this.#src = src;
    this.#chunks = chunks;
    this.#warn = warn;
    this.#pageSize = pageSize;
    this.#buf = this.#dv = this.#i32 = this.#f64 = undefined as never;
    // Start small and grow to the chunks actually read: memory follows the file, not the page size
    // its header claims (a 352-byte file claiming 1024 lanes of 64 KiB pages used to cost 67 MB per
    // read; found while adding a memory bound to the fuzzer).
    this.#grow(CHUNK_HEADER_BYTES + LOST_PAYLOAD_BYTES);
    this.record.lane = lane;
  }

  /**
   * A buffer of at least `bytes`, rounded up to 8 for the f64 view (chunks of many pages need more
   * than one page's worth; the scan bounded every chunk by the file's size).
   */
  #grow(bytes: number): void {
    if (this.#buf !== undefined && this.#buf.length >= bytes) return;
    this.#buf = new Uint8Array(padded(bytes));
    this.#dv = new DataView(this.#buf.buffer);
    this.#i32 = new Int32Array(this.#buf.buffer);
    this.#f64 = new Float64Array(this.#buf.buffer);
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
          } else if (kind === INTERNAL_IDENTITY) {
            this.#who.read(this.#buf, at + RECORD_HEADER_BYTES, len);
          } else if (kind === INTERNAL_LOST && len >= 8) {
            return this.#lost(this.#f64[(at + RECORD_HEADER_BYTES) >> 3] ?? 0, this.#base + ((this.#i32[(at >> 2) + 1] ?? 0) >>> 0), "dropped");
          }
          continue;
        }
        const r = this.record;
        this.#who.stamp(r);
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
      if (this.#pagesLeft > 0 && this.#enterPage(this.#pageAt + this.#pageSize, this.#page + 1)) continue;
      if (this.#next >= this.#chunks.length) return false;
      if (this.#load(this.#chunks[this.#next++] as number)) return true;
    }
  }

  /** Read the chunk at `pos`. True when it is a LOST chunk, now the head. */
  #load(pos: number): boolean {
    this.#bPos = this.#bEnd = 0;
    this.#pagesLeft = 0;
    this.#nextTime = Number.NaN;
    this.#chunkPos = pos;
    if (this.#src.read(pos, this.#buf, CHUNK_HEADER_BYTES) !== CHUNK_HEADER_BYTES) {
      this.#warn(new TraceFileError(`Cannot read the chunk at byte ${pos}: the file is shorter than when it was indexed`, pos));
      return false;
    }
    const length = this.#dv.getUint32(CH_LENGTH, true); // framed and bounded by the scan
    const value = this.#dv.getFloat64(CH_VALUE, true);
    const kind = this.#dv.getUint16(CH_KIND, true);
    const flags = this.#dv.getUint16(CH_FLAGS, true);
    const crc = this.#dv.getUint32(CH_CRC, true);
    this.#grow(CHUNK_HEADER_BYTES + length);
    if (this.#src.read(pos + CHUNK_HEADER_BYTES, this.#buf.subarray(CHUNK_HEADER_BYTES), length) !== length) {
      this.#warn(new TraceFileError(`Cannot read the chunk at byte ${pos}: the file is shorter than when it was indexed`, pos));
      return false;
    }
    if ((flags & CHUNK_FLAG_CRC) !== 0 && crc32(this.#buf, CHUNK_HEADER_BYTES, CHUNK_HEADER_BYTES + length) !== crc) {
      this.#warn(new TraceFileError(`Damaged chunk at byte ${pos}: checksum mismatch; its records are skipped`, pos));
      return false;
    }
    if (kind === CHUNK_LOST) {
      this.#who.atPage(Number.NaN); // the next page, even if numbered as the last one, is read afresh
      return this.#lost(value, this.#dv.getFloat64(CHUNK_HEADER_BYTES + LC_TIME, true), this.#dv.getUint32(CHUNK_HEADER_BYTES + LC_CAUSE, true) === LOST_CAUSE_DROPPED ? "dropped" : "overrun");
    }
    this.#chunkEnd = CHUNK_HEADER_BYTES + length;
    // A fragment or a single page has one page header; a chunk of whole pages has one per page.
    this.#pagesLeft = length > this.#pageSize ? length / this.#pageSize : 1;
    this.#enterPage(CHUNK_HEADER_BYTES, value);
    return false;
  }

  /** Start the page whose header copy is at `at` in the buffer and which must be page `page`. False when the chunk has no more pages. */
  #enterPage(at: number, page: number): boolean {
    if (this.#pagesLeft <= 0) return false;
    this.#pagesLeft--;
    this.#pageAt = at;
    this.#page = page;
    this.#nextTime = Number.NaN;
    const dv = this.#dv;
    const lo = dv.getUint32(at + PG_SEQ, true);
    const hi = dv.getUint32(at + PG_SEQ_HI, true);
    if (!(page >= 0) || lo !== page % TWO_32 || hi !== Math.floor(page / TWO_32)) {
      this.#warn(
        new TraceFileError(
          `Damaged page chunk at byte ${this.#chunkPos}: page ${page} expected at byte ${this.#chunkPos + at} but its header says ${hi * TWO_32 + lo}; skipped`,
          this.#chunkPos + at,
        ),
      );
      this.#bPos = this.#bEnd = 0;
      return true; // go on with the next page of the chunk, if any
    }
    this.counts.pages++;
    // A fragment that continues the page of the previous chunk keeps its identity; a new page starts unknown.
    this.#who.atPage(page);
    this.#base = dv.getFloat64(at + PG_BASE_TIME, true);
    // Records sit at (page offset - CH_OFFSET + 48) after the header copy: 8-aligned, as in the ring.
    this.#bPos = at + PAGE_HEADER_BYTES;
    this.#bEnd = Math.min(this.#chunkEnd, at + this.#pageSize);
    return true;
  }

  #lost(count: number, time: number, cause: "overrun" | "dropped"): boolean {
    const r = this.record;
    r.kind = "lost";
    r.cause = cause;
    r.lost = count;
    if (cause === "dropped") this.#who.stamp(r); // a writer's drops are that writer's
    else {
      r.pid = 0; // records of any writers may be in the gap
      r.threadId = -1;
      r.threadName = "";
    }
    r.timestamp = time;
    r.type = 0;
    r.offset = 0;
    r.length = 0;
    this.hasHead = true;
    return true;
  }

  #damaged(at: number, what: string): void {
    const filePos = this.#chunkPos + at;
    this.#warn(new TraceFileError(`Damaged page chunk at byte ${this.#chunkPos} (lane ${this.record.lane}): at byte ${filePos}, ${what}; the rest of that page is skipped`, filePos));
    this.#bPos = this.#bEnd;
  }
}

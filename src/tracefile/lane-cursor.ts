/**
 * Reading one lane of a trace file: its PAGE and LOST chunks in file order, one chunk in memory at a
 * time, records decoded exactly as from the ring (docs/FORMAT.md sections 8 and 9.5). The bytes are
 * untrusted: every header is bounds-checked against its chunk, and a record that does not parse
 * ends that page with a warning naming its file offset.
 *
 * Loss is counted across damage (FORMAT.md 13.5): each chunk must continue the lane where the
 * previous one ended, unless a LOST chunk stands between them. A chunk that jumps ahead, or the
 * first page after damage, is checked against the cumulative count in its page header copy
 * (PG_RECORDS_BEFORE): the records missing become a `damaged` loss marker (NaN when the count is
 * unknown). A chunk that goes back (a page seen already) is skipped.
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
  PG_CUM_READY,
  PG_RECORDS_BEFORE,
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
import { CHUNK_FLAG_CRC, CHUNK_HEADER_BYTES_V1, CHUNK_LOST, CH_CRC, CH_FLAGS, CH_KIND, CH_LENGTH, CH_NUMBER, CH_OFFSET, CH_VALUE, LC_CAUSE, LC_TIME, LOST_CAUSE_DROPPED, LOST_PAYLOAD_BYTES, padded } from "./file-layout.js";
import type { ByteSource } from "./source.js";

const TWO_32 = 4294967296;

/** Per-lane counts a cursor keeps while it reads. */
export interface LaneReadCounts {
  /** Page chunks read. */
  pages: number;
  /** Records reserved but never committed when the pages were copied (crash recovery, snapshots). */
  uncommitted: number;
  /** Records that damage made unreadable, as far as the page headers around it count them. */
  damaged: number;
  /** Places where damage made an unknown number of records unreadable (no cumulative count to tell). */
  damagedUnknown: number;
}

export class TraceLaneCursor {
  readonly record = new RingRecord();
  readonly counts: LaneReadCounts = { pages: 0, uncommitted: 0, damaged: 0, damagedUnknown: 0 };
  hasHead = false;
  readonly #src: ByteSource;
  readonly #chunks: readonly number[];
  readonly #warn: (e: TraceFileError) => void;
  readonly #pageSize: number;
  /** Chunk header size of the file's version: the payload starts there in the buffer. */
  readonly #hb: number;
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
  /** Where the next chunk must continue the lane: page and offset (NaN before the lane's first page). */
  #expPage = Number.NaN;
  #expOff = 0;
  /** Committed data records of the lane before the cursor's position (NaN: unknown). */
  #seq = Number.NaN;
  /** A LOST chunk stated the loss up to the next page: a jump there is no damage. */
  #explained = true;
  /** Damage (already reported) made records unreadable since #seq was last known to be complete. */
  #broken = false;
  /** A `damaged` loss marker to deliver before the next record: its count (NaN: unknown), its time. */
  #gap = false;
  #gapCount = 0;
  #gapTime = 0;
  /** A LOST chunk's marker, held back behind a `damaged` marker. */
  #held = false;
  #heldCount = 0;
  #heldTime = 0;
  #heldCause: "overrun" | "dropped" = "overrun";
  /** Where framing damage starts in the file (chunks of unknown lanes were lost there), in file order. */
  readonly #damage: readonly number[];
  /** File position of the previous PAGE or LOST chunk of the lane (-1: none yet). */
  #prevPos = -1;
  /** CH_NUMBER of the previous chunk of the lane (0: none yet, or not numbered). */
  #prevNumber = 0;
  /** Chunks of the lane are missing before the one being entered (its number skips, or framing damage before an unnumbered first chunk). */
  #missing = false;
  /** Who wrote the records being decoded (IDENTITY records, FORMAT.md 8.3). */
  readonly #who = new IdentityTracker();

  constructor(src: ByteSource, lane: number, chunks: readonly number[], pageSize: number, chunkHeaderBytes: number, damage: readonly number[], warn: (e: TraceFileError) => void) {
    this.#src = src;
    this.#damage = damage;
    this.#chunks = chunks;
    this.#warn = warn;
    this.#pageSize = pageSize;
    this.#hb = chunkHeaderBytes;
    this.#buf = this.#dv = this.#i32 = this.#f64 = undefined as never;
    // Start small and grow to the chunks actually read: memory follows the file, not the page size
    // its header claims (a 352-byte file claiming 1024 lanes of 64 KiB pages used to cost 67 MB per
    // read; found while adding a memory bound to the fuzzer).
    this.#grow(chunkHeaderBytes + LOST_PAYLOAD_BYTES);
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
      if (this.#gap) {
        this.#gap = false;
        if (this.#gapCount === this.#gapCount) this.counts.damaged += this.#gapCount;
        else this.counts.damagedUnknown++;
        return this.#lost(this.#gapCount, this.#gapTime, "damaged");
      }
      if (this.#held) {
        this.#held = false; // a LOST chunk read right after the damage before it was marked
        return this.#lost(this.#heldCount, this.#heldTime, this.#heldCause);
      }
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
          if (state === STATE_BUSY) this.counts.uncommitted++; // skipped by its length (13.4)
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
        this.#seq++;
        this.hasHead = true;
        return true;
      }
      if (this.#pagesLeft > 0 && this.#enterPage(this.#pageAt + this.#pageSize, this.#page + 1, PAGE_HEADER_BYTES)) continue;
      if (this.#next >= this.#chunks.length) return false;
      if (this.#load(this.#chunks[this.#next++] as number)) return true;
    }
  }

  /** Read the chunk at `pos`. True when it is a LOST chunk, now the head. */
  #load(pos: number): boolean {
    const hb = this.#hb;
    this.#bPos = this.#bEnd = 0;
    this.#pagesLeft = 0;
    this.#nextTime = Number.NaN; // a TIME value never carries over into another chunk (13.4)
    this.#chunkPos = pos;
    if (this.#src.read(pos, this.#buf, hb) !== hb) {
      this.#warn(new TraceFileError(`Cannot read the chunk at byte ${pos}: the file is shorter than when it was indexed`, pos));
      this.#broken = true;
      return false;
    }
    const length = this.#dv.getUint32(CH_LENGTH, true); // framed and bounded by the scan
    const value = this.#dv.getFloat64(CH_VALUE, true);
    const kind = this.#dv.getUint16(CH_KIND, true);
    const flags = this.#dv.getUint16(CH_FLAGS, true);
    const crc = this.#dv.getUint32(CH_CRC, true);
    const offset = this.#dv.getUint32(CH_OFFSET, true);
    const number = hb > CHUNK_HEADER_BYTES_V1 ? this.#dv.getUint32(CH_NUMBER, true) : 0;
    if (!this.#numbered(pos, number)) return false;
    this.#grow(hb + length);
    if (this.#src.read(pos + hb, this.#buf.subarray(hb), length) !== length) {
      this.#warn(new TraceFileError(`Cannot read the chunk at byte ${pos}: the file is shorter than when it was indexed`, pos));
      this.#broken = true;
      return false;
    }
    if ((flags & CHUNK_FLAG_CRC) !== 0 && crc32(this.#buf, hb, hb + length) !== crc) {
      this.#warn(new TraceFileError(`Damaged chunk at byte ${pos} (lane ${this.record.lane}): checksum mismatch; its records are skipped`, pos));
      this.#broken = true; // the next page's cumulative count says how many records it held, if it has one
      return false;
    }
    if (kind === CHUNK_LOST) {
      this.#who.atPage(Number.NaN); // the next page, even if numbered as the last one, is read afresh
      const time = this.#dv.getFloat64(hb + LC_TIME, true);
      const cause = this.#dv.getUint32(hb + LC_CAUSE, true) === LOST_CAUSE_DROPPED ? "dropped" : "overrun";
      const missing = this.#missing;
      this.#missing = false;
      this.#explained = true;
      this.#broken = false;
      this.#seq = Number.NaN;
      if (value === 0) {
        // The lane's position jumped over pages that held no data record (13.4): no gap, nothing lost.
        if (missing) this.#queueGap(Number.NaN, time);
        return false;
      }
      if (!missing) return this.#lost(value, time, cause);
      // Chunks taken by damage came before this loss: their marker first, then this one.
      this.#queueGap(Number.NaN, time);
      this.#held = true;
      this.#heldCount = value;
      this.#heldTime = time;
      this.#heldCause = cause;
      return false;
    }
    this.#chunkEnd = hb + length;
    // A fragment or a single page has one page header; a chunk of whole pages has one per page.
    this.#pagesLeft = length > this.#pageSize ? length / this.#pageSize : 1;
    this.#enterPage(hb, value, offset);
    return false;
  }

  /**
   * Chunk numbering (CH_NUMBER, FORMAT.md 13.5): a number that skips means chunks of this lane are
   * missing (damage took them); one that does not grow repeats a chunk, which is skipped (false).
   * An unnumbered chunk (0, or a version 1 file) that is the lane's first, after framing damage,
   * may have lost this lane's earlier chunks there.
   */
  #numbered(pos: number, number: number): boolean {
    const prev = this.#prevNumber;
    const first = this.#prevPos < 0;
    if (number !== 0) {
      if (prev !== 0 && number <= prev) {
        this.#warn(new TraceFileError(`Repeated chunk at byte ${pos} (lane ${this.record.lane}): chunk number ${number} after ${prev}; skipped`, pos));
        return false;
      }
      if (number > prev + 1 && (prev !== 0 || first)) {
        this.#missing = true;
        this.#warn(new TraceFileError(`Gap in lane ${this.record.lane} before byte ${pos}: ${number - prev - 1} of its chunks are missing (its chunk ${number} follows ${prev === 0 ? "none" : `chunk ${prev}`})`, pos));
      }
    } else if (first && this.#damageBefore(pos)) {
      this.#missing = true;
    }
    this.#prevNumber = number;
    this.#prevPos = pos;
    return true;
  }

  /** Does framing damage start before file position `pos`? */
  #damageBefore(pos: number): boolean {
    return this.#damage.length > 0 && (this.#damage[0] as number) < pos;
  }

  /**
   * Start the page whose header copy is at `at` in the buffer, which must be page `page`, its bytes
   * starting at page offset `offset`. False when the chunk has no more pages.
   */
  #enterPage(at: number, page: number, offset: number): boolean {
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
          `Damaged page chunk at byte ${this.#chunkPos} (lane ${this.record.lane}): page ${page} expected at byte ${this.#chunkPos + at} but its header says ${hi * TWO_32 + lo}; skipped`,
          this.#chunkPos + at,
        ),
      );
      this.#bPos = this.#bEnd = 0;
      if (page >= 0 && !this.#before(page, offset)) this.#expect(page, offset);
      this.#broken = true;
      return true; // go on with the next page of the chunk, if any
    }
    this.#base = dv.getFloat64(at + PG_BASE_TIME, true);
    if (!this.#continues(page, offset, dv.getUint32(at + PG_CUM_READY, true) === 1 ? dv.getFloat64(at + PG_RECORDS_BEFORE, true) : Number.NaN)) {
      this.#bPos = this.#bEnd = 0;
      this.#pagesLeft = 0;
      return false;
    }
    this.counts.pages++;
    // A fragment that continues the page of the previous chunk keeps its identity; a new page starts unknown.
    this.#who.atPage(page);
    // Records sit at (page offset - CH_OFFSET + 48) after the header copy: 8-aligned, as in the ring.
    this.#bPos = at + PAGE_HEADER_BYTES;
    this.#bEnd = Math.min(this.#chunkEnd, at + PAGE_HEADER_BYTES + this.#pageSize - offset);
    this.#expect(page, offset);
    return true;
  }

  /** Is (page, offset) before where the lane stands (a page or records delivered already)? */
  #before(page: number, offset: number): boolean {
    return this.#expPage === this.#expPage && (page < this.#expPage || (page === this.#expPage && offset < this.#expOff));
  }

  /** After entering the chunk's page at `offset`: where the next chunk must continue. */
  #expect(page: number, offset: number): void {
    const end = offset + (Math.min(this.#chunkEnd, this.#pageAt + this.#pageSize) - this.#pageAt - PAGE_HEADER_BYTES);
    if (end >= this.#pageSize || this.#pagesLeft > 0) {
      this.#expPage = page + 1;
      this.#expOff = PAGE_HEADER_BYTES;
    } else {
      this.#expPage = page;
      this.#expOff = end;
    }
  }

  /**
   * The continuity rule of FORMAT.md 13.5 for a page entered at `offset` whose header copy counts
   * `before` records in earlier pages (NaN: not ready). False: skip it (it goes back). Queues a
   * `damaged` loss marker for records that missing chunks, a jump or earlier damage left out.
   */
  #continues(page: number, offset: number, before: number): boolean {
    const lane = this.record.lane;
    const at = this.#chunkPos + this.#pageAt;
    const known = offset === PAGE_HEADER_BYTES ? before : Number.NaN; // records before the page's first byte in the chunk
    if (this.#before(page, offset)) {
      this.#warn(new TraceFileError(`Repeated page chunk at byte ${this.#chunkPos} (lane ${lane}): page ${page} from offset ${offset} comes after page ${this.#expPage} offset ${this.#expOff} was reached; skipped`, at));
      return false;
    }
    const first = this.#expPage !== this.#expPage;
    // Nothing of a lane comes before page 0's first record: a lane that starts there lost nothing.
    const missing = this.#missing && !(first && page === 0 && known === 0);
    this.#missing = false;
    if (!missing && (first || this.#explained)) {
      // The lane's first page, or the first after a LOST chunk: nothing to check against.
      this.#explained = false;
      this.#broken = false;
      this.#seq = known;
      return true;
    }
    const jump = !first && !this.#explained && (page !== this.#expPage || offset !== this.#expOff);
    this.#explained = false;
    if (!jump && !missing && !this.#broken) {
      if (this.#seq !== this.#seq) this.#seq = known;
      return true;
    }
    if (!jump && !missing && offset !== PAGE_HEADER_BYTES) return true; // damage inside this page: counted at the next page start
    const lost = first ? Number.NaN : known - this.#seq;
    // A page stream need not hand off the end of a page that holds no record (its PADDING): a jump
    // from inside page p to the start of p + 1 is a gap only if the counts show records missing.
    const tailOnly = jump && !missing && !this.#broken && page === this.#expPage + 1 && offset === PAGE_HEADER_BYTES && this.#expOff > PAGE_HEADER_BYTES;
    if (lost === 0 || (tailOnly && lost !== lost)) {
      this.#broken = false;
      this.#seq = known;
      return true;
    }
    if (jump && !missing && !this.#broken) {
      this.#warn(
        new TraceFileError(
          `Gap in lane ${lane} at byte ${this.#chunkPos}: page ${page} offset ${offset} follows page ${this.#expPage} offset ${this.#expOff} with no LOST chunk between; ${lost === lost ? `${lost}` : "an unknown number of"} records missing`,
          at,
        ),
      );
    }
    if (lost !== 0) this.#queueGap(lost >= 0 ? lost : Number.NaN, this.#base);
    this.#broken = false;
    this.#seq = known;
    return true;
  }

  /** Deliver a `damaged` loss marker of `count` records (NaN: unknown) at ring time `time`, before anything else. */
  #queueGap(count: number, time: number): void {
    this.#gap = true;
    this.#gapCount = count;
    this.#gapTime = time;
  }

  #lost(count: number, time: number, cause: "overrun" | "dropped" | "damaged"): boolean {
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
    this.#broken = true; // the next page's cumulative count says how many records were skipped, if it has one
  }
}

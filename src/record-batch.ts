/**
 * Record copies that stay valid: what {@link RingReader.records} hands out.
 *
 * A reader's {@link RingRecord} is one object reused for every record, over a private page copy
 * that the next read overwrites. A `for await` consumer needs one object per record that keeps its
 * bytes after later records are read. Copying each payload into its own `Uint8Array` (`slice()`)
 * allocates a backing store per record, the costliest part of a record copy; here payloads are
 * copied one after the other into a batch buffer of {@link BATCH_BUFFER_BYTES}, and each record's
 * payload is a view of its own bytes there. A batch buffer is only ever appended to: no byte of it
 * is written again once a view over it was handed out, so a kept record never changes. The price:
 * a kept record keeps its whole batch buffer alive, and `payload.buffer` is that buffer (use
 * `payload.byteOffset` and `payload.byteLength` with it; `payload.slice()` makes a compact copy).
 *
 * Private to this thread (no shared memory, no Atomics): the source is the reader's private copy.
 */
import type { RecordData, RingRecord } from "./reader.js";

/** Bytes of one batch buffer: a thousand 16-byte payloads, so a few allocations per `for await` batch. */
export const BATCH_BUFFER_BYTES = 16384;
/** Longest payload copied word by word; a longer one is one `set()` (a memcpy, but a subarray object each). */
const WORD_COPY_MAX_BYTES = 256;

/**
 * One record as {@link RingReader.records} hands it out. A class, so every record has the same
 * fields in the same order (one hidden class: a consumer's property loads stay monomorphic).
 */
export class RecordCopy implements RecordData {
  constructor(
    public kind: RecordData["kind"],
    public lane: number,
    public type: number,
    public timestamp: number,
    public lost: number,
    public cause: RecordData["cause"],
    public payload: Uint8Array,
    public pid: number,
    public threadId: number,
    public threadName: string,
  ) {}
}

const EMPTY = new Uint8Array(0);

/** Copies reader records into {@link RecordCopy} objects whose payloads share append-only batch buffers. */
export class RecordCopier {
  #buf: ArrayBuffer = new ArrayBuffer(0);
  #u8 = EMPTY;
  #i32 = new Int32Array(0);
  /** Next free byte of #buf (a multiple of 8, so every payload starts word-aligned). */
  #at = 0;
  /** The last source page copy seen, and an Int32Array over it (reader cursors keep theirs for life). */
  #src: Uint8Array = EMPTY;
  #srcI32: Int32Array<ArrayBufferLike> = new Int32Array(0);

  /** A copy of `r` that keeps its own bytes whatever is read after it. */
  copy(r: RingRecord): RecordCopy {
    const len = r.length;
    if (len === 0) return new RecordCopy(r.kind, r.lane, r.type, r.timestamp, r.lost, r.cause, EMPTY, r.pid, r.threadId, r.threadName);
    const room = (len + 7) & ~7;
    if (this.#at + room > this.#u8.length) this.#newBuffer(room);
    const at = this.#at;
    const src = r.bytes;
    const from = r.offset;
    if (len <= WORD_COPY_MAX_BYTES && ((src.byteOffset + from) & 3) === 0) {
      if (src !== this.#src) {
        this.#src = src;
        this.#srcI32 = new Int32Array(src.buffer, src.byteOffset, src.byteLength >> 2);
      }
      // Whole words: the last may carry up to 3 bytes past the payload, from the record's own
      // 8-byte padding in the source and into our 8-byte-rounded room (never another payload's bytes).
      const s = this.#srcI32;
      const d = this.#i32;
      const words = (len + 3) >> 2;
      const s0 = from >> 2;
      const d0 = at >> 2;
      if (s0 + words > s.length) this.#copyBytes(src, from, len, at);
      else for (let k = 0; k < words; k++) d[d0 + k] = s[s0 + k] ?? 0;
    } else {
      this.#copyBytes(src, from, len, at);
    }
    this.#at = at + room;
    return new RecordCopy(r.kind, r.lane, r.type, r.timestamp, r.lost, r.cause, new Uint8Array(this.#buf, at, len), r.pid, r.threadId, r.threadName);
  }

  #copyBytes(src: Uint8Array, from: number, len: number, at: number): void {
    this.#u8.set(src.subarray(from, from + len), at);
  }

  /** Start a new batch buffer (the old one stays with the records that view it; nothing reuses it). */
  #newBuffer(room: number): void {
    this.#buf = new ArrayBuffer(Math.max(BATCH_BUFFER_BYTES, room));
    this.#u8 = new Uint8Array(this.#buf);
    this.#i32 = new Int32Array(this.#buf);
    this.#at = 0;
  }
}

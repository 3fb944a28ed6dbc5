/**
 * What {@link RingReader.readBatches} hands out: a run of one lane's records as arrays, one call
 * for the whole run instead of one per record. The records' payloads stay where the reader copied
 * them (its private page copy, `bytes`); the batch says where each starts, how long it is, its type
 * and its time. Nothing is allocated per record or per batch: the object and its arrays are the
 * reader's, reused for every batch, and valid until the next call into the reader.
 */
import { RECORD_HEADER_BYTES } from "./layout.js";

/**
 * A run of records of one lane (kind `data`), or one loss marker (kind `lost`). Reused: copy what
 * you keep.
 *
 * @example
 * ```ts
 * reader.readBatches((b) => {
 *   if (b.kind === "lost") return console.warn(`lost ${b.lost} records on lane ${b.lane}`);
 *   for (let k = 0; k < b.count; k++) handle(b.types[k], b.timestamps[k], b.bytes, b.offsets[k], b.lengths[k]);
 * });
 * ```
 */
export class RecordBatch {
  /** `data`: `count` records; `lost`: a marker standing where `lost` records were lost (count 0). */
  kind: "data" | "lost" = "data";
  lane = 0;
  /** Records in the batch (0 for a loss marker). */
  count = 0;
  /** The bytes the payloads are in: `bytes[offsets[k] .. offsets[k] + lengths[k])` is record k's. */
  bytes: Uint8Array = EMPTY;
  /** Where record k's payload starts in `bytes` (8-aligned; its 8-byte header is just before). */
  readonly offsets: Int32Array;
  /** Record k's payload length in bytes. */
  readonly lengths: Int32Array;
  /** Record k's event type (0..8191). */
  readonly types: Uint16Array;
  /** Record k's ring time (clock units; ns for `mono`). */
  readonly timestamps: Float64Array;
  /** For a `lost` marker: how many records were lost (NaN if it cannot be known). */
  lost = 0;
  /** For a `lost` marker: `overrun`, `dropped` or `damaged`, as {@link RingRecord.cause}. */
  cause: "" | "overrun" | "dropped" | "damaged" = "";
  /** For a `lost` marker: the ring time where the loss stands. */
  lostTime = 0;

  /** @internal made by the reader: room for the records a page of `pageSize` bytes can hold */
  constructor(pageSize: number) {
    const most = Math.floor(pageSize / RECORD_HEADER_BYTES);
    this.offsets = new Int32Array(most);
    this.lengths = new Int32Array(most);
    this.types = new Uint16Array(most);
    this.timestamps = new Float64Array(most);
  }

  /** A copy of record k's payload. */
  payload(k: number): Uint8Array {
    if (!(k >= 0 && k < this.count)) throw new RangeError(`Cannot copy payload: record index must be from 0 to ${this.count - 1}, received ${k}`);
    const at = this.offsets[k] as number;
    return this.bytes.slice(at, at + (this.lengths[k] as number));
  }
}

const EMPTY = new Uint8Array(0);

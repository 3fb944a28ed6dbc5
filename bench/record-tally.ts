/**
 * The reader side of the peers' checksum for our ring: a `read(visitor)` visitor that adds the four
 * Int32 words at the start of each record (bench/peers/layout.ts#expectedChecksum()) and counts
 * records and loss markers. Shared by every scenario that moves records through our reader.
 */
import type { RecordBatch, RingRecord } from '../src/index.js';

export class RecordTally {
  sum = 0;
  count = 0;
  lost = 0;
  #bytes: Uint8Array | null = null;
  #words: Int32Array = new Int32Array(0);

  /** Start a new run (loss stays: a run must not lose, and it is checked per session). */
  reset(): void {
    this.sum = 0;
    this.count = 0;
  }

  /** Int32 words over a reader's buffer (each lane cursor keeps its own for life: made once per buffer seen last). */
  #wordsOf(bytes: Uint8Array): Int32Array {
    if (bytes !== this.#bytes) {
      this.#bytes = bytes;
      this.#words = new Int32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >> 2);
    }
    return this.#words;
  }

  /** The visitor: pass it to `reader.read()`. */
  readonly visit = (r: RingRecord): void => {
    if (r.kind !== 'data') {
      this.lost += r.lost;
      return;
    }
    const w = this.#wordsOf(r.bytes);
    const i = r.offset >> 2;
    this.sum = (this.sum + (w[i] ?? 0) + (w[i + 1] ?? 0) + (w[i + 2] ?? 0) + (w[i + 3] ?? 0)) | 0;
    this.count++;
  };

  /** The same for the batch path: pass it to `reader.readBatches()`. */
  readonly visitBatch = (b: RecordBatch): void => {
    if (b.kind !== 'data') {
      this.lost += b.lost;
      return;
    }
    const w = this.#wordsOf(b.bytes);
    const offsets = b.offsets;
    const n = b.count;
    let sum = this.sum;
    for (let k = 0; k < n; k++) {
      const i = (offsets[k] ?? 0) >> 2;
      sum = (sum + (w[i] ?? 0) + (w[i + 1] ?? 0) + (w[i + 2] ?? 0) + (w[i + 3] ?? 0)) | 0;
    }
    this.sum = sum;
    this.count += n;
  };
}

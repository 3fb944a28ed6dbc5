/**
 * The no-sharing upper bound of the curves (bench/curves.ts): one thread pushes records into a
 * plain JS array and takes them out again. No shared memory, no atomics, no second thread; what
 * it costs is allocating each record (an `Int32Array` of `recordBytes`, the payload copied in with
 * `set`), the array's bookkeeping, and the garbage collector.
 *
 * Records carry the same 4 header words as every other series (`[recordBytes, seq, seq + 1, -seq]`,
 * then zeros); the consumer sums them into the checksum of bench/peers/layout.ts. The queue is
 * filled with a batch of 256 records, then emptied, so it behaves like a queue with a backlog
 * rather than a single slot passed back and forth.
 */
import { expectedChecksum, RECORD_BYTES } from './layout.js';
import type { ThroughputSession } from './raw.js';

const BATCH = 256;

/**
 * A session whose `runOnce(durationMs)` fills and empties the queue for `durationMs` on this
 * thread and returns records/s (checksum verified; throws otherwise).
 * @param recordBytes A multiple of 4, at least 16.
 */
export function openArrayQueue(recordBytes: number): ThroughputSession {
  if (!Number.isInteger(recordBytes) || recordBytes < RECORD_BYTES || recordBytes % 4 !== 0) {
    throw new RangeError(`Cannot open array queue: recordBytes must be a multiple of 4 from ${RECORD_BYTES}, received ${recordBytes}`);
  }
  const recordI32 = recordBytes >> 2;
  const payload = recordI32 > 4 ? new Int32Array(recordI32 - 4) : null;
  const queue: Int32Array[] = [];
  let nextSeq = 0;
  return {
    runOnce(durationMs: number): Promise<number> {
      const startSeq = nextSeq;
      let seq = nextSeq;
      let sum = 0;
      let count = 0;
      const t0 = performance.now();
      const deadline = t0 + durationMs;
      do {
        for (let k = 0; k < BATCH; k++) {
          const record = new Int32Array(recordI32);
          record[0] = recordBytes;
          record[1] = seq;
          record[2] = (seq + 1) | 0;
          record[3] = -seq | 0;
          if (payload !== null) record.set(payload, 4);
          queue.push(record);
          seq = (seq + 1) | 0;
        }
        for (let k = 0; k < queue.length; k++) {
          const record = queue[k]!; // k < queue.length
          sum = (sum + record[0]! + record[1]! + record[2]! + record[3]!) | 0; // recordI32 >= 4
        }
        count += queue.length;
        queue.length = 0;
      } while (performance.now() < deadline);
      const elapsedMs = performance.now() - t0;
      const expected = expectedChecksum(startSeq, count, recordBytes);
      if (sum !== expected) throw new Error(`array queue: checksum ${sum} != ${expected} over ${count} records`);
      nextSeq = seq;
      return Promise.resolve(count / (elapsedMs / 1e3));
    },
    close: () => Promise.resolve(),
  };
}

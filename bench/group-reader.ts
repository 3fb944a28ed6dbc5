/**
 * Worker: one member of a consumer group for bench/group.ts. Busy-reads its share of the lane,
 * adding each record's four words to a checksum, and publishes its running count in `counts[index]`
 * so the main thread can sample throughput without messages. Stops when `counts[STOP]` is set and
 * the lane is empty, then posts `{ count, sum }`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { attachRing } from '../src/index.js';

const STOP = 0;
const { ringSab, countsSab, index } = workerData as { ringSab: SharedArrayBuffer; countsSab: SharedArrayBuffer; index: number };
const counts = new Int32Array(countsSab);
const member = attachRing(ringSab).groupConsumer();
let sum = 0;
let count = 0;
const visit = (r: { kind: string; bytes: Uint8Array; offset: number }) => {
  if (r.kind !== 'data') return;
  const dv = new DataView(r.bytes.buffer, r.offset, 16);
  sum = (sum + dv.getInt32(0, true) + dv.getInt32(4, true) + dv.getInt32(8, true) + dv.getInt32(12, true)) | 0;
  count++;
};
parentPort?.postMessage({ type: 'ready' });
for (let idle = 0; ; ) {
  const n = member.read(visit);
  // Publish our count for the sampler; a plain progress figure, read with Atomics.load.
  if (n > 0) Atomics.store(counts, index, count);
  // Acquire the stop request; pairs with the main thread's Atomics.store.
  if (n === 0 && Atomics.load(counts, STOP) !== 0 && ++idle > 1000) break;
}
member.close();
parentPort?.postMessage({ type: 'done', count, sum });

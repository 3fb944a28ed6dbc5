/**
 * Worker: the raw store loop of the curves (bench/curves.ts), run in N threads at once: the limit
 * of writing records into shared memory, with no reader and no ring logic.
 *
 * Like raw.ts#makeRawStorePublishLoop(), each record is written as its 4 header words
 * `[recordBytes, pos, pos + 1, -pos]` into this worker's own SharedArrayBuffer (64 KiB, position
 * masked), followed, when `recordBytes` > 16, by a copy of a zero-filled template (`set`, as a
 * writer copying a payload would); then one `Atomics.store` publishes the head. Each worker has its
 * own memory, so N workers share nothing but the cores.
 *
 * workerData: `{ ctrlSab: SharedArrayBuffer, recordBytes: number }` (a power of two from 16 to 64 KiB).
 * At the end of each run it posts `{ type: 'wrote', runId, count }`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { CTRL_HEAD_INDEX, CTRL_STOP_INDEX, RECORD_BYTES, RING_BYTES, intField, sabField, serveRuns } from './layout.js';

/** Records between two checks of the stop flag (a power of two minus one). */
const STOP_CHECK_MASK = 1023;

function storeUntilStopped(ctrl: Int32Array, data: Int32Array, bytes: Uint8Array, recordBytes: number, startPos: number): number {
  // Locals, not imported bindings, inside the loop: V8 reloads those every iteration.
  const mask = RING_BYTES / recordBytes - 1;
  const recordI32 = recordBytes >> 2;
  const headIndex = CTRL_HEAD_INDEX;
  const stopIndex = CTRL_STOP_INDEX;
  const headerBytes = RECORD_BYTES;
  const filler = recordBytes > headerBytes ? new Uint8Array(recordBytes - headerBytes) : null;
  let pos = startPos;
  for (;;) {
    const index = (pos & mask) * recordI32;
    data[index] = recordBytes;
    data[index + 1] = pos;
    data[index + 2] = (pos + 1) | 0;
    data[index + 3] = -pos | 0;
    if (filler !== null) bytes.set(filler, (index << 2) + headerBytes);
    pos = (pos + 1) | 0;
    // Publish the record written above (the release a real writer needs; no reader here).
    Atomics.store(ctrl, headIndex, pos);
    // Every 1024 records, see whether the main thread asked us to stop; pairs with layout.ts#requestStop().
    if ((pos & STOP_CHECK_MASK) === 0 && Atomics.load(ctrl, stopIndex) !== 0) return pos;
  }
}

function main(): void {
  if (parentPort === null) throw new Error('raw-store-writer.js must run in a worker thread');
  const port = parentPort;
  const ctrl = new Int32Array(sabField(workerData, 'ctrlSab'));
  const recordBytes = intField(workerData, 'recordBytes');
  if (recordBytes < RECORD_BYTES || recordBytes > RING_BYTES || (recordBytes & (recordBytes - 1)) !== 0) {
    throw new TypeError(`Invalid workerData: recordBytes must be a power of two from ${RECORD_BYTES} to ${RING_BYTES}, received ${recordBytes}`);
  }
  const sab = new SharedArrayBuffer(RING_BYTES);
  const data = new Int32Array(sab);
  const bytes = new Uint8Array(sab);
  port.postMessage({ type: 'ready' });
  let pos = 0;
  serveRuns(ctrl, (runId) => {
    const before = pos;
    pos = storeUntilStopped(ctrl, data, bytes, recordBytes, pos);
    port.postMessage({ type: 'wrote', runId, count: (pos - before) >>> 0 });
  });
}

main();

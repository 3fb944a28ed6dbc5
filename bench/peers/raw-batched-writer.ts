/**
 * Worker: the writer of raw_batched_ring_rps (see raw.ts#openRawBatchedRing()).
 *
 * Writes 16-byte records `[RECORD_BYTES, pos, pos + 1, -pos]` as 4 plain int32
 * stores and publishes its head with one `Atomics.store` every `batch` records.
 * It reloads the reader's tail only when its cached copy says the ring has no
 * room for a whole batch.
 *
 * workerData: `{ ctrlSab: SharedArrayBuffer, dataSab: SharedArrayBuffer, batch: number }`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { CTRL_HEAD_INDEX, CTRL_STOP_INDEX, CTRL_TAIL_INDEX, RECORD_BYTES, RECORD_I32_SHIFT, RING_MASK, RING_RECORDS, intField, sabField, serveRuns } from './layout.js';

/** Batches between two checks of the stop flag (a power of two minus one). */
const STOP_CHECK_MASK = 1023;

function writeUntilStopped(ctrl: Int32Array, data: Int32Array, startPos: number, batch: number): number {
  // Locals, not imported bindings, inside the loop: V8 reloads those every iteration.
  const mask = RING_MASK;
  const shift = RECORD_I32_SHIFT;
  const recordBytes = RECORD_BYTES;
  const headIndex = CTRL_HEAD_INDEX;
  const tailIndex = CTRL_TAIL_INDEX;
  const stopIndex = CTRL_STOP_INDEX;
  const fullAt = RING_RECORDS - batch; // more records than this in flight: no room for a batch
  let head = startPos;
  // Acquire the slots the reader has freed; pairs with Atomics.store(TAIL) in raw.ts#readRawRing().
  let tailCache = Atomics.load(ctrl, tailIndex);
  const stopCheckMask = STOP_CHECK_MASK;
  let batches = 0;
  for (;;) {
    if (((head - tailCache) | 0) > fullAt) {
      // Acquire the slots the reader has freed since; pairs with Atomics.store(TAIL) in raw.ts#readRawRing().
      tailCache = Atomics.load(ctrl, tailIndex);
      if (((head - tailCache) | 0) > fullAt) {
        // Ring full: see whether the reader asked us to stop; pairs with layout.ts#requestStop().
        if (Atomics.load(ctrl, stopIndex) !== 0) return head;
        continue;
      }
    }
    for (let k = 0; k < batch; k++) {
      const index = (head & mask) << shift;
      data[index] = recordBytes;
      data[index + 1] = head;
      data[index + 2] = (head + 1) | 0;
      data[index + 3] = -head | 0;
      head = (head + 1) | 0;
    }
    // Publish the batch's records written above; pairs with Atomics.load(HEAD) in raw.ts#readRawRing().
    Atomics.store(ctrl, headIndex, head);
    // Every 1024 batches, see whether the reader asked us to stop; pairs with layout.ts#requestStop().
    if ((++batches & stopCheckMask) === 0 && Atomics.load(ctrl, stopIndex) !== 0) return head;
  }
}

function main(): void {
  if (parentPort === null) throw new Error('raw-batched-writer.js must run in a worker thread');
  const ctrl = new Int32Array(sabField(workerData, 'ctrlSab'));
  const data = new Int32Array(sabField(workerData, 'dataSab'));
  const batch = intField(workerData, 'batch');
  if (batch > RING_RECORDS) throw new RangeError(`Invalid workerData: batch must be <= ${RING_RECORDS}, received ${batch}`);
  parentPort.postMessage({ type: 'ready' });
  let headPos = 0;
  // The head is published after every whole batch, so a run is whole when it ends.
  serveRuns(ctrl, () => {
    headPos = writeUntilStopped(ctrl, data, headPos, batch);
  });
}

main();

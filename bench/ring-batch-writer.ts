/**
 * Worker: the batch writer of xthread_batch_rps (ring.ts#openOursBatched()). Writes the peers'
 * 16-byte records `[16, seq, seq + 1, -seq]` with `tryReserveBatch(1, 16, batch)` and one
 * `commitBatch()` per batch (one publication per batch, as the raw batched ring's head store),
 * spinning while the ring is full. Stops when the reader asks (checked every 32 batches, and while full).
 *
 * workerData: `{ ctrlSab, ringSab, batch: number }`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { attachRing, type RingWriter } from '../src/index.js';
import { CTRL_STOP_INDEX, RECORD_BYTES, intField, sabField, serveRuns } from './peers/layout.js';

function writeBatchesUntilStopped(ctrl: Int32Array, w: RingWriter, startSeq: number, batch: number): number {
  const i32 = w.i32;
  const recordBytes = RECORD_BYTES;
  const stopIndex = CTRL_STOP_INDEX;
  let seq = startSeq;
  let batches = 0;
  for (;;) {
    let n = w.tryReserveBatch(1, recordBytes, batch);
    while (n === 0) {
      // Full: wait for the reader, unless it asked us to stop; pairs with requestStop().
      if (Atomics.load(ctrl, stopIndex) !== 0) return seq;
      n = w.tryReserveBatch(1, recordBytes, batch);
    }
    let i = w.batchAt >> 2;
    const step = w.batchStride >> 2;
    for (let k = 0; k < n; k++, i += step) {
      i32[i] = recordBytes;
      i32[i + 1] = seq;
      i32[i + 2] = (seq + 1) | 0;
      i32[i + 3] = -seq | 0;
      seq = (seq + 1) | 0;
    }
    w.commitBatch();
    // Every 32 batches, see whether the reader asked us to stop; pairs with layout.ts#requestStop().
    if ((++batches & 31) === 0 && Atomics.load(ctrl, stopIndex) !== 0) return seq;
  }
}

function main(): void {
  if (parentPort === null) throw new Error('ring-batch-writer.js must run in a worker thread');
  const ctrl = new Int32Array(sabField(workerData, 'ctrlSab'));
  const w = attachRing(sabField(workerData, 'ringSab')).writer({ lane: 0 });
  const batch = intField(workerData, 'batch');
  parentPort.postMessage({ type: 'ready' });
  let seq = 0;
  serveRuns(ctrl, () => {
    seq = writeBatchesUntilStopped(ctrl, w, seq, batch);
  });
}

main();

/**
 * Worker: the blocked reader of the wake latency scenario (bench/latency.ts). Consumes the ring
 * that bench/latency-writer.ts writes, sleeping in `reader.wait()` whenever it has caught up; for
 * every record it sees, it stamps `performance.now()` in the visitor, stores that stamp and the
 * record's commit time in `seen` (`[2 * seq]` = seen, `[2 * seq + 1]` = committed, each on its own
 * thread's clock; the main thread moves both onto one clock), and acknowledges the record so the
 * writer sends the next.
 *
 * Runs follow bench/peers/layout.ts on this worker's own control block (`readerCtrlSab`); the
 * number of records to take in a run is in its CTRL_HEAD word, stored before the run starts.
 * Before acknowledging the last one it sets STOP in the writer's control block (`ctrlSab`).
 *
 * workerData: `{ ctrlSab, readerCtrlSab, ringSab, seenSab }`. Ready message: `{ type: 'ready', clockOffsetMs }`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { attachRing, type RingRecord } from '../src/index.js';
import { CTRL_ACK_INDEX, CTRL_HEAD_INDEX, CTRL_STOP_INDEX, clockOffsetMs, requestStop, sabField, serveRuns } from './peers/layout.js';

function main(): void {
  if (parentPort === null) throw new Error('latency-reader.js must run in a worker thread');
  const ctrl = new Int32Array(sabField(workerData, 'ctrlSab'));
  const readerCtrl = new Int32Array(sabField(workerData, 'readerCtrlSab'));
  const seen = new Float64Array(sabField(workerData, 'seenSab'));
  const reader = attachRing(sabField(workerData, 'ringSab')).consumer();
  let samples = 0;
  let got = 0;
  const visit = (r: RingRecord): void => {
    const seenAt = performance.now();
    if (r.kind !== 'data') throw new Error(`latency reader: ${r.lost} records lost`);
    const view = new DataView(r.bytes.buffer, r.bytes.byteOffset + r.offset, 16);
    const seq = view.getInt32(0, true);
    if (seq !== got || seq >= samples) throw new Error(`latency reader: record ${seq} arrived, expected ${got} of ${samples}`);
    seen[2 * seq] = seenAt;
    seen[2 * seq + 1] = view.getFloat64(8, true);
    got++;
    // The last record of the run: ask the writer to stop. Stored before the ACK below, so the writer sees both.
    if (got === samples) requestStop(ctrl);
    // Acknowledge `seq`: lets the writer commit the next; pairs with Atomics.load/wait(ACK) in latency-writer.ts.
    Atomics.store(ctrl, CTRL_ACK_INDEX, seq + 1);
    // Wake the writer sleeping on ACK; pairs with Atomics.wait(ACK) in latency-writer.ts.
    Atomics.notify(ctrl, CTRL_ACK_INDEX);
  };
  parentPort.postMessage({ type: 'ready', clockOffsetMs: clockOffsetMs() });
  serveRuns(readerCtrl, () => {
    // The run's sample count, stored by the main thread before GO; acquired with GO in waitForRun().
    samples = Atomics.load(readerCtrl, CTRL_HEAD_INDEX);
    if (!(samples > 0 && 2 * samples <= seen.length)) throw new Error(`latency reader: bad sample count ${samples}`);
    got = 0;
    while (got < samples) {
      // Give up when the main thread stops the run (a writer that died); pairs with layout.ts#requestStop().
      if (!reader.wait({ timeoutMs: 1_000 }) && Atomics.load(readerCtrl, CTRL_STOP_INDEX) !== 0) return;
      reader.read(visit);
    }
  });
  reader.close();
}

main();

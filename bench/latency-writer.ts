/**
 * Worker: the writer of the wake latency scenario (bench/latency.ts).
 *
 * For each run, writes one 16-byte record at a time through the public API: `reserve(1, 16)`, the
 * sequence number (int32 at payload byte 0), then `performance.now()` (float64 at payload byte 8)
 * read just before `commit()`, which is the commit (and wake) time. It then sleeps until the reader
 * acknowledges that record (CTRL_ACK = seq + 1), pauses `gapUs` (as the postMessage sender does in
 * the same scenario, so either receiver has gone back to sleep), and writes the next: exactly one
 * record is in flight, as raw.ts#openPostMessageLatency() does with one message. The reader sets
 * STOP before acknowledging the last record of the run.
 *
 * After the pause it also waits (at most 5 ms) for the ring's waiter count (H_WAITERS,
 * docs/FORMAT.md) to be non-zero: the reader has registered to sleep, so the figure is a wakeup and
 * not a reader that happened to be polling. It counts the records committed while that count was
 * non-zero and stores the run's count in its control block's CTRL_HEAD word (published by the
 * DONE store).
 *
 * workerData: `{ ctrlSab, ringSab, gapUs }`. Ready message: `{ type: 'ready', clockOffsetMs }`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { attachRing, type RingWriter } from '../src/index.js';
import { H_WAITERS } from '../src/layout.js';
import { CTRL_ACK_INDEX, CTRL_HEAD_INDEX, CTRL_STOP_INDEX, clockOffsetMs, pauseMicros, sabField, serveRuns } from './peers/layout.js';

/** Payload bytes: int32 seq, 4 bytes of padding, float64 commit time. */
const LATENCY_RECORD_BYTES = 16;

/** Longest wait for the reader to register as a sleeper before committing anyway. */
const REGISTER_WAIT_MS = 5;

/** Writes records one at a time until the reader stops the run; returns how many found it waiting. */
function writeOneAtATime(ctrl: Int32Array, w: RingWriter, gapUs: number): number {
  const i32 = w.i32;
  const f64 = w.f64;
  const waitersIndex = H_WAITERS >> 2;
  let waiting = 0;
  for (let seq = 0; ; seq++) {
    if (seq > 0) {
      pauseMicros(gapUs);
      const until = performance.now() + REGISTER_WAIT_MS;
      // Wait for the reader to register as a sleeper; pairs with registerWaiter()'s Atomics.add(H_WAITERS).
      while (Atomics.load(i32, waitersIndex) === 0 && performance.now() < until) {
        // spin
      }
    }
    const at = w.reserve(1, LATENCY_RECORD_BYTES);
    if (at < 0 || (at & 7) !== 0) throw new Error(`latency writer: reserve returned ${at} (expected an 8-aligned offset)`);
    i32[at >> 2] = seq;
    // Is the reader registered to sleep? Read before the stamp, so it is not timed; pairs with registerWaiter().
    if (Atomics.load(i32, waitersIndex) !== 0) waiting++;
    f64[(at >> 3) + 1] = performance.now();
    w.commit(at);
    // Acquire the reader's receipt of `seq` (ACK = seq + 1); pairs with Atomics.store(ACK) in the latency readers.
    while (Atomics.load(ctrl, CTRL_ACK_INDEX) === seq) {
      // A run given up by the main thread (reader gone): see its stop request; pairs with layout.ts#requestStop().
      if (Atomics.load(ctrl, CTRL_STOP_INDEX) !== 0) return waiting;
      // Sleep while ACK still equals seq; woken by Atomics.notify(ACK) in the latency readers.
      Atomics.wait(ctrl, CTRL_ACK_INDEX, seq, 1_000);
    }
    // Stored by the reader before the last ACK, so visible now; pairs with layout.ts#requestStop().
    if (Atomics.load(ctrl, CTRL_STOP_INDEX) !== 0) return waiting;
  }
}

function main(): void {
  if (parentPort === null) throw new Error('latency-writer.js must run in a worker thread');
  const ctrl = new Int32Array(sabField(workerData, 'ctrlSab'));
  const w = attachRing(sabField(workerData, 'ringSab')).writer({ lane: 0 });
  const gapUs = (workerData as { gapUs?: unknown }).gapUs;
  if (typeof gapUs !== 'number' || !(gapUs >= 0)) throw new TypeError(`Invalid workerData: gapUs must be a number >= 0, received ${String(gapUs)}`);
  parentPort.postMessage({ type: 'ready', clockOffsetMs: clockOffsetMs() });
  serveRuns(ctrl, () => {
    // The run's count of records that found the reader waiting; published by finishRun()'s DONE store.
    Atomics.store(ctrl, CTRL_HEAD_INDEX, writeOneAtATime(ctrl, w, gapUs));
  });
}

main();

/**
 * Peer: ringbuf.js 0.4 (padenot/ringbuf.js), the usual SharedArrayBuffer SPSC
 * ring in JS. A worker pushes 16-byte items (an Int32Array of 4 elements per
 * `push()`, the same `[RECORD_BYTES, pos, pos + 1, -pos]` words as the raw ring);
 * the main thread `pop()`s into a 1024-element buffer and sums every element
 * into the same checksum ("ringbufjs_rps").
 *
 * ringbuf.js counts elements, not items, and may accept part of an item when
 * nearly full; the writer then pushes the rest, so the element stream stays
 * whole and the reader can sum it without looking at item boundaries.
 */
import { RingBuffer } from 'ringbuf.js';
import { alternateMedians, startWorker } from '../harness.js';
import {
  CTRL_BYTES,
  DRAIN_TIMEOUT_MS,
  RECORD_I32,
  RING_RECORDS,
  beginRun,
  expectedChecksum,
  isRunFinished,
  requestStop,
} from './layout.js';
import { closeWorker, throwIfFailed, type RepOptions, type ThroughputSession } from './raw.js';

/** ringbuf.js capacity in int32 elements: the same 64 KiB of records as the raw ring. */
export const RINGBUFJS_CAPACITY_ELEMENTS = RING_RECORDS * RECORD_I32;

/** Elements per `pop()` on the reader side. */
const POP_ELEMENTS = 1024;

/**
 * Starts the ringbuf.js writer worker (bench/peers/ringbufjs-writer.ts); the
 * main thread is the reader. Each `runOnce()` returns items (16-byte records) per second.
 */
export async function openRingbufjs(): Promise<ThroughputSession> {
  const ctrlSab = new SharedArrayBuffer(CTRL_BYTES);
  const ringSab = RingBuffer.getStorageForCapacity(RINGBUFJS_CAPACITY_ELEMENTS, Int32Array);
  const ctrl = new Int32Array(ctrlSab);
  const ring = new RingBuffer(ringSab, Int32Array);
  const bench = await startWorker(new URL('./ringbufjs-writer.js', import.meta.url), { ctrlSab, ringSab });
  const popped = new Int32Array(POP_ELEMENTS);
  const out = new Float64Array(2); // [elements read, checksum] returned by popUntilStopped()
  let recordsRead = 0;
  let runId = 0;
  return {
    runOnce(durationMs: number): Promise<number> {
      throwIfFailed(bench);
      runId += 1;
      beginRun(ctrl, runId);
      const elapsedMs = popUntilStopped(ctrl, ring, popped, durationMs, runId, out);
      const elements = out[0]!;
      if (elements % RECORD_I32 !== 0) {
        throw new Error(`ringbuf.js run ${runId} ended inside an item: ${elements} elements`);
      }
      const count = elements / RECORD_I32;
      const expected = expectedChecksum(recordsRead | 0, count);
      if (out[1] !== expected) {
        throw new Error(`ringbuf.js checksum mismatch: expected ${expected}, received ${out[1]} over ${count} items`);
      }
      recordsRead += count;
      return Promise.resolve(count / (elapsedMs / 1e3));
    },
    close: () => closeWorker(bench, ctrl),
  };
}

/**
 * The reader: pops until `durationMs` has passed, then asks the writer to stop
 * and drains the ring. Writes [elements read, checksum] to `out`.
 * @returns Elapsed ms from start to the end of the drain.
 */
function popUntilStopped(
  ctrl: Int32Array,
  ring: RingBuffer,
  popped: Int32Array,
  durationMs: number,
  runId: number,
  out: Float64Array,
): number {
  let elements = 0;
  let sum = 0;
  let spins = 0;
  let stopping = false;
  const t0 = performance.now();
  const deadline = t0 + durationMs;
  const giveUp = deadline + DRAIN_TIMEOUT_MS;
  for (;;) {
    // Read DONE before popping: once DONE is seen, the pops below reach the writer's last item.
    const finished = stopping && isRunFinished(ctrl, runId);
    let n: number;
    while ((n = ring.pop(popped)) > 0) {
      for (let i = 0; i < n; i++) sum = (sum + popped[i]!) | 0; // i < n <= popped.length
      elements += n;
    }
    if (finished) break;
    if ((++spins & 63) === 0) {
      const now = performance.now();
      if (!stopping && now >= deadline) {
        stopping = true;
        requestStop(ctrl);
      } else if (now >= giveUp) {
        throw new Error(`ringbuf.js writer did not finish run ${runId} within ${DRAIN_TIMEOUT_MS} ms`);
      }
    }
  }
  const elapsedMs = performance.now() - t0;
  out[0] = elements;
  out[1] = sum;
  return elapsedMs;
}

/**
 * Measures ringbufjs_rps: 16-byte items per second through ringbuf.js, worker
 * writer to main-thread reader.
 * @param durationMs Length of one repetition.
 * @returns Median items/s over `reps` repetitions, after one warm-up repetition.
 */
export async function ringbufjsRps(durationMs: number, opts: RepOptions = {}): Promise<number> {
  const session = await openRingbufjs();
  try {
    const { ringbufjs } = await alternateMedians({ ringbufjs: () => session.runOnce(durationMs) }, opts.reps ?? 5);
    return ringbufjs;
  } finally {
    await session.close();
  }
}

/**
 * Wake latency: from a writer thread's commit to a sleeping reader seeing the record, against
 * postMessage latency measured the same way in the same run.
 *
 * | metric                        | what                                                                | reference                   |
 * | ----------------------------- | ------------------------------------------------------------------- | --------------------------- |
 * | wake_latency_{p50,p99,p999,max}_ns       | reader in a worker, blocked in `reader.wait()`           | postmessage_latency_*_ns    |
 * | wake_async_latency_{p50,p99,p999,max}_ns | reader on the main thread, `await reader.waitAsync()`    | postmessage_latency_*_ns    |
 *
 * The writer (latency-writer.ts) commits one 16-byte record at a time carrying `performance.now()`
 * read just before `commit()`, waits for the reader's acknowledgement, pauses 50 µs (so the reader
 * is asleep again), and commits the next; the postMessage sender (peers/postmessage-sender.ts, mode
 * 'latency') posts one `{ seq, t }` at a time the same way, with the same pause. Our writer also
 * waits (at most 5 ms) for the reader to register as a sleeper, and counts the records committed
 * while it was: `*_waiting_share` (1 = every figure was a wakeup). The reader stamps `performance.now()` when its visitor sees
 * the record. Both stamps are moved onto the process-wide monotonic clock with each thread's offset
 * (peers/layout.ts#clockOffsetMs(), calibrated once per thread against `process.hrtime.bigint()`).
 *
 * The three sessions alternate repetitions (after one warm-up each). p50, p99 and p99.9 are the
 * median over repetitions of each repetition's percentile (as raw.ts#postMessageLatency() does);
 * max is the largest latency seen in any timed repetition.
 */
import { createRing, type RingRecord } from '../src/index.js';
import { median, metric, planFor, startWorker, type Metric, type Scenario } from './harness.js';
import { CTRL_ACK_INDEX, CTRL_BYTES, CTRL_HEAD_INDEX, DRAIN_TIMEOUT_MS, beginRun, clockOffsetMs, isRunFinished, requestStop } from './peers/layout.js';
import {
  closeWorker,
  latencyDistribution,
  openPostMessageLatency,
  readyClockOffset,
  throwIfFailed,
  type LatencyDistribution,
} from './peers/raw.js';

/**
 * Pause of every sender between a receipt and its next record or message (µs), so the receiver
 * has gone back to sleep: each figure is a wakeup (layout.ts#pauseMicros()).
 */
const GAP_US = 50;

/** Most records per run of the worker reader (its shared `seen` array holds two float64 per record). */
const MAX_SAMPLES = 16_384;

function latencyRing() {
  return createRing({ lanes: 1, sharedLanes: 0, pageSize: 4096, pagesPerLane: 16, mode: 'discard', clock: 'none', metadataBytes: 0 });
}

/** Resolves once `ctrl` reports run `runId` finished; rejects after `timeoutMs`. */
async function runFinished(ctrl: Int32Array, runId: number, timeoutMs: number, what: string): Promise<void> {
  const giveUp = performance.now() + timeoutMs;
  while (!isRunFinished(ctrl, runId)) {
    if (performance.now() > giveUp) throw new Error(`${what} did not finish run ${runId} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** Generous bound for one run of `samples` records (about 1 ms per record, as raw.ts does for postMessage). */
function runTimeoutMs(samples: number): number {
  return DRAIN_TIMEOUT_MS + samples;
}

/** One repetition's distribution; for our ring, also how many records found the reader registered to sleep. */
export type RunFigures = LatencyDistribution & { readonly waiting?: number };

export interface WakeSession {
  runOnce(samples: number): Promise<RunFigures>;
  close(): Promise<void>;
}

/** A writer worker and a reader worker blocked in `reader.wait()`. */
export async function openWakeWorker(): Promise<WakeSession> {
  const ring = latencyRing();
  const ctrl = new Int32Array(new SharedArrayBuffer(CTRL_BYTES));
  const readerCtrl = new Int32Array(new SharedArrayBuffer(CTRL_BYTES));
  const seenSab = new SharedArrayBuffer(8 * 2 * MAX_SAMPLES);
  const reader = await startWorker(new URL('./latency-reader.js', import.meta.url), { ctrlSab: ctrl.buffer, readerCtrlSab: readerCtrl.buffer, ringSab: ring.buffer, seenSab });
  let writer;
  try {
    writer = await startWorker(new URL('./latency-writer.js', import.meta.url), { ctrlSab: ctrl.buffer, ringSab: ring.buffer, gapUs: GAP_US });
  } catch (err: unknown) {
    await closeWorker(reader, readerCtrl);
    throw err;
  }
  const w = writer;
  const readerOffsetMs = readyClockOffset(reader.ready);
  const writerOffsetMs = readyClockOffset(w.ready);
  let runId = 0;
  return {
    async runOnce(samples: number): Promise<RunFigures> {
      throwIfFailed(reader);
      throwIfFailed(w);
      if (2 * samples * 8 > seenSab.byteLength) throw new RangeError(`wake latency: at most ${seenSab.byteLength / 16} samples per run`);
      runId += 1;
      // Reset the writer's receipt count and hand the reader its sample count, before GO; read after GO.
      Atomics.store(ctrl, CTRL_ACK_INDEX, 0);
      Atomics.store(readerCtrl, CTRL_HEAD_INDEX, samples);
      beginRun(readerCtrl, runId);
      beginRun(ctrl, runId);
      try {
        await runFinished(readerCtrl, runId, runTimeoutMs(samples), 'wake latency reader');
        await runFinished(ctrl, runId, DRAIN_TIMEOUT_MS, 'wake latency writer');
      } catch (err: unknown) {
        requestStop(readerCtrl);
        requestStop(ctrl);
        throw reader.failure() ?? w.failure() ?? err;
      }
      const seen = new Float64Array(seenSab, 0, 2 * samples);
      const latencyNs = new Float64Array(samples);
      for (let i = 0; i < samples; i++) {
        latencyNs[i] = (seen[2 * i]! + readerOffsetMs - (seen[2 * i + 1]! + writerOffsetMs)) * 1e6; // 2i + 1 < 2 * samples
      }
      // Published by the writer's DONE store, acquired by runFinished() above.
      return { ...latencyDistribution(latencyNs), waiting: Atomics.load(ctrl, CTRL_HEAD_INDEX) };
    },
    async close() {
      await closeWorker(w, ctrl);
      await closeWorker(reader, readerCtrl);
    },
  };
}

/** A writer worker and this (main) thread reading with `await reader.waitAsync()`. */
export async function openWakeAsync(): Promise<WakeSession> {
  const ring = latencyRing();
  const ctrl = new Int32Array(new SharedArrayBuffer(CTRL_BYTES));
  const writer = await startWorker(new URL('./latency-writer.js', import.meta.url), { ctrlSab: ctrl.buffer, ringSab: ring.buffer, gapUs: GAP_US });
  const reader = ring.consumer();
  const writerToReaderMs = readyClockOffset(writer.ready) - clockOffsetMs();
  let latencyNs = new Float64Array(0);
  let samples = 0;
  let got = 0;
  const visit = (r: RingRecord): void => {
    const seenAt = performance.now();
    if (r.kind !== 'data') throw new Error(`wake async latency: ${r.lost} records lost`);
    const view = new DataView(r.bytes.buffer, r.bytes.byteOffset + r.offset, 16);
    const seq = view.getInt32(0, true);
    if (seq !== got || seq >= samples) throw new Error(`wake async latency: record ${seq} arrived, expected ${got} of ${samples}`);
    latencyNs[seq] = (seenAt - (view.getFloat64(8, true) + writerToReaderMs)) * 1e6;
    got++;
    // The last record of the run: ask the writer to stop. Stored before the ACK below, so the writer sees both.
    if (got === samples) requestStop(ctrl);
    // Acknowledge `seq`: lets the writer commit the next; pairs with Atomics.load/wait(ACK) in latency-writer.ts.
    Atomics.store(ctrl, CTRL_ACK_INDEX, seq + 1);
    // Wake the writer sleeping on ACK; pairs with Atomics.wait(ACK) in latency-writer.ts.
    Atomics.notify(ctrl, CTRL_ACK_INDEX);
  };
  let runId = 0;
  return {
    async runOnce(n: number): Promise<RunFigures> {
      throwIfFailed(writer);
      runId += 1;
      samples = n;
      got = 0;
      latencyNs = new Float64Array(n);
      // Reset the writer's receipt count before GO; read by latency-writer.ts after GO.
      Atomics.store(ctrl, CTRL_ACK_INDEX, 0);
      beginRun(ctrl, runId);
      const giveUp = performance.now() + runTimeoutMs(n);
      while (got < samples) {
        if (!(await reader.waitAsync({ timeoutMs: 1_000 }))) {
          throwIfFailed(writer);
          if (performance.now() > giveUp) {
            requestStop(ctrl);
            throw new Error(`wake async latency: ${got} of ${samples} records after ${runTimeoutMs(n)} ms`);
          }
        }
        reader.read(visit);
      }
      await runFinished(ctrl, runId, DRAIN_TIMEOUT_MS, 'wake async latency writer');
      // Published by the writer's DONE store, acquired by runFinished() above.
      return { ...latencyDistribution(latencyNs), waiting: Atomics.load(ctrl, CTRL_HEAD_INDEX) };
    },
    async close() {
      reader.close();
      await closeWorker(writer, ctrl);
    },
  };
}

type Session = 'wake' | 'async' | 'postmessage';

/** Alternates the sessions' repetitions (one warm-up each first) and aggregates each one's figures. */
async function alternateLatency(sessions: Record<Session, WakeSession>, samples: number, reps: number): Promise<Record<Session, RunFigures>> {
  const keys = Object.keys(sessions) as Session[];
  for (const key of keys) await sessions[key].runOnce(samples);
  const runs: Record<Session, RunFigures[]> = { wake: [], async: [], postmessage: [] };
  for (let rep = 0; rep < reps; rep++) {
    for (let k = 0; k < keys.length; k++) {
      const key = keys[(rep + k) % keys.length]!; // rotate the first session
      runs[key].push(await sessions[key].runOnce(samples));
    }
  }
  const aggregate = (list: readonly RunFigures[]): RunFigures => ({
    p50Ns: median(list.map((d) => d.p50Ns)),
    p99Ns: median(list.map((d) => d.p99Ns)),
    p999Ns: median(list.map((d) => d.p999Ns)),
    maxNs: Math.max(...list.map((d) => d.maxNs)),
    waiting: list.reduce((sum, d) => sum + (d.waiting ?? 0), 0) / (list.length * samples),
  });
  return { wake: aggregate(runs.wake), async: aggregate(runs.async), postmessage: aggregate(runs.postmessage) };
}

const FIGURES = [
  ['p50', 'p50Ns'],
  ['p99', 'p99Ns'],
  ['p999', 'p999Ns'],
  ['max', 'maxNs'],
] as const;

function latencyMetrics(prefix: string, ours: RunFigures, ref: LatencyDistribution): Metric[] {
  return [
    ...FIGURES.map(([suffix, key]) => metric(`${prefix}_${suffix}_ns`, ours[key], 'ns', { name: `postmessage_latency_${suffix}_ns`, value: ref[key] })),
    // No reference: the share of records whose commit found the reader registered to sleep (a wakeup, not a poll).
    metric(`${prefix}_waiting_share`, ours.waiting ?? NaN, 'fraction'),
  ];
}

export const latencyScenario: Scenario = {
  name: 'wake_latency',
  async run(opts) {
    const plan = planFor(opts);
    const opened: WakeSession[] = [];
    try {
      const wake = await openWakeWorker();
      opened.push(wake);
      const async = await openWakeAsync();
      opened.push(async);
      const postmessage = await openPostMessageLatency(GAP_US);
      opened.push(postmessage);
      const r = await alternateLatency({ wake, async, postmessage }, plan.latencySamples, plan.latencyReps);
      return [...latencyMetrics('wake_latency', r.wake, r.postmessage), ...latencyMetrics('wake_async_latency', r.async, r.postmessage)];
    } finally {
      for (const s of opened) await s.close();
    }
  },
};

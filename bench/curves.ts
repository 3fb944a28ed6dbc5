/**
 * The curves of BENCHMARKS.md: throughput (records/s from N writer threads to one consumer) of
 * every series in bench/curve-sessions.ts,
 *  - against record size (16 B to 4 KiB, one writer): `curve_size_<bytes>_<series>_rps`;
 *  - against the number of writer threads (1, 2, 4, 8; 16-byte records): `curve_writers_<n>_<series>_rps`.
 *
 * Each point (one size, or one writer count) opens every series' session, then alternates their
 * repetitions (harness.ts#alternateMedians), so noise hits all series of a point alike; the figure
 * is the median. On a 2-core machine 2 and 4 writers plus a consumer oversubscribe the cores: the
 * writers-axis shows what sharing two cores costs each design, not how it scales on a big machine.
 *
 * Each figure names a reference of the same point: our own-lane ring is compared with ringbuf.js
 * (the usual JS SharedArrayBuffer ring), our shared lane with our own lanes (the cost of sharing a
 * lane), and every peer with the raw store loop (the limit of writing, which names itself).
 */
import { alternateMedians, metric, planFor, referenceMetric, type BenchOptions, type Metric, type Sampler, type Scenario } from './harness.js';
import { CURVE_SERIES, openCurveSession, type CurveSeries } from './curve-sessions.js';
import type { ThroughputSession } from './peers/raw.js';

export { CURVE_SERIES, type CurveSeries } from './curve-sessions.js';

/** The x axis of a chart. */
export type CurveAxis = 'size' | 'writers';

/** Record sizes of the size axis, in bytes (one writer). */
export const RECORD_SIZES: readonly number[] = [16, 64, 256, 1024, 4096];
/** Writer thread counts of the writers axis (16-byte records). */
export const WRITER_COUNTS: readonly number[] = [1, 2, 4, 8];
/** Record size of the writers axis. */
export const WRITERS_AXIS_RECORD_BYTES = 16;

/** Legend text of each series. */
export const SERIES_LABELS: Readonly<Record<CurveSeries, string>> = {
  ring_own: 'our ring, own lanes',
  ring_own_batches: 'our ring, own lanes, batch reader',
  ring_shared: 'our ring, one shared lane',
  ringbufjs: 'ringbuf.js (a ring per writer)',
  thread_stream: 'thread-stream (a stream per writer)',
  postmessage: 'postMessage',
  array_queue: 'JS array queue, one thread',
  raw_store: 'raw store loop, no reader (limit)',
};

/** The reference of each series at the same point (see the file comment). */
const SERIES_REF: Readonly<Record<CurveSeries, CurveSeries>> = {
  ring_own: 'ringbufjs',
  ring_own_batches: 'ringbufjs',
  ring_shared: 'ring_own',
  ringbufjs: 'raw_store',
  thread_stream: 'raw_store',
  postmessage: 'raw_store',
  array_queue: 'raw_store',
  raw_store: 'raw_store',
};

/** `curve_size_256_ring_own_rps`, `curve_writers_2_postmessage_rps`. */
export function curveMetricName(axis: CurveAxis, x: number, series: CurveSeries): string {
  return `curve_${axis}_${x}_${series}_rps`;
}

/** The inverse of {@link curveMetricName}, or null for any other name. */
export function parseCurveMetricName(name: string): { axis: CurveAxis; x: number; series: CurveSeries } | null {
  const m = /^curve_(size|writers)_(\d+)_([a-z_]+)_rps$/.exec(name);
  if (m === null) return null;
  const series = m[3] as CurveSeries;
  if (!(CURVE_SERIES as readonly string[]).includes(series)) return null;
  return { axis: m[1] as CurveAxis, x: Number(m[2]), series };
}

/** Measures every series at one point; returns records/s per series. */
async function measurePoint(writers: number, recordBytes: number, durationMs: number, reps: number): Promise<Record<CurveSeries, number>> {
  const sessions: Partial<Record<CurveSeries, ThroughputSession>> = {};
  try {
    // One at a time: starting ~30 workers at once on 2 cores only makes every start slower.
    for (const series of CURVE_SERIES) sessions[series] = await openCurveSession(series, writers, recordBytes);
    const samplers = {} as Record<CurveSeries, Sampler>;
    for (const series of CURVE_SERIES) {
      const session = sessions[series]!; // opened above
      samplers[series] = async () => {
        try {
          return await session.runOnce(durationMs);
        } catch (err: unknown) {
          throw new Error(`${series} (${writers} writers, ${recordBytes} B): ${err instanceof Error ? err.message : String(err)}`, { cause: err });
        }
      };
    }
    return await alternateMedians(samplers, reps);
  } finally {
    for (const series of CURVE_SERIES) await sessions[series]?.close();
  }
}

/**
 * {@link measurePoint}, once more if it fails: on a shared 2-core machine a burst of other work can
 * stall a spinning pair past its drain timeout. The failure is reported on stderr either way, and a
 * second failure fails the scenario.
 */
async function measurePointWithRetry(writers: number, recordBytes: number, durationMs: number, reps: number): Promise<Record<CurveSeries, number>> {
  try {
    return await measurePoint(writers, recordBytes, durationMs, reps);
  } catch (err: unknown) {
    process.stderr.write(`\ncurve point failed, measuring it again: ${err instanceof Error ? err.message : String(err)}\n`);
    return await measurePoint(writers, recordBytes, durationMs, reps);
  }
}

function pointMetrics(axis: CurveAxis, x: number, rps: Record<CurveSeries, number>): Metric[] {
  return CURVE_SERIES.map((series) => {
    const name = curveMetricName(axis, x, series);
    const ref = SERIES_REF[series];
    if (ref === series) return referenceMetric(name, rps[series], 'records/s');
    return metric(name, rps[series], 'records/s', { name: curveMetricName(axis, x, ref), value: rps[ref] });
  });
}

async function runAxis(axis: CurveAxis, opts: BenchOptions): Promise<Metric[]> {
  const plan = planFor(opts);
  const out: Metric[] = [];
  const xs = axis === 'size' ? RECORD_SIZES : WRITER_COUNTS;
  for (const x of xs) {
    const started = performance.now();
    const writers = axis === 'size' ? 1 : x;
    const recordBytes = axis === 'size' ? x : WRITERS_AXIS_RECORD_BYTES;
    const rps = await measurePointWithRetry(writers, recordBytes, plan.curveDurationMs, plan.curveReps);
    if (!opts.json) process.stderr.write(` ${axis}=${x} (${((performance.now() - started) / 1e3).toFixed(1)} s)`);
    out.push(...pointMetrics(axis, x, rps));
  }
  return out;
}

export const curveSizeScenario: Scenario = { name: 'curve_size', run: (opts) => runAxis('size', opts) };
export const curveWritersScenario: Scenario = { name: 'curve_writers', run: (opts) => runAxis('writers', opts) };
export const curveScenarios: readonly Scenario[] = [curveSizeScenario, curveWritersScenario];

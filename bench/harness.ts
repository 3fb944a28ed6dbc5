/**
 * A small benchmark harness: timing loops, medians, worker start/stop, and output.
 *
 * Every figure is reported next to a reference measured in the same process run.
 * The machine is small and noisy (2 cores), so these rules apply:
 * - A figure is the median of several repetitions, never a single run.
 * - When a figure is compared with a reference, the repetitions of the two
 *   alternate (A, B, A, B, ...; see {@link alternateMedians}). Noise then hits
 *   both sides alike.
 * - Measured loops do not allocate. A loop keeps its state in locals and in
 *   typed arrays that are created before timing starts.
 *
 * Output: `--json` prints one JSON object per metric and line, and nothing else
 * goes to stdout. Without it, an aligned table is printed, preceded by machine
 * info. Progress and errors go to stderr.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { parseArgs as parseNodeArgs } from 'node:util';
import { Worker } from 'node:worker_threads';

/** One reported figure and the reference it is compared with. */
export interface Metric {
  /** snake_case name carrying the unit, e.g. `raw_store_publish_ns`. */
  readonly name: string;
  readonly value: number;
  /** e.g. `ns/op`, `records/s`, `msgs/s`, `ns`. */
  readonly unit: string;
  /** Name of the reference metric, or `null` when the figure has none (e.g. a drop count). */
  readonly ref: string | null;
  readonly refValue: number | null;
  /** `value / refValue`, or `null` without a reference. */
  readonly ratio: number | null;
}

/** Command-line options shared by every scenario. */
export interface BenchOptions {
  /** Print JSON lines instead of a table. */
  readonly json: boolean;
  /** Fewer and shorter repetitions, so the whole suite finishes in under 2 minutes. */
  readonly quick: boolean;
  /** Run only scenarios whose name contains this substring. */
  readonly only: string | null;
  /**
   * Write BENCHMARKS.md and its charts (bench/report.ts). A full run of every scenario writes them
   * anyway; `--report` asks for them after a `--quick` or `--only` run too.
   */
  readonly report: boolean;
}

/**
 * Repetition sizes shared by all scenarios, so figures and references are
 * measured alike. `--quick` shrinks them so the whole suite ends in < 2 min.
 */
export interface BenchPlan {
  /** Operations per timed call of a single-thread loop ({@link measureNsPerOp}). */
  readonly opsPerRun: number;
  /** Timed calls of a single-thread loop. */
  readonly nsReps: number;
  /** Length of one cross-thread throughput repetition. */
  readonly durationMs: number;
  /** Cross-thread throughput repetitions (plus one untimed warm-up). */
  readonly reps: number;
  /** Messages per latency repetition. */
  readonly latencySamples: number;
  /** Latency repetitions (plus one untimed warm-up). */
  readonly latencyReps: number;
  /** Length of one repetition of a curve point (bench/curves.ts: 8 series x 9 points). */
  readonly curveDurationMs: number;
  /** Repetitions of a curve point (plus one untimed warm-up). */
  readonly curveReps: number;
}

/** The repetition sizes for these options. */
export function planFor(opts: BenchOptions): BenchPlan {
  return opts.quick
    ? { opsPerRun: 200_000, nsReps: 9, durationMs: 250, reps: 3, latencySamples: 2_000, latencyReps: 3, curveDurationMs: 100, curveReps: 1 }
    : { opsPerRun: 1_000_000, nsReps: 15, durationMs: 1_000, reps: 5, latencySamples: 10_000, latencyReps: 5, curveDurationMs: 500, curveReps: 3 };
}

/** One benchmark scenario. Register it in `bench/scenarios.ts`. */
export interface Scenario {
  /** Matched by `--only <substring>`. */
  readonly name: string;
  run(opts: BenchOptions): Promise<Metric[]>;
}

/** A measured loop: performs `n` operations. */
export type OpLoop = (n: number) => void;

/** One repetition of a measurement; returns one figure (ns/op, records/s, ...). */
export type Sampler = () => number | Promise<number>;

const USAGE = 'Usage: node dist/bench/run.js [--json] [--quick] [--only <substring>] [--report]';

/**
 * Parses the benchmark command line.
 * @param argv Arguments after the script name, e.g. `process.argv.slice(2)`.
 * @returns The parsed options.
 * @throws {TypeError} On an unknown option or a missing `--only` value; the message includes the usage line.
 */
export function parseArgs(argv: readonly string[]): BenchOptions {
  try {
    const { values } = parseNodeArgs({
      args: [...argv],
      options: {
        json: { type: 'boolean', default: false },
        quick: { type: 'boolean', default: false },
        only: { type: 'string' },
        report: { type: 'boolean', default: false },
      },
      strict: true,
      allowPositionals: false,
    });
    return { json: values.json === true, quick: values.quick === true, only: values.only ?? null, report: values.report === true };
  } catch (err: unknown) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new TypeError(`Cannot parse benchmark arguments: ${reason}\n${USAGE}`);
  }
}

/**
 * Median of a non-empty list (mean of the two middle values for an even length).
 * @throws {RangeError} If `values` is empty.
 */
export function median(values: ArrayLike<number>): number {
  return percentile(values, 50);
}

/**
 * Percentile by linear interpolation between closest ranks (p = 50 is the median).
 * @param p Percentile in [0, 100].
 * @throws {RangeError} If `values` is empty or `p` is out of range.
 */
export function percentile(values: ArrayLike<number>, p: number): number {
  if (values.length === 0) {
    throw new RangeError('Cannot compute percentile: values must not be empty');
  }
  if (!(p >= 0 && p <= 100)) {
    throw new RangeError(`Cannot compute percentile: p must be in [0, 100], received ${p}`);
  }
  const sorted = Float64Array.from(values).sort();
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  const loValue = sorted[lo]!; // lo and hi are in [0, length - 1]
  const hiValue = sorted[hi]!;
  return loValue + (hiValue - loValue) * (rank - lo);
}

/**
 * Runs `fn(opsPerRun)` to warm up (>= 3 calls and >= 50 ms), then `reps` timed times.
 * @param fn The measured loop; it must not allocate.
 * @param opsPerRun Operations per call of `fn`.
 * @param reps Timed repetitions.
 * @returns The median ns per operation.
 */
export function measureNsPerOp(fn: OpLoop, opsPerRun: number, reps: number): number {
  const result = measureNsPerOpInterleaved({ fn }, opsPerRun, reps).fn;
  return result!; // the key `fn` exists by construction
}

/**
 * Like {@link measureNsPerOp} for several loops, whose repetitions alternate
 * (a, b, a, b, ...) so that machine noise hits all of them alike. Use it to
 * time a figure and its reference.
 * @returns The median ns per operation of each loop, under the same keys.
 */
export function measureNsPerOpInterleaved<K extends string>(
  loops: Record<K, OpLoop>,
  opsPerRun: number,
  reps: number,
): Record<K, number> {
  const keys = Object.keys(loops) as K[];
  for (const key of keys) {
    // Warm-up: let each loop reach optimized code. TurboFan compiles on a
    // background thread, so give it time as well as calls.
    const warmupEnd = performance.now() + WARMUP_MIN_MS;
    for (let i = 0; i < WARMUP_MIN_CALLS || performance.now() < warmupEnd; i++) loops[key](opsPerRun);
  }
  const samples = timedAlternation(keys, reps, (key) => {
    const t0 = performance.now();
    loops[key](opsPerRun);
    const t1 = performance.now();
    return ((t1 - t0) * 1e6) / opsPerRun;
  });
  return mapValues(keys, (key) => median(samples[key]));
}

const WARMUP_MIN_CALLS = 3;
const WARMUP_MIN_MS = 50;

/**
 * Runs each sampler `reps` times, alternating between them after one untimed
 * warm-up call each, and returns the median of each. Samplers may be async
 * (e.g. a postMessage round) or sync (e.g. a main-thread reader spinning on a ring).
 * @returns The median figure of each sampler, under the same keys.
 */
export async function alternateMedians<K extends string>(
  samplers: Record<K, Sampler>,
  reps: number,
): Promise<Record<K, number>> {
  const keys = Object.keys(samplers) as K[];
  for (const key of keys) await samplers[key]();
  const samples = mapValues(keys, (): number[] => []);
  for (let rep = 0; rep < reps; rep++) {
    // Rotate the starting sampler so no sampler always runs first.
    for (let k = 0; k < keys.length; k++) {
      const key = keys[(rep + k) % keys.length]!;
      samples[key].push(await samplers[key]());
    }
  }
  return mapValues(keys, (key) => median(samples[key]));
}

function timedAlternation<K extends string>(
  keys: readonly K[],
  reps: number,
  once: (key: K) => number,
): Record<K, number[]> {
  const samples = mapValues(keys, (): number[] => []);
  for (let rep = 0; rep < reps; rep++) {
    for (let k = 0; k < keys.length; k++) {
      const key = keys[(rep + k) % keys.length]!;
      samples[key].push(once(key));
    }
  }
  return samples;
}

function mapValues<K extends string, V>(keys: readonly K[], fn: (key: K) => V): Record<K, V> {
  const out = {} as Record<K, V>;
  for (const key of keys) out[key] = fn(key);
  return out;
}

/**
 * Builds a metric compared with a reference measured in the same run.
 * @param ref The reference's name and value; omit it for a figure without reference.
 */
export function metric(
  name: string,
  value: number,
  unit: string,
  ref?: { readonly name: string; readonly value: number },
): Metric {
  if (ref === undefined) return { name, value, unit, ref: null, refValue: null, ratio: null };
  return { name, value, unit, ref: ref.name, refValue: ref.value, ratio: value / ref.value };
}

/** A reference figure reported on its own: `ref` is its own name, ratio 1. */
export function referenceMetric(name: string, value: number, unit: string): Metric {
  return metric(name, value, unit, { name, value });
}

/** A started benchmark worker. */
export interface BenchWorker {
  readonly worker: Worker;
  /** The message the worker sent when ready (see {@link startWorker}). */
  readonly ready: unknown;
  /** The worker's error or unexpected exit, if any happened so far. */
  failure(): Error | null;
  /** Terminates the worker and waits for it to exit. Safe to call twice. */
  stop(): Promise<void>;
}

/**
 * Spawns a worker thread and waits for its first message, which it must send
 * once set up (`parentPort.postMessage({ type: 'ready', ... })`).
 *
 * Pass a URL relative to the caller's compiled module:
 * `startWorker(new URL('./x.js', import.meta.url), data)`.
 *
 * A worker must never outlive its scenario: call `stop()` in a `finally`.
 * @throws {Error} If the worker fails or does not get ready within `timeoutMs`.
 */
export async function startWorker(url: URL, workerData: unknown, timeoutMs = 10_000): Promise<BenchWorker> {
  const worker = new Worker(url, { workerData });
  let failure: Error | null = null;
  let exited = false;
  let stopping = false;
  const exit = new Promise<void>((resolve) => {
    worker.once('exit', (code) => {
      exited = true;
      if (failure === null && !stopping) failure = new Error(`Benchmark worker ${url.pathname} exited with code ${code}`);
      resolve();
    });
  });
  worker.on('error', (err) => {
    failure = err;
  });
  const stop = async (): Promise<void> => {
    stopping = true;
    if (!exited) await worker.terminate();
    await exit;
  };
  let timer: NodeJS.Timeout | undefined;
  try {
    const ready = await new Promise<unknown>((resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`Benchmark worker ${url.pathname} not ready after ${timeoutMs} ms`)), timeoutMs);
      worker.once('message', resolve);
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`Benchmark worker ${url.pathname} exited with code ${code} before ready`)));
    });
    return { worker, ready, failure: () => failure, stop };
  } catch (err: unknown) {
    await stop();
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Counts threads, other than the caller, that are runnable right now (Linux:
 * /proc/loadavg; elsewhere returns 0). Median of 5 samples 20 ms apart.
 * Spinning cross-thread benchmarks need a free core per thread; with other
 * work running they can slow down 10-100x, so the runner warns.
 */
export async function otherRunnableThreads(): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < 5; i++) {
    try {
      const fields = readFileSync('/proc/loadavg', 'utf8').split(' ');
      const runnable = Number(fields[3]?.split('/')[0]);
      if (!Number.isFinite(runnable)) return 0;
      samples.push(Math.max(0, runnable - 1)); // minus the thread reading the file
    } catch {
      return 0;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return median(samples);
}

/** Prints machine info to stdout (table mode only). */
export function printMachineInfo(): void {
  const cpuList = cpus();
  const model = cpuList[0]?.model.trim() ?? 'unknown CPU';
  process.stdout.write(`# ${model}, ${cpuList.length} cores, Node ${process.version}, ${process.platform}/${process.arch}\n`);
}

/**
 * Prints metrics: one JSON object per line with `json`, an aligned table otherwise.
 * In JSON mode each line is exactly `{"name","value","unit","ref","refValue","ratio"}`.
 */
export function report(metrics: readonly Metric[], opts: { readonly json: boolean }): void {
  if (opts.json) {
    for (const m of metrics) {
      const line = {
        name: m.name,
        value: round(m.value),
        unit: m.unit,
        ref: m.ref,
        refValue: m.refValue === null ? null : round(m.refValue),
        ratio: m.ratio === null ? null : round(m.ratio),
      };
      process.stdout.write(`${JSON.stringify(line)}\n`);
    }
    return;
  }
  const header = ['name', 'value', 'unit', 'ref', 'refValue', 'ratio'] as const;
  const rows = metrics.map((m) => [
    m.name,
    formatNumber(m.value),
    m.unit,
    m.ref ?? '-',
    m.refValue === null ? '-' : formatNumber(m.refValue),
    m.ratio === null ? '-' : m.ratio.toFixed(3),
  ]);
  const widths = header.map((h, col) => Math.max(h.length, ...rows.map((r) => r[col]!.length)));
  const rightAligned = new Set([1, 4, 5]); // numeric columns
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, col) => (rightAligned.has(col) ? c.padStart(widths[col]!) : c.padEnd(widths[col]!)))
      .join('  ')
      .trimEnd();
  process.stdout.write(`${line(header)}\n${line(widths.map((w) => '-'.repeat(w)))}\n`);
  for (const r of rows) process.stdout.write(`${line(r)}\n`);
}

/** Six significant digits: enough for noisy figures, short enough to read. */
function round(value: number): number {
  return Number.isFinite(value) ? Number(value.toPrecision(6)) : value;
}

function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  if (abs >= 1e6) return `${(value / 1e6).toFixed(2)}M`;
  if (abs >= 1e3) return `${(value / 1e3).toFixed(1)}k`;
  if (abs >= 100) return value.toFixed(0);
  return value.toFixed(2);
}

/**
 * JS heap growth, in bytes, over 10 M calls of a write loop (2 M in `--quick`, scaled to 10 M):
 * a warm-up, a full GC, the run, another full GC. Exposes `gc` through V8 flags when the process
 * was started without `--expose-gc`.
 */
export function heapGrowthBytes(loop: OpLoop, quick: boolean): number {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  loop(100_000); // warm up and let the optimizer settle before the baseline
  gc();
  const before = process.memoryUsage().heapUsed;
  const n = quick ? 2_000_000 : 10_000_000;
  loop(n);
  gc();
  return Math.max(0, process.memoryUsage().heapUsed - before) * (10_000_000 / n);
}

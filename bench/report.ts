/**
 * BENCHMARKS.md: the report a full `npm run bench` writes at the repository root, with its charts
 * in docs/bench/. Everything in it comes from one run: the machine and its load at the start and
 * the end, every figure beside its reference and ratio (and the issue's target where one exists),
 * the curves of bench/curves.ts as tables and SVG charts (svg-chart.ts), and the wake latency
 * distribution of bench/latency.ts.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CURVE_SERIES, RECORD_SIZES, SERIES_LABELS, WRITER_COUNTS, WRITERS_AXIS_RECORD_BYTES, parseCurveMetricName, type CurveAxis, type CurveSeries } from './curves.js';
import type { BenchPlan, Metric } from './harness.js';
import type { LoadSample, MachineInfo } from './machine.js';
import { formatCount, renderLineChart, type ChartSeries } from './svg-chart.js';
import { TARGETS, formatTarget, targetMet } from './targets.js';

/** What one scenario produced. */
export interface ScenarioResult {
  readonly name: string;
  readonly metrics: readonly Metric[];
  readonly seconds: number;
  /** The error message when the scenario failed (its metrics are then empty). */
  readonly error?: string;
}

export interface ReportInput {
  readonly machine: MachineInfo;
  readonly loadStart: LoadSample;
  readonly loadEnd: LoadSample;
  readonly quick: boolean;
  readonly plan: BenchPlan;
  /** The command line after the script, e.g. `[]` or `['--quick', '--report']`. */
  readonly argv: readonly string[];
  readonly results: readonly ScenarioResult[];
}

/** Chart files, relative to the repository root (the report links them from there). */
export const CHART_FILES: Readonly<Record<CurveAxis, string>> = {
  size: 'docs/bench/throughput-vs-record-size.svg',
  writers: 'docs/bench/throughput-vs-writers.svg',
};

const REPORT_FILE = 'BENCHMARKS.md';

/** Writes BENCHMARKS.md and its charts under `rootDir`; returns the paths written. */
export function writeReport(rootDir: string, input: ReportInput): string[] {
  const written: string[] = [];
  for (const axis of ['size', 'writers'] as const) {
    const svg = renderCurveChart(axis, input);
    if (svg === null) continue;
    const path = join(rootDir, CHART_FILES[axis]);
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, svg);
    written.push(path);
  }
  const path = join(rootDir, REPORT_FILE);
  writeFileSync(path, renderReport(input, readNotes(rootDir)));
  written.push(path);
  return written;
}

/** The curve figures of one axis: series -> x -> records/s. */
export function curveTable(axis: CurveAxis, metrics: readonly Metric[]): Map<CurveSeries, Map<number, number>> {
  const table = new Map<CurveSeries, Map<number, number>>();
  for (const m of metrics) {
    const parsed = parseCurveMetricName(m.name);
    if (parsed === null || parsed.axis !== axis) continue;
    let row = table.get(parsed.series);
    if (row === undefined) table.set(parsed.series, (row = new Map()));
    row.set(parsed.x, m.value);
  }
  return table;
}

function axisXs(axis: CurveAxis): readonly number[] {
  return axis === 'size' ? RECORD_SIZES : WRITER_COUNTS;
}

function axisLabel(axis: CurveAxis, x: number): string {
  if (axis === 'writers') return `${x}`;
  return x >= 1024 ? `${x / 1024} KiB` : `${x} B`;
}

/** The SVG chart of one axis, or null when the run has no figure for it. */
export function renderCurveChart(axis: CurveAxis, input: ReportInput): string | null {
  const table = curveTable(axis, allMetrics(input));
  if (table.size === 0) return null;
  const xs = axisXs(axis);
  const series: ChartSeries[] = CURVE_SERIES.filter((s) => table.has(s)).map((s) => ({
    label: SERIES_LABELS[s],
    values: xs.map((x) => table.get(s)?.get(x) ?? null),
    emphasis: s === 'ring_own' || s === 'ring_own_batches' || s === 'ring_shared',
    dashed: s === 'raw_store' || s === 'array_queue',
  }));
  const load = input.loadStart.loadavg[0].toFixed(1);
  const machine = `${input.machine.cores} cores, Node ${input.machine.node}, load average ${load} at start`;
  return renderLineChart(
    axis === 'size'
      ? {
          title: 'Throughput vs record size (one writer thread, one consumer)',
          subtitle: `${machine}; median of ${input.plan.curveReps} alternated repetitions of ${input.plan.curveDurationMs} ms`,
          xTitle: 'record size (payload bytes)',
          yTitle: 'records per second (log scale)',
          xLabels: xs.map((x) => axisLabel(axis, x)),
          series,
        }
      : {
          title: `Throughput vs writer threads (${WRITERS_AXIS_RECORD_BYTES}-byte records, one consumer)`,
          subtitle: `${machine}: 2 and 4 writers oversubscribe the cores`,
          xTitle: 'writer threads',
          yTitle: 'records per second, all writers (log scale)',
          xLabels: xs.map((x) => axisLabel(axis, x)),
          series,
        },
  );
}

function allMetrics(input: ReportInput): Metric[] {
  return input.results.flatMap((r) => r.metrics);
}

/** A figure with its unit, for people: `43.1 ns`, `12.3 M/s`, `1.54 GB/s`. */
export function formatValue(value: number, unit: string): string {
  if (!Number.isFinite(value)) return String(value);
  switch (unit) {
    case 'ns':
    case 'ns/op': {
      const suffix = unit === 'ns/op' ? '/op' : '';
      if (value >= 1e6) return `${(value / 1e6).toFixed(2)} ms${suffix}`;
      if (value >= 1e3) return `${(value / 1e3).toFixed(1)} µs${suffix}`;
      return `${value.toFixed(1)} ns${suffix}`;
    }
    case 'records/s':
    case 'msgs/s':
      return `${formatCount(value)}/s`;
    case 'B/s':
      return `${formatCount(value)}B/s`;
    case 'bytes':
    case 'B':
      return `${formatCount(value)}B`;
    case 'fraction':
      return value.toFixed(2);
    default:
      return `${formatCount(value)} ${unit}`;
  }
}

function formatRatio(ratio: number | null): string {
  if (ratio === null || !Number.isFinite(ratio)) return '-';
  return ratio >= 100 ? ratio.toFixed(0) : ratio >= 10 ? ratio.toFixed(1) : ratio.toFixed(ratio >= 1 ? 2 : 3);
}

function targetCell(m: Metric): string {
  const target = TARGETS[m.name];
  if (target === undefined) return '';
  const verdict = m.ratio === null ? 'not measured' : targetMet(target, m.ratio) ? 'met' : 'missed';
  return `${formatTarget(target)} (${target.source}): ${verdict === 'missed' ? 'missed ([why](#targets-missed-where-the-time-goes))' : verdict}`;
}

function metricRow(m: Metric): string {
  const self = m.ref === m.name;
  const ref = m.ref === null ? '-' : self ? '(reference)' : `\`${m.ref}\``;
  const refValue = m.refValue === null || self ? '' : formatValue(m.refValue, m.unit === 'bytes' ? 'bytes' : m.unit);
  return `| \`${m.name}\` | ${formatValue(m.value, m.unit)} | ${ref} | ${refValue} | ${self ? '' : formatRatio(m.ratio)} | ${targetCell(m)} |`;
}

const METRIC_HEADER = '| metric | value | reference | reference value | ratio | target |\n| --- | ---: | --- | ---: | ---: | --- |';

function loadLine(s: LoadSample): string {
  const [one, five, fifteen] = s.loadavg;
  const runnable = s.runnable === null ? '' : `; ${s.runnable} other thread(s) runnable at that moment`;
  return `${one.toFixed(2)} / ${five.toFixed(2)} / ${fifteen.toFixed(2)} (1 / 5 / 15 min) at ${s.at.toISOString()}${runnable}`;
}

function duration(ms: number): string {
  const s = Math.round(ms / 1e3);
  return s >= 60 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${s} s`;
}

function machineSection(input: ReportInput): string[] {
  const { machine, loadStart, loadEnd } = input;
  // Before the run, the load is other work (or a run that just ended); at the end it includes ours,
  // so only the threads runnable besides us then say something about others.
  const others = Math.max(loadStart.runnable ?? 0, loadEnd.runnable ?? 0);
  const lines = [
    '## Machine',
    '',
    '| | |',
    '| --- | --- |',
    `| CPU | ${machine.cpuModel} |`,
    `| cores | ${machine.cores} |`,
    `| memory | ${(machine.memoryBytes / 2 ** 30).toFixed(1)} GiB |`,
    `| Node | ${machine.node} (${machine.platform}) |`,
    `| load average at start | ${loadLine(loadStart)} |`,
    `| load average at end | ${loadLine(loadEnd)} (the averages include this run's own threads: up to 9 busy at once in the curves) |`,
    `| run time | ${duration(loadEnd.at.getTime() - loadStart.at.getTime())} (${input.results.map((r) => `${r.name} ${r.seconds.toFixed(0)} s`).join(', ')}) |`,
    '',
  ];
  if (loadStart.loadavg[0] >= machine.cores / 2 || others >= 1) {
    lines.push(
      `> **Other work may have shared the machine during this run** (load average ${loadStart.loadavg[0].toFixed(2)} on ${machine.cores} cores`,
      `> at the start; ${others} other thread(s) runnable at the start or the end). The cross-thread figures spin on both`,
      '> sides and need a free core each; with other threads runnable they were seen to drop by 10-300x, unevenly.',
      '> A ratio still compares figures of the same minutes, but absolute figures may be low and noisy:',
      '> regenerate on a quiet machine before quoting them.',
      '',
    );
  }
  return lines;
}

function methodSection(input: ReportInput): string[] {
  const p = input.plan;
  return [
    '## Method',
    '',
    `- Command: \`npm run bench${input.argv.length > 0 ? ` -- ${input.argv.join(' ')}` : ''}\`${input.quick ? ' (a **quick** run: fewer, shorter repetitions, for smoke tests)' : ''}.`,
    '- Every figure is the **median** of several repetitions after warm-up, and is measured **beside its reference in the',
    '  same process run, with alternating repetitions** (A, B, A, B, ...), so that noise hits both alike. Compare ratios,',
    '  not absolute numbers across runs or machines.',
    `- Single-thread loops: ${p.opsPerRun.toLocaleString('en-US')} operations x ${p.nsReps} repetitions. Cross-thread throughput: ${p.reps} repetitions of`,
    `  ${p.durationMs} ms. Curves: ${p.curveReps} repetition(s) of ${p.curveDurationMs} ms per series and point, all series of a point alternating.`,
    `  Latency: ${p.latencyReps} repetitions of ${p.latencySamples.toLocaleString('en-US')} records or messages, one in flight at a time.`,
    '- Cross-thread runs verify what they moved (a checksum of every record, exact counts) and throw otherwise.',
    '- Definitions of every metric and reference: [bench/README.md](bench/README.md). Targets are those of the issues.',
    '',
  ];
}

function figuresSection(input: ReportInput): string[] {
  const lines = ['## Figures', ''];
  for (const r of input.results) {
    const plain = r.metrics.filter((m) => parseCurveMetricName(m.name) === null);
    if (r.error !== undefined) {
      lines.push(`### ${r.name}`, '', `**Failed** after ${r.seconds.toFixed(1)} s: \`${r.error.split('\n')[0] ?? ''}\``, '');
      continue;
    }
    if (plain.length === 0) continue;
    lines.push(`### ${r.name} (${r.seconds.toFixed(1)} s)`, '', METRIC_HEADER, ...plain.map(metricRow), '');
  }
  return lines;
}

function curveSection(axis: CurveAxis, input: ReportInput): string[] {
  const metrics = allMetrics(input).filter((m) => parseCurveMetricName(m.name)?.axis === axis);
  if (metrics.length === 0) return [];
  const table = curveTable(axis, metrics);
  const xs = axisXs(axis);
  const lines =
    axis === 'size'
      ? [
          '## Throughput vs record size',
          '',
          'One writer thread, one consumer, records of 16 B to 4 KiB (every record carries the same 16-byte header, the rest is',
          'a payload the writer copies in). Records per second; bytes per second are records/s x size.',
        ]
      : [
          '## Throughput vs writer threads',
          '',
          `1, 2 and 4 writer threads of ${WRITERS_AXIS_RECORD_BYTES}-byte records, one consumer, **on ${input.machine.cores} cores**: with 2 or 4 writers`,
          'and a consumer the threads outnumber the cores, so this shows what sharing the cores costs each design, not how',
          'it scales on a larger machine. Records per second of all writers together.',
        ];
  lines.push(
    '',
    `![${axis === 'size' ? 'throughput vs record size' : 'throughput vs writer threads'}](${CHART_FILES[axis]})`,
    '',
    `| series | ${xs.map((x) => axisLabel(axis, x)).join(' | ')} |`,
    `| --- | ${xs.map(() => '---:').join(' | ')} |`,
  );
  for (const s of CURVE_SERIES) {
    const row = table.get(s);
    if (row === undefined) continue;
    lines.push(`| ${SERIES_LABELS[s]} | ${xs.map((x) => (row.has(x) ? formatCount(row.get(x)!) : '-')).join(' | ')} |`); // has(x) checked
  }
  lines.push(
    '',
    'Series: our ring with each writer on its own lane (`ring_own`) and all writers on one shared lane (`ring_shared`), read by',
    'the main thread with `consumer().read(visitor)` (a call per record); our own lanes read with `readBatches()` (`ring_own_batches`: a',
    'call per run of records, as the ringbuf.js consumer pops a buffer of elements at a time); ringbuf.js (one SPSC ring per writer, as it has one producer); thread-stream',
    '(one stream, and so one destination thread, per writer: 2N threads); `postMessage` of a `Uint8Array` per record; a plain JS',
    'array queue in one thread (no sharing at all: the upper bound of handing records over without threads); and the raw store',
    'loop (each writer storing records into its own memory, no reader: the limit). Details: [bench/README.md](bench/README.md).',
    '',
    '<details><summary>Every curve figure with its reference</summary>',
    '',
    METRIC_HEADER,
    ...metrics.map(metricRow),
    '',
    '</details>',
    '',
  );
  return lines;
}

function latencySection(input: ReportInput): string[] {
  const byName = new Map(allMetrics(input).map((m) => [m.name, m]));
  const rows = [
    ['p50', 'p50'],
    ['p99', 'p99'],
    ['p99.9', 'p999'],
    ['max', 'max'],
  ] as const;
  if (!byName.has('wake_latency_p50_ns')) return [];
  const cell = (name: string, refSide: boolean): string => {
    const m = byName.get(name);
    if (m === undefined) return '-';
    return formatValue(refSide ? (m.refValue ?? NaN) : m.value, 'ns');
  };
  const share = (name: string): string => {
    const m = byName.get(name);
    return m === undefined ? '-' : `${(m.value * 100).toFixed(1)} %`;
  };
  return [
    '## Wake latency',
    '',
    'From a writer thread\'s `commit()` to a sleeping reader seeing the record, one record in flight at a time (the writer',
    'waits for the reader\'s receipt, then 50 µs, then until the reader has registered to sleep), beside `postMessage` from a',
    'worker to the main thread measured the same way in the same run. Both ends stamp `performance.now()`, moved onto one',
    'process-wide clock by a per-thread offset calibrated against `process.hrtime`.',
    '',
    '| | reader blocked in `reader.wait()` (worker) | `await reader.waitAsync()` (main thread) | `postMessage` to the main thread |',
    '| --- | ---: | ---: | ---: |',
    ...rows.map(([label, key]) => `| ${label} | ${cell(`wake_latency_${key}_ns`, false)} | ${cell(`wake_async_latency_${key}_ns`, false)} | ${cell(`wake_latency_${key}_ns`, true)} |`),
    `| records that found the reader registered to sleep | ${share('wake_latency_waiting_share')} | ${share('wake_async_latency_waiting_share')} | |`,
    '',
  ];
}

/** The whole report as Markdown. */
/** Where the notes on missed targets are kept (hand-written from profiles; see {@link notesSection}). */
export const NOTES_DIR = 'bench/notes';

/** The notes of bench/notes/*.md, by file name. */
function readNotes(rootDir: string): string[] {
  const dir = join(rootDir, NOTES_DIR);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => readFileSync(join(dir, f), 'utf8'));
}

/**
 * The notes on targets missed, as written (from `--cpu-prof` profiles and experiments, at the time
 * of the change they describe), each heading one level down so that they sit under this section.
 */
function notesSection(notes: readonly string[]): string[] {
  if (notes.length === 0) return [];
  const lines = [
    '## Targets missed: where the time goes',
    '',
    `Written by hand from \`--cpu-prof\` profiles and experiments when the code they describe changed (${NOTES_DIR}/*.md,`,
    'included here as they are): their figures are from those sessions, not from this run; the tables above',
    'say which targets this run met.',
    '',
  ];
  for (const note of notes) lines.push(...note.trimEnd().split('\n').map((l) => l.replace(/^(#{1,4}) /, (_, h: string) => `${'#'.repeat(h.length + 2)} `)), '');
  return lines;
}

export function renderReport(input: ReportInput, notes: readonly string[] = []): string {
  const failed = input.results.filter((r) => r.error !== undefined);
  const lines = [
    '# Benchmarks',
    '',
    `Generated by \`npm run bench\` (bench/run.ts) on ${input.loadStart.at.toISOString().slice(0, 10)}${input.quick ? ', **quick run**' : ''}.`,
    'Every figure is printed beside its reference measured in the same run, with their ratio. Regenerate with',
    '`npm run bench` (writes this file and `docs/bench/*.svg`); `npm run -s bench -- --json` prints the same figures as JSON lines.',
    '',
    ...machineSection(input),
    ...methodSection(input),
    ...curveSection('size', input),
    ...curveSection('writers', input),
    ...latencySection(input),
    ...figuresSection(input),
    ...notesSection(notes),
  ];
  if (failed.length > 0) lines.push(`**${failed.length} scenario(s) failed in this run:** ${failed.map((r) => r.name).join(', ')}.`, '');
  return `${lines.join('\n').trimEnd()}\n`;
}

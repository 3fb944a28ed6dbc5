/**
 * Benchmark entry point: `node dist/bench/run.js [--json] [--quick] [--only <substring>] [--report]`.
 *
 * Runs every scenario registered in bench/scenarios.ts whose name contains the
 * `--only` substring. With `--json`, stdout holds exactly one JSON object per
 * metric and line, printed as each scenario finishes; otherwise an aligned table
 * follows the machine info at the end. Progress and errors go to stderr. A
 * failing scenario is reported and the run continues; the exit code is then 1.
 *
 * A full run (no `--quick`, no `--only`) also writes BENCHMARKS.md at the
 * repository root and its charts under docs/bench/ (bench/report.ts); `--report`
 * asks for them after any run.
 */
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { otherRunnableThreads, parseArgs, planFor, printMachineInfo, report, type Metric } from './harness.js';
import { loadSample, machineInfo } from './machine.js';
import { writeReport, type ScenarioResult } from './report.js';
import { scenarios } from './scenarios.js';

async function main(): Promise<void> {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err: unknown) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 2;
    return;
  }
  const only = opts.only;
  const selected = only === null ? scenarios : scenarios.filter((s) => s.name.includes(only));
  if (selected.length === 0) {
    process.stderr.write(`No scenario matches --only ${String(only)}; known: ${scenarios.map((s) => s.name).join(', ')}\n`);
    process.exitCode = 2;
    return;
  }
  const loadStart = loadSample();
  if (!opts.json) printMachineInfo();
  const busy = await otherRunnableThreads();
  if (busy >= 1) {
    process.stderr.write(
      `warning: ${busy} other thread(s) runnable on ${cpus().length} cores; cross-thread figures will be unreliable\n`,
    );
  }
  const all: Metric[] = [];
  const results: ScenarioResult[] = [];
  for (const scenario of selected) {
    const started = performance.now();
    if (!opts.json) process.stderr.write(`running ${scenario.name} ...`);
    try {
      const metrics = await scenario.run(opts);
      results.push({ name: scenario.name, metrics, seconds: (performance.now() - started) / 1e3 });
      if (opts.json) report(metrics, opts);
      else all.push(...metrics);
      if (!opts.json) process.stderr.write(` ${((performance.now() - started) / 1e3).toFixed(1)} s\n`);
    } catch (err: unknown) {
      if (!opts.json) process.stderr.write('\n');
      const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
      results.push({ name: scenario.name, metrics: [], seconds: (performance.now() - started) / 1e3, error: message });
      process.stderr.write(`scenario ${scenario.name} failed: ${message}\n`);
      process.exitCode = 1;
    }
  }
  if (!opts.json) report(all, opts);
  const loadEnd = loadSample();
  process.stderr.write(
    `finished in ${((loadEnd.at.getTime() - loadStart.at.getTime()) / 1e3).toFixed(1)} s; load average ${loadStart.loadavg[0].toFixed(2)} at start, ${loadEnd.loadavg[0].toFixed(2)} at end\n`,
  );
  if (opts.report || (!opts.quick && only === null)) {
    const root = fileURLToPath(new URL('../../', import.meta.url));
    const paths = writeReport(root, {
      machine: machineInfo(),
      loadStart,
      loadEnd,
      quick: opts.quick,
      plan: planFor(opts),
      argv: process.argv.slice(2),
      results,
    });
    process.stderr.write(`wrote ${paths.map((p) => p.slice(root.length)).join(', ')}\n`);
  }
}

await main();

/**
 * `urb record` of a whole process tree (issue 14) against the same application unrecorded, in the
 * same run, alternating sessions.
 *
 * | metric                    | ours                                                                  | reference              |
 * | ------------------------- | --------------------------------------------------------------------- | ---------------------- |
 * | record_tree_overhead_rps  | keep-alive GETs/s served by a cluster of 2 worker processes (bench/tree-server.ts) started by `urb record` (default instrumentation: every request is an event in the file ring urb drains), load from this process (8 in flight), after a warm-up; median pair ratio | record_tree_plain_rps: the same application started directly |
 * | record_tree_app_cpu       | CPU time (utime + stime from /proc) of the whole recorded tree (urb, primary, workers) over the timed part, divided by this process's own CPU time over it (the load generator's: per request, both move alike with the machine's other work, so the quotient is steadier than a throughput); median pair ratio; informational, no target (Linux) | record_tree_plain_app_cpu: the same for the tree started directly (primary, workers) |
 */
import http from 'node:http';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nativeAddonAvailable } from '../src/node/native.js';
import { descendantPids } from '../src/node/process-tree.js';
import { metric, planFor, type Scenario } from './harness.js';
import { pairedFigures } from './integrations.js';

const CONCURRENCY = 8;
const WARMUP_MS = 300;
const APP = fileURLToPath(new URL('./tree-server.js', import.meta.url));
const URB = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

/** A free TCP port (the cluster's workers must share one known port). */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** Requests completed in `ms` with CONCURRENCY keep-alive requests in flight. */
async function load(port: number, ms: number): Promise<number> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  let requests = 0;
  const deadline = performance.now() + ms;
  const one = (): Promise<void> =>
    new Promise((resolve, reject) => {
      http.get({ host: '127.0.0.1', port, path: '/item/42', agent }, (res) => res.resume().on('end', resolve).on('error', reject)).on('error', reject);
    });
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < deadline) {
        await one();
        requests++;
      }
    }),
  );
  agent.destroy();
  return requests;
}

/**
 * CPU time used so far by the processes `pids` (every thread of each, utime + stime of
 * /proc/PID/stat, in clock ticks), or null where /proc cannot be read. A process gone meanwhile
 * makes it null too: its time would be missing from the sum.
 */
function cpuTicks(pids: readonly (number | 'self')[]): number | null {
  let sum = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
      // After "pid (comm) ": state is field 3, utime field 14, stime field 15.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      sum += Number(fields[11]) + Number(fields[12]);
    } catch {
      return null;
    }
  }
  return Number.isFinite(sum) ? sum : null;
}

/** One session's figures: requests/s, and the application's CPU time over the load generator's (null without /proc). */
interface SessionFigures {
  readonly rps: number;
  readonly appCpu: number | null;
}

/** One session: start the application (recorded or not), measure requests/s and CPU, stop it. */
async function session(recorded: boolean, durationMs: number, dir: string): Promise<SessionFigures> {
  const port = await freePort();
  const args = recorded ? [URB, 'record', '-o', join(dir, 'tree.urb'), '--', process.execPath, APP] : [APP];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, TREE_PORT: String(port) } });
  const exited = new Promise((r) => child.once('exit', r));
  try {
    await new Promise<void>((resolve, reject) => {
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (s: string) => {
        out += s;
        if (/listening \d+/.test(out)) resolve();
      });
      child.once('exit', () => reject(new Error(`the application exited before listening (${recorded ? 'recorded' : 'plain'})`)));
    });
    await load(port, WARMUP_MS);
    // The whole tree (urb, the primary, its workers: all listen by now), and this process, which
    // only generates the load while the timed part runs.
    const tree = [child.pid as number, ...descendantPids(child.pid as number)];
    const app0 = cpuTicks(tree);
    const load0 = cpuTicks(['self']);
    const t0 = performance.now();
    const requests = await load(port, durationMs);
    const elapsed = performance.now() - t0;
    const app1 = cpuTicks(tree);
    const load1 = cpuTicks(['self']);
    const ok = app0 !== null && app1 !== null && load0 !== null && load1 !== null && load1 > load0;
    return { rps: (requests * 1000) / elapsed, appCpu: ok ? (app1 - app0) / (load1 - load0) : null };
  } finally {
    child.kill('SIGTERM'); // urb forwards it to the application, then finishes the file
    await exited;
  }
}

export const recordTreeScenario: Scenario = {
  name: 'record_tree',
  async run(opts) {
    if (!nativeAddonAvailable()) throw new Error('record_tree needs the native addon (file rings)');
    const plan = planFor(opts);
    const dir = mkdtempSync(join(tmpdir(), 'urb-bench-tree-'));
    try {
      const plain: SessionFigures[] = [];
      const recorded: SessionFigures[] = [];
      await session(true, plan.durationMs, dir); // untimed: warms the file cache and the code
      for (let i = 0; i < plan.reps; i++) {
        if (i % 2 === 0) {
          plain.push(await session(false, plan.durationMs, dir));
          recorded.push(await session(true, plan.durationMs, dir));
        } else {
          recorded.push(await session(true, plan.durationMs, dir));
          plain.push(await session(false, plan.durationMs, dir));
        }
      }
      const rps = pairedFigures(
        plain.map((s) => s.rps),
        recorded.map((s) => s.rps),
      );
      const metrics = [metric('record_tree_overhead_rps', rps.value, 'req/s', { name: 'record_tree_plain_rps', value: rps.ref })];
      const plainCpu = plain.map((s) => s.appCpu);
      const recordedCpu = recorded.map((s) => s.appCpu);
      if (!plainCpu.includes(null) && !recordedCpu.includes(null)) {
        const cpu = pairedFigures(plainCpu as number[], recordedCpu as number[]);
        metrics.push(metric('record_tree_app_cpu', cpu.value, 'x load CPU', { name: 'record_tree_plain_app_cpu', value: cpu.ref }));
      }
      return metrics;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};

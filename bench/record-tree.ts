/**
 * `urb record` of a whole process tree (issue 14) against the same application unrecorded, in the
 * same run: rounds of a fresh plain tree and a fresh recorded tree running side by side, loaded in
 * turn in short alternating windows.
 *
 * | metric                    | ours                                                                  | reference              |
 * | ------------------------- | --------------------------------------------------------------------- | ---------------------- |
 * | record_tree_overhead_rps  | keep-alive GETs/s served by a cluster of 2 worker processes (bench/tree-server.ts) started by `urb record` (default instrumentation: every request is an event in the file ring urb drains), load from this process (8 in flight), after a warm-up; median ratio of the pairs of adjacent windows | record_tree_plain_rps: the same application started directly |
 * | record_tree_app_cpu       | CPU time (utime + stime from /proc) of the whole recorded tree (urb, primary, workers) over the timed part, divided by this process's own CPU time over it (the load generator's: per request, both move alike with the machine's other work, so the quotient is steadier than a throughput), summed over a round's windows; median ratio of the rounds; informational, no target (Linux) | record_tree_plain_app_cpu: the same for the tree started directly (primary, workers) |
 */
import http from 'node:http';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nativeAddonAvailable } from '../src/node/native.js';
import { descendantPids, procStat } from '../src/node/process-tree.js';
import { metric, planFor, type Scenario } from './harness.js';
import { pairedFigures } from './integrations.js';

const CONCURRENCY = 8;
/** Load on each fresh tree before its windows: the throughput of a fresh cluster climbs for about a second (the JIT; slower in a recorded one), and 300 ms left that climb inside the windows. */
const WARMUP_MS = 1500;
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
    const stat = procStat(pid);
    if (stat === undefined) return null;
    sum += Number(stat.fields[11]) + Number(stat.fields[12]); // utime, stime
  }
  return Number.isFinite(sum) ? sum : null;
}

/** A running application tree: the cluster, started by `urb record` or directly. */
interface Tree {
  readonly port: number;
  /** Its processes (urb, the primary, the workers), once all listen. */
  readonly pids: readonly number[];
  stop(): Promise<void>;
}

/** Start the application (recorded into `file`, or not) and wait until its workers listen. */
async function startTree(recorded: boolean, file: string): Promise<Tree> {
  const port = await freePort();
  const args = recorded ? [URB, 'record', '-o', file, '--', process.execPath, APP] : [APP];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, TREE_PORT: String(port) } });
  const exited = new Promise((r) => child.once('exit', r));
  const stop = async (): Promise<void> => {
    child.kill('SIGTERM'); // urb forwards it to the application, then finishes the file
    await exited;
  };
  try {
    await new Promise<void>((resolve, reject) => {
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (s: string) => {
        out += s;
        if (/listening \d+/.test(out)) resolve();
      });
      child.once('exit', () => reject(new Error(`the application exited before listening (${recorded ? 'recorded' : 'plain'})`)));
    });
  } catch (e) {
    await stop();
    throw e;
  }
  return { port, pids: [child.pid as number, ...descendantPids(child.pid as number)], stop };
}

/** One timed window of load on a tree: its requests/s, and its CPU ticks and this process's over the window (null without /proc). */
interface Window {
  readonly rps: number;
  readonly appTicks: number | null;
  readonly loadTicks: number | null;
}

async function timedWindow(tree: Tree, ms: number): Promise<Window> {
  const app0 = cpuTicks(tree.pids);
  const load0 = cpuTicks(['self']);
  const t0 = performance.now();
  const requests = await load(tree.port, ms);
  const elapsed = performance.now() - t0;
  const app1 = cpuTicks(tree.pids);
  const load1 = cpuTicks(['self']);
  return {
    rps: (requests * 1000) / elapsed,
    appTicks: app0 === null || app1 === null ? null : app1 - app0,
    loadTicks: load0 === null || load1 === null ? null : load1 - load0,
  };
}

/** The tree's CPU over the load generator's, summed over `windows`; null without /proc. */
function appCpu(windows: readonly Window[]): number | null {
  let app = 0;
  let load = 0;
  for (const w of windows) {
    if (w.appTicks === null || w.loadTicks === null) return null;
    app += w.appTicks;
    load += w.loadTicks;
  }
  return load > 0 ? app / load : null;
}

/** Windows per round and tree (alternating between the two trees). */
const WINDOWS = 6;

export const recordTreeScenario: Scenario = {
  name: 'record_tree',
  async run(opts) {
    if (!nativeAddonAvailable()) throw new Error('record_tree needs the native addon (file rings)');
    const plan = planFor(opts);
    const dir = mkdtempSync(join(tmpdir(), 'urb-bench-tree-'));
    try {
      // Rounds of a fresh pair of trees (a plain one and a recorded one, both running), each
      // measured in WINDOWS short windows alternating between them: a pair of windows is a
      // fraction of a second apart, so the machine's other work (which moved a ratio of sessions
      // a few seconds apart from 0.7 to 1.1: bench/notes/record-tree.md) weighs on both alike.
      // Fresh trees per round keep one process's JIT luck from deciding every pair. The idle
      // recorded tree's per-time costs (urb's drain, the samplers' timers) run during the plain
      // windows too: a bias towards the recording of well under 1 % (notes).
      const plainWindows: Window[] = [];
      const recordedWindows: Window[] = [];
      const plainCpu: (number | null)[] = [];
      const recordedCpu: (number | null)[] = [];
      const windowMs = Math.max(250, plan.durationMs / 2); // shorter windows are all noise on a loaded machine (125 ms ones: 1.2k to 10k req/s)
      const rounds = Math.ceil(plan.reps / 2);
      for (let round = 0; round < rounds; round++) {
        const plainTree = await startTree(false, '');
        let recordedTree: Tree | undefined;
        try {
          recordedTree = await startTree(true, join(dir, `tree-${round}.urb`));
          await load(plainTree.port, WARMUP_MS);
          await load(recordedTree.port, WARMUP_MS);
          const p: Window[] = [];
          const r: Window[] = [];
          for (let w = 0; w < WINDOWS; w++) {
            if ((w + round) % 2 === 0) {
              p.push(await timedWindow(plainTree, windowMs));
              r.push(await timedWindow(recordedTree, windowMs));
            } else {
              r.push(await timedWindow(recordedTree, windowMs));
              p.push(await timedWindow(plainTree, windowMs));
            }
          }
          plainWindows.push(...p);
          recordedWindows.push(...r);
          plainCpu.push(appCpu(p));
          recordedCpu.push(appCpu(r));
        } finally {
          await Promise.all([plainTree.stop(), recordedTree?.stop()]);
        }
      }
      const rps = pairedFigures(
        plainWindows.map((w) => w.rps),
        recordedWindows.map((w) => w.rps),
      );
      const metrics = [metric('record_tree_overhead_rps', rps.value, 'req/s', { name: 'record_tree_plain_rps', value: rps.ref })];
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

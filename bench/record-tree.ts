/**
 * `urb record` of a whole process tree (issue 14) against the same application unrecorded, in the
 * same run, alternating sessions.
 *
 * | metric                    | ours                                                                  | reference              |
 * | ------------------------- | --------------------------------------------------------------------- | ---------------------- |
 * | record_tree_overhead_rps  | keep-alive GETs/s served by a cluster of 2 worker processes (bench/tree-server.ts) started by `urb record` (default instrumentation: every request is an event in the file ring urb drains), load from this process (8 in flight), after a warm-up; median pair ratio | record_tree_plain_rps: the same application started directly |
 */
import http from 'node:http';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nativeAddonAvailable } from '../src/node/native.js';
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

/** One session: start the application (recorded or not), measure requests/s, stop it. */
async function session(recorded: boolean, durationMs: number, dir: string): Promise<number> {
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
    const t0 = performance.now();
    const requests = await load(port, durationMs);
    return (requests * 1000) / (performance.now() - t0);
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
      const plain: number[] = [];
      const recorded: number[] = [];
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
      const f = pairedFigures(plain, recorded);
      return [metric('record_tree_overhead_rps', f.value, 'req/s', { name: 'record_tree_plain_rps', value: f.ref })];
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};

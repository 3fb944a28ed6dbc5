/**
 * ringTransport() (issue 16) against pino.transport(), both to pino's own `pino/file` target, each
 * session in a fresh process (bench/ring-transport-app.ts), alternating, medians:
 *
 * | metric                      | ours                                                     | reference                |
 * | --------------------------- | -------------------------------------------------------- | ------------------------ |
 * | ring_transport_lines_ps     | lines/s of `log.info({ 3 fields }, msg)` on the app thread over a burst, with ringTransport (the line into a file ring; the drain process writes the file) | pino_transport_lines_ps: the same with pino.transport() (thread-stream to a worker thread) |
 * | ring_transport_e2e_lines_ps | lines/s from the burst's first log call until its last line is in the file | pino_transport_e2e_lines_ps |
 * | pino_noop_lines_ps          | the same log calls into a destination that does nothing: pino's own cost, the ceiling of ring_transport_lines_ps | pino_transport_lines_ps |
 *
 * Both warm up first (20,000 lines, until they are in the file: the drain process or the worker
 * runs). The ring holds the whole burst (64 MiB per lane, one per-thread lane and one shared: less
 * to set up), so the app-thread figure is the cost of
 * the log call, as thread-stream's figure is while its 4 MiB buffer has room (it blocks when full).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { median, metric, type Scenario } from './harness.js';

interface Session {
  appLinesPs: number;
  e2eLinesPs: number;
  dropped: number;
}

function session(transport: 'ring' | 'pino' | 'noop', n: number, dir: string, k: number): Promise<Session> {
  const log = join(dir, `${transport}-${k}.log`);
  const ring = join('/dev/shm', `urb-bench-transport-${process.pid}-${k}.ring`);
  const cp = spawn(process.execPath, [new URL('./ring-transport-app.js', import.meta.url).pathname, JSON.stringify({ transport, n, log, ring })], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  cp.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
  return new Promise((resolve, reject) => {
    cp.on('close', (code) => {
      for (const f of [log, ring, `${ring}.drain.log`]) {
        try {
          unlinkSync(f);
        } catch {
          // not there
        }
      }
      if (code !== 0) reject(new Error(`${transport} session exited with ${code}`));
      else resolve(JSON.parse(out) as Session);
    });
  });
}

export const ringTransportScenario: Scenario = {
  name: 'ring_transport',
  async run(opts) {
    const n = opts.quick ? 100_000 : 300_000;
    const reps = opts.quick ? 3 : 5;
    const dir = mkdtempSync(join(tmpdir(), 'urb-bench-transport-'));
    const ours: Session[] = [];
    const ref: Session[] = [];
    const noop: Session[] = [];
    try {
      for (let k = 0; k < reps; k++) {
        // Alternate which one runs first.
        if (k % 2 === 0) {
          ours.push(await session('ring', n, dir, k));
          ref.push(await session('pino', n, dir, k));
        } else {
          ref.push(await session('pino', n, dir, k));
          ours.push(await session('ring', n, dir, k));
        }
        noop.push(await session('noop', n, dir, k));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const dropped = ours.reduce((s, r) => s + r.dropped, 0);
    if (dropped > 0) throw new Error(`ringTransport dropped ${dropped} lines: the bench ring must hold the burst`);
    const m = (xs: Session[], f: (s: Session) => number) => median(xs.map(f));
    return [
      metric('ring_transport_lines_ps', m(ours, (s) => s.appLinesPs), 'lines/s', { name: 'pino_transport_lines_ps', value: m(ref, (s) => s.appLinesPs) }),
      metric('ring_transport_e2e_lines_ps', m(ours, (s) => s.e2eLinesPs), 'lines/s', { name: 'pino_transport_e2e_lines_ps', value: m(ref, (s) => s.e2eLinesPs) }),
      metric('pino_noop_lines_ps', m(noop, (s) => s.appLinesPs), 'lines/s', { name: 'pino_transport_lines_ps', value: m(ref, (s) => s.appLinesPs) }),
    ];
  },
};

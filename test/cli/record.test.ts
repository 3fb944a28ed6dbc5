/**
 * `urb record` with real processes: Ctrl-C (SIGINT to urb, and to the whole process group as a
 * terminal sends it), `npm start` (npm's own Node process must not record; the app must), a Node
 * child of the program (must not take the file), a command that is not Node, and an 'exit'
 * handler of the program whose last event still reaches the file.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openTraceFile } from '../../src/node/index.js';
import { APP, URB, run, urb } from './urb-process.js';

const dir = mkdtempSync(join(tmpdir(), 'urb-record-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Names of the events in a trace file, with counts; and whether its writer closed it. */
function summary(path: string): { closed: boolean; warnings: number; events: Map<string, number>; last: string | undefined } {
  const trace = openTraceFile(path);
  try {
    const events = new Map<string, number>();
    let last: string | undefined;
    trace.read((r) => {
      const d = trace.registry!.decode(r);
      const name = d.kind === 'event' ? d.name : d.kind;
      events.set(name, (events.get(name) ?? 0) + 1);
      last = d.kind === 'event' ? `${d.name} ${JSON.stringify(d.fields, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}` : name;
    });
    return { closed: trace.end !== undefined, warnings: trace.warnings.length, events, last };
  } finally {
    trace.close();
  }
}

/** Start `urb record -- node traced-app --forever`, wait for "ready", then send `signal` to urb or its whole group. */
async function interrupted(name: string, signal: NodeJS.Signals, toGroup: boolean): Promise<{ code: number | null; stderr: string; path: string }> {
  const path = join(dir, `${name}.urb`);
  const child = spawn(process.execPath, [URB, 'record', '-o', path, '--flush-ms', '50', '--', process.execPath, APP, '--forever', '--workers', '1', '--jobs', '5'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: toGroup, // its own process group, so that the group can be signalled as a terminal does
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  await new Promise<void>((ok, fail) => {
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      out += s;
      if (out.includes('ready\n')) ok();
    });
    child.once('exit', () => fail(new Error(`urb exited before the program was ready: ${stderr}`)));
  });
  if (toGroup) process.kill(-child.pid!, signal);
  else child.kill(signal);
  const code = await new Promise<number | null>((ok) => child.once('exit', (c) => ok(c)));
  clearTimeout(timer);
  return { code, stderr, path };
}

test('Ctrl-C: SIGINT to urb is forwarded; the program stops and the file is complete and readable', async () => {
  const r = await interrupted('sigint', 'SIGINT', false);
  assert.equal(r.code, 130, r.stderr); // 128 + SIGINT, as the program died of it
  assert.match(r.stderr, /^urb: record: wrote .*sigint\.urb \(.*closed cleanly\)\n$/);
  const s = summary(r.path);
  assert.equal(s.closed, true);
  assert.equal(s.warnings, 0);
  assert.ok((s.events.get('http_request') ?? 0) >= 20, `events: ${[...s.events].join(' ')}`);
});

test('Ctrl-C on a terminal (SIGINT to the whole process group, the program gets it twice) and SIGTERM leave complete files', async () => {
  const [group, term] = await Promise.all([interrupted('group', 'SIGINT', true), interrupted('term', 'SIGTERM', false)]);
  assert.equal(group.code, 130, group.stderr);
  assert.equal(term.code, 143, term.stderr); // 128 + SIGTERM
  for (const r of [group, term]) {
    const s = summary(r.path);
    assert.equal(s.closed, true, r.stderr);
    assert.equal(s.warnings, 0);
    assert.ok((s.events.get('http_request') ?? 0) >= 20);
  }
});

test('urb record -- npm start: npm does not record, the Node program it starts does', async () => {
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'urb-npm-start-test', private: true, scripts: { start: `node ${JSON.stringify(APP)} --requests 10 --jobs 3` } }));
  const path = join(dir, 'npm.urb');
  const r = await urb(['record', '-o', path, '--', 'npm', 'start', '--silent'], { cwd: dir, timeoutMs: 60_000 });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /traced-app: 10 requests, 2 workers done/);
  const s = summary(path);
  assert.equal(s.closed, true);
  assert.equal(s.events.get('http_request'), 10);
  assert.equal(s.events.get('job_start'), 6);
});

test('a Node child process of the program is recorded too; ring options apply; records dropped in a full ring are reported', async () => {
  const path = join(dir, 'fork.urb');
  const r = await urb(['record', '-o', path, '--size', '1k', '--page-size', '256', '--lanes', '2', '--mode', 'discard', '--no-instrument', '--', process.execPath, APP, '--fork-child', '--burst', '3000', '--requests', '5', '--jobs', '2', '--workers', '1']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^child: \{"childHasRing":true\}$/m);
  const s = summary(path);
  assert.equal(s.closed, true);
  const info = await urb(['info', path]);
  assert.match(info.stdout, /^ring: +2 own lane\(s\) \+ 1 shared, 4 pages x 256 B per lane, discard mode$/m);
  // 3000 events into a 1 KiB lane faster than the pipe thread empties it: some are dropped, and said so.
  const stats = JSON.parse((await urb(['stats', path, '--json'])).stdout) as { records: number; lost: number };
  assert.ok(stats.lost > 0, 'records were dropped');
  // Written: 3000 burst events, 5 requests (tick_start, tick_end, http_request) and 1 heap sample,
  // 2 jobs of 6 events and a raw record from the worker. Each is in the file or counted lost.
  assert.equal(stats.records + stats.lost, 3000 + 5 * 3 + 1 + 2 * 6 + 1);
  const lostLines = (await urb(['dump', path, '--event', 'lost'])).stdout.trimEnd().split('\n');
  assert.ok(lostLines.length > 0);
  for (const line of lostLines) assert.match(line, /^ +\d+\.\d{9}  L0  \d+\/0 main  LOST  \d+ records \(dropped\)$/);
});

test("the program's own 'exit' handler still writes into the file; a command that is not Node writes nothing", async () => {
  const path = join(dir, 'exit.urb');
  const r = await urb(['record', '-o', path, '--no-instrument', '--', process.execPath, APP, '--exit-event', '--requests', '3', '--jobs', '1']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(summary(path).last, 'log {"level":"info","msg":"exit 0"}');

  const none = await urb(['record', '-o', join(dir, 'none.urb'), '--', '/bin/sh', '-c', 'exit 0']);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /^urb: record: not recorded: pid \d+ \(.*sh.*\): not a Node\.js process\n/);
  assert.match(none.stderr, /urb: record: no trace was written: \/bin\/sh started no Node.js process that recorded \(is it a Node.js program\?\)\n$/);
  // The program's exit code passes through.
  const failing = await run(process.execPath, [URB, 'record', '-o', join(dir, 'fail.urb'), '--', process.execPath, '-e', 'process.exit(7)']);
  assert.equal(failing.code, 7, failing.stderr);
});

test("urb record instruments Node by default (worker threads, event-loop delay on the program's clock), and not with --no-instrument", async () => {
  const names = async (args: string[]) => {
    const path = join(dir, `instr-${args.length}.urb`);
    const r = await urb(['record', '-o', path, ...args, '--', process.execPath, APP, '--requests', '3', '--jobs', '2', '--workers', '2']);
    assert.equal(r.code, 0, r.stderr);
    return summary(path).events;
  };
  const on = await names([]);
  assert.equal(on.get('node.worker.exit'), 2, JSON.stringify([...on]));
  assert.ok((on.get('node.event_loop') ?? 0) >= 1, 'event-loop delay sampled');
  assert.equal(on.get('job_start'), 4, 'the program\'s own events are there too, once');
  const off = await names(['--no-instrument']);
  assert.equal([...off.keys()].filter((n) => n.startsWith('node.')).length, 0, JSON.stringify([...off]));
});

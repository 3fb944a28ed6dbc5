/**
 * The `urb` executable end to end: record the example program (main thread + 2 worker threads),
 * then dump, stats, info, export (Chrome JSON checked against the Trace Event rules, Perfetto
 * protobuf decoded) and view the recording; and every command's help and one-line errors.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRing, defineEvent, t } from '../../src/index.js';
import { openTraceFile, pipeToFile } from '../../src/node/index.js';
import { PF } from '../../src/export/perfetto.js';
import { FdOutput } from '../../src/cli/output.js';
import { runCli } from '../../src/cli/run.js';
import { checkTraceEvents } from '../export/trace-event-rules.js';
import { decodeTrace } from '../export/perfetto-decode.js';
import { APP, URB, appCounts, urb, type UrbResult } from './urb-process.js';

const REQUESTS = 30;
const JOBS = 20;
const dir = mkdtempSync(join(tmpdir(), 'urb-cli-'));
const file = join(dir, 'app.urb');
const expected = appCounts(REQUESTS, JOBS);
const total = Object.values(expected).reduce((a, b) => a + b, 0) + 2; // + one raw record per worker
let recording: UrbResult;

before(async () => {
  recording = await urb(['record', '-o', file, '--no-instrument', '--', process.execPath, APP, '--requests', String(REQUESTS), '--jobs', String(JOBS)]);
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** The user-facing contract for errors: exit code, one line on stderr, no stack trace. */
function assertOneLineError(r: UrbResult, code: number, pattern: RegExp, args: string[]): void {
  const what = `urb ${args.join(' ')}`;
  assert.equal(r.code, code, `${what}: exit code (stderr: ${r.stderr})`);
  assert.equal(r.stdout, '', what);
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `${what}: one line: ${r.stderr}`);
  assert.match(lines[0]!, pattern, what);
  assert.doesNotMatch(r.stderr, /\n\s+at /, what);
}

test('urb record: the program and its worker threads write into the file, closed cleanly', () => {
  assert.equal(recording.code, 0, recording.stderr);
  assert.match(recording.stdout, new RegExp(`traced-app: ${REQUESTS} requests, 2 workers done`));
  assert.match(recording.stderr, /^urb: record: wrote .*app\.urb \([\d.]+ KiB, closed cleanly\)\n$/);
  const trace = openTraceFile(file);
  try {
    assert.equal(trace.intact, true);
    const s = trace.stats();
    assert.equal(s.records, total);
    assert.equal(s.lost, 0);
    assert.deepEqual(Object.fromEntries(s.types.filter((x) => x.name !== undefined).map((x) => [x.name, x.records])), expected);
    assert.equal(s.types.find((x) => x.type === 7)?.records, 2);
    // Each worker ran its jobs, on a lane of its own while it wrote (a worker that finished early
    // may hand its lane to the next), and the main thread's lane is its alone.
    const jobsOf = new Map<number, number>();
    const mainLanes = new Set<number>();
    trace.read((r) => {
      const d = trace.registry!.decode(r);
      if (d.kind !== 'event') return;
      if (d.name === 'job_start') jobsOf.set(d.fields['worker'] as number, (jobsOf.get(d.fields['worker'] as number) ?? 0) + 1);
      if (d.name === 'http_request') mainLanes.add(d.lane);
    });
    assert.deepEqual([...jobsOf].sort(), [[0, JOBS], [1, JOBS]]);
    assert.equal(mainLanes.size, 1);
    const used = s.lanes.filter((l) => l.records > 0);
    assert.ok(used.length === 2 || used.length === 3, `${used.length} lanes used`);
    assert.equal(used.find((l) => mainLanes.has(l.lane))?.records, expected['http_request']! * 3 + expected['heap']! + expected['log']!);
  } finally {
    trace.close();
  }
});

test('urb dump: one line per record in time order; --event, --lane, --from/--to, --limit, --json', async () => {
  const all = await urb(['dump', file]);
  assert.equal(all.code, 0, all.stderr);
  const lines = all.stdout.trimEnd().split('\n');
  assert.equal(lines.length, total);
  let last = -1;
  for (const line of lines) {
    const m = /^ +(\d+\.\d{9})  L(\d)  (.+)$/.exec(line);
    assert.ok(m, line);
    assert.ok(Number(m[1]) >= last);
    last = Number(m[1]);
  }
  assert.ok(lines.some((l) => /  http_request  method=(GET|POST) status=\d+ durationNs=\d+ url="\/item\/\d+\?x=1"$/.test(l)));
  assert.ok(lines.some((l) => /  type 7  len=13 data=776f726b6572203\d20646f6e65$/.test(l)), 'raw records in hex');

  const json = await urb(['dump', file, '--json', '--event', 'job_start,step']);
  const rows = json.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as { t: number; lane: number; event: string; fields: Record<string, unknown> });
  assert.equal(rows.length, expected['job_start']! + expected['step']!);
  assert.deepEqual(new Set(rows.map((r) => r.event)), new Set(['job_start', 'step']));
  const lane = rows[0]!.lane;
  const one = await urb(['dump', file, '--json', '--event', 'job_start', '--lane', String(lane)]);
  assert.equal(one.stdout.trimEnd().split('\n').length, rows.filter((r) => r.lane === lane && r.event === 'job_start').length);
  const from = rows[10]!.t;
  const to = rows[20]!.t;
  const window = await urb(['dump', file, '--json', '--from', `${from}ns`, '--to', `${to / 1e6}ms`]);
  const inWindow = window.stdout.trimEnd().split('\n').map((l) => (JSON.parse(l) as { t: number }).t);
  assert.ok(inWindow.length >= 11);
  for (const x of inWindow) assert.ok(x >= from && x <= to + 1, `${x} in [${from}, ${to}]`);
  const limited = await urb(['dump', file, '-n', '5']);
  assert.equal(limited.stdout.trimEnd().split('\n').length, 5);
  const wall = await urb(['dump', file, '--wall', '-n', '1']);
  assert.match(wall.stdout, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z  L\d  \S+/);
});

test('urb stats and urb info describe the file', async () => {
  const stats = await urb(['stats', file, '--json']);
  assert.equal(stats.code, 0, stats.stderr);
  const s = JSON.parse(stats.stdout) as { records: number; lanes: { records: number }[]; events: { name: string | null; records: number; ratePerSecond: number }[] };
  assert.equal(s.records, total);
  for (const [name, n] of Object.entries(expected)) assert.equal(s.events.find((e) => e.name === name)?.records, n, name);
  assert.ok(s.events.every((e) => e.ratePerSecond > 0));
  const text = await urb(['stats', file]);
  assert.match(text.stdout, new RegExp(`^.*app\\.urb: ${total} records, .* 0 lost, span [\\d.]+ m?s, [\\d.]+k?/s$`, 'm'));
  // Ids from 4097: the process entry that names the recorded process takes entry 0 (FORMAT.md 12.6).
  assert.match(text.stdout, /^step +4104 +120 /m);

  const info = await urb(['info', file]);
  assert.equal(info.code, 0, info.stderr);
  assert.match(info.stdout, /^kind: +page stream, closed cleanly by its writer$/m);
  assert.match(info.stdout, /^ring: +8 own lane\(s\) \+ 1 shared, 64 pages x 16\.0 KiB per lane, discard mode$/m);
  assert.match(info.stdout, /^name: http_request\nID: 4097\nformat:\n\tfield:enum8 method;\toffset:0;\tsize:1;\tvalues: GET=0 POST=1;$/m);
  const infoJson = JSON.parse((await urb(['info', file, '--json'])).stdout) as { schemas: { name: string }[]; closedCleanly: boolean };
  assert.equal(infoJson.closedCleanly, true);
  assert.deepEqual(infoJson.schemas.map((x) => x.name).sort(), Object.keys(expected).sort());
});

test('urb export --format chrome: valid Trace Event JSON; slices, pairs, counters, instants as the conventions say', async () => {
  const out = join(dir, 'app.json');
  const r = await urb(['export', file, '--format', 'chrome', '-o', out]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '', 'quiet when stderr is not a terminal');
  const doc = JSON.parse(readFileSync(out, 'utf8')) as { traceEvents: { ph: string; name: string; pid: number; tid: number; args?: Record<string, unknown> }[] };
  const { violations, phases } = checkTraceEvents(doc);
  assert.deepEqual(violations, []);
  const e = expected;
  // Rows are the recorded process's threads (identity records), not lanes: the main thread
  // (tid = pid, as the OS numbers it) and the two workers (tid = Node's threadId), named after their script.
  const pids = new Set(doc.traceEvents.map((x) => x.pid));
  assert.equal(pids.size, 1);
  const [pid] = pids as Set<number>;
  assert.ok(pid !== 1 && pid !== process.pid, `the recorded program's pid, not ${pid}`);
  const threads = doc.traceEvents.filter((x) => x.name === 'thread_name').map((x) => [x.tid, x.args?.['name']] as const);
  assert.equal(threads.length, 3, JSON.stringify(threads));
  for (const [tid, name] of threads) assert.equal(name, tid === pid ? 'main' : 'traced-app-worker.js');
  assert.deepEqual(phases, {
    M: 2 + 2 * threads.length, // process name and sort index, and a name and sort index for each thread
    b: e['http_request'],
    e: e['http_request'],
    B: e['tick_start']! + e['job_start']!,
    E: e['tick_end']! + e['job_end']!,
    C: e['heap']! + e['queue_depth']!,
    i: e['step']! + e['log']! + 2,
  });
  // Each thread's slices are its own: the main thread's ticks, each worker's jobs.
  const begins = (tid: number, name: string) => doc.traceEvents.filter((x) => x.ph === 'B' && x.tid === tid && x.name === name).length;
  for (const [tid] of threads) assert.deepEqual([begins(tid, 'tick'), begins(tid, 'job')], tid === pid ? [REQUESTS, 0] : [0, JOBS], `thread ${tid}`);
  // Stdout works too.
  const piped = await urb(['export', file, '-o', '-']);
  assert.deepEqual(checkTraceEvents(JSON.parse(piped.stdout)).phases, phases);
});

test('urb export --format perfetto: a TracePacket stream with the same events', async () => {
  const out = join(dir, 'app.pftrace');
  const r = await urb(['export', file, '-f', 'perfetto', '-o', out]);
  assert.equal(r.code, 0, r.stderr);
  const d = decodeTrace(new Uint8Array(readFileSync(out)));
  const count = (type: number) => d.events.filter((x) => x.type === type).length;
  const e = expected;
  assert.equal(count(PF.TYPE_SLICE_BEGIN), e['http_request']! + e['tick_start']! + e['job_start']!);
  assert.equal(count(PF.TYPE_SLICE_END), e['http_request']! + e['tick_end']! + e['job_end']!);
  assert.equal(count(PF.TYPE_COUNTER), e['heap']! + e['queue_depth']!);
  assert.equal(count(PF.TYPE_INSTANT), e['step']! + e['log']! + 2);
});

test('urb view: one self-contained HTML file with the threads that wrote', async () => {
  const out = join(dir, 'app.html');
  const r = await urb(['view', file, '-o', out, '--title', 'traced app']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  const html = readFileSync(out, 'utf8');
  assert.doesNotMatch(html, /<script[^>]+src=|<link[^>]+stylesheet|https?:\/\//, 'nothing is loaded from elsewhere');
  const data = JSON.parse(/<script type="application\/json" id="urb-data">(.*?)<\/script>/s.exec(html)![1]!) as { records: number; rows: { kind: string }[]; stride: number; title: string };
  assert.deepEqual([data.records, data.stride, data.title], [total, 1, 'traced app']);
  assert.ok(data.rows.filter((r) => r.kind === 'thread').length >= 2, 'the threads (lanes) that wrote, not the empty ones');
});

/** runCli in this process, its stderr lines captured (for argument errors: no process start each). */
async function inProcess(args: string[]): Promise<UrbResult> {
  const lines: string[] = [];
  const code = await runCli(args, { stdout: new FdOutput(1, false), error: (l) => lines.push(`urb: ${l}`), tty: undefined, env: process.env });
  return { code, signal: null, stdout: '', stderr: lines.map((l) => `${l}\n`).join('') };
}

test('every command has --help with an example; bad input is one line and a non-zero exit', async () => {
  const commands = ['record', 'dump', 'stats', 'info', 'export', 'view'];
  const helps = await Promise.all(commands.map((cmd) => urb([cmd, '--help'])));
  commands.forEach((cmd, i) => {
    const r = helps[i]!;
    assert.equal(r.code, 0);
    assert.match(r.stdout, new RegExp(`^Usage: urb ${cmd} `));
    assert.match(r.stdout, /\nExample:\n  urb /);
  });
  const notTrace = join(dir, 'not-a-trace.txt');
  writeFileSync(notTrace, 'hello, I am not a trace file at all, but long enough to have a header\n'.repeat(2));
  // Through the executable: what reaches a user's terminal, stack traces included if any.
  const real: [string[], number, RegExp][] = [
    [['dump', join(dir, 'missing.urb')], 1, /^urb: dump: cannot open .*missing\.urb: no such file or directory$/],
    [['stats', notTrace], 1, /^urb: stats: .*not-a-trace\.txt is not a readable trace file: Not a trace file: magic at byte 0 is 0x[0-9a-f]+, expected 0x54425255 \("URBT"\)$/],
    [['info', dir], 1, /^urb: info: .* is a directory, not a trace file$/],
    [['dump', file, '--bogus'], 2, /^urb: dump: unknown option --bogus \(see urb dump --help\)$/],
    [['record', '--', join(dir, 'no-such-program')], 1, /^urb: record: cannot run .*no-such-program: command not found$/],
    [['frob'], 2, /^urb: unknown command "frob"/],
  ];
  const results = await Promise.all(real.map(([args]) => urb(args)));
  real.forEach(([args, code, pattern], k) => assertOneLineError(results[k]!, code, pattern, args));
  // The same runner in this process, for the rest of the argument checks.
  const more: [string[], number, RegExp][] = [
    [['dump'], 2, /^urb: dump: missing FILE \(a \.urb trace file\) \(see urb dump --help\)$/],
    [['dump', file, '--lane', '9'], 2, /^urb: dump: option --lane: "9" is not a lane of .* \(it has lanes 0 to 8\) \(see urb dump --help\)$/],
    [['dump', file, '--from', 'soon'], 2, /^urb: dump: option --from: expected a time such as 1\.5s, 250ms, 40us or 1200ns, received "soon"/],
    [['dump', file, '--from', '2s', '--to', '1s'], 2, /^urb: dump: option --from \(2s\) is after --to \(1s\)/],
    [['dump', file, '--event', 'nope'], 1, /^urb: dump: no event named "nope" in .* \(it has: http_request, heap, .*\)$/],
    [['export', file, '--format', 'svg'], 2, /^urb: export: option --format: expected chrome or perfetto, received "svg"/],
    [['export', file, '-o', join(dir, 'no', 'such', 'dir.json')], 1, /^urb: export: cannot write .*dir\.json: no such file or directory$/],
    [['view', file, '-o'], 2, /^urb: view: option -o needs a value/],
    [['stats', file, '--json=yes'], 2, /^urb: stats: option --json does not take a value/],
    [['record'], 2, /^urb: record: missing the command to run, e\.g\. urb record -- node app\.js/],
    [['record', '--mode', 'fast', '--', 'node'], 2, /^urb: record: option --mode: expected discard or overwrite, received "fast"/],
    [['record', '--size', '1k', '--page-size', '3000', '--', 'node'], 2, /^urb: record: ring size: pageSize must be/],
    [['record', '-o', join(dir, 'no', 'dir', 'x.urb'), '--', 'node'], 1, /^urb: record: cannot write .*x\.urb: no such file or directory$/],
  ];
  for (const [args, code, pattern] of more) assertOneLineError(await inProcess(args), code, pattern, args);
});

test('urb dump into a pipe that closes early (| head) stops quietly with exit code 0', async () => {
  const big = join(dir, 'big.urb');
  const ring = createRing({ lanes: 1, sharedLanes: 0, pageSize: 65536, pagesPerLane: 64, mode: 'discard' });
  const ev = defineEvent(ring, 'sample', { n: t.u32, label: t.string(32) });
  const w = ring.writer();
  const pipe = pipeToFile(ring, big);
  for (let n = 0; n < 40_000; n++) {
    ev.write(w, { n, label: 'a label long enough to fill lines' });
    if (n % 1000 === 0) pipe.pump();
  }
  pipe.close();
  const r = await new Promise<{ code: number | null; stderr: string; got: number }>((ok) => {
    const child = spawn(process.execPath, [URB, 'dump', big], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let got = 0;
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.stdout.once('data', (b: Buffer) => {
      got = b.length;
      child.stdout.destroy(); // the reader goes away, as head does
    });
    child.once('close', (code) => ok({ code, stderr, got }));
  });
  assert.ok(r.got > 0);
  assert.equal(r.code, 0);
  assert.equal(r.stderr, '');
});

/**
 * Exports of realistic recordings, made as a user makes them (`urb record -- node APP`), checked by
 * the validators of both formats (validate.ts): the example program (main thread, two workers,
 * nested ticks inside requests) and the example service (HTTP server and client, fetch, a worker
 * pool, pino, OpenTelemetry, GC pauses and event-loop intervals, overlapping). Every interval's
 * exported start equals its `startNs`.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openTraceFile } from '../../src/node/index.js';
import { PF } from '../../src/export/perfetto.js';
import { get, text } from './proto-decode.js';
import { APP, urb } from '../cli/urb-process.js';
import { exportViolations, validateExports, type Validated } from './validate.js';

/** How a recorded process names the node it runs on (its argv0). */
const NODE = basename(process.execPath);
const SERVICE = fileURLToPath(new URL('../../examples/service.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'urb-recordings-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function record(name: string, command: string[], env: Record<string, string> = {}): Promise<string> {
  const file = join(dir, `${name}.urb`);
  const r = await urb(['record', '-o', file, '--', process.execPath, ...command], { env: { ...process.env, ...env }, timeoutMs: 60_000 });
  assert.equal(r.code, 0, r.stderr);
  return file;
}

/** Every async begin that carries a startNs starts there (to the ns); returns how many. */
function startsAtStartNs(v: Validated): number {
  let n = 0;
  for (const e of v.chrome.traceEvents) {
    const startNs = (e.args as { startNs?: number } | undefined)?.startNs;
    if (e.ph !== 'b' || typeof startNs !== 'number') continue;
    assert.ok(Math.abs((e.ts as number) * 1000 - startNs) < 0.01, `${String(e.name)}: ts ${String(e.ts)} µs, startNs ${startNs}`);
    n++;
  }
  const begins = v.perfetto.events.filter((e) => e.type === 1 && e.annotations.length > 0);
  assert.ok(begins.length > 0);
  return n;
}

/**
 * Rows are the recorded process and its threads (from the ring's IDENTITY records), not lanes:
 * one process with the program's pid, named by the command that started it (its process entry),
 * the main thread (tid = pid) and each worker (tid = its threadId, named after its script), the
 * same in both formats. Returns the threads' names.
 */
function threadRows(v: Validated, processName: string, workerName: string): string[] {
  const events = v.chrome.traceEvents;
  const pids = new Set(events.map((e) => e.pid));
  assert.equal(pids.size, 1, `one process: ${[...pids].join(', ')}`);
  const [pid] = pids as Set<number>;
  assert.ok(pid !== 1 && pid !== process.pid, `the program's pid, not ${pid}`);
  const named = events.filter((e) => e.name === 'process_name').map((e) => (e.args as { name: string }).name);
  assert.deepEqual(named, [processName]);
  const threads = events.filter((e) => e.name === 'thread_name').map((e) => [e.tid as number, (e.args as { name: string }).name] as const);
  for (const [tid, name] of threads) assert.equal(name, tid === pid ? 'main' : workerName);
  const tracks = [...v.perfetto.tracks.values()];
  assert.deepEqual(tracks.filter((x) => x.process).map((x) => Number(get(x.process!, PF.PROCESS_PID)!.varint)), [pid]);
  assert.deepEqual([...new Set(tracks.filter((x) => x.process).map((x) => text(get(x.process!, PF.PROCESS_NAME))))], [processName]);
  const perfettoThreads = tracks.filter((x) => x.thread).map((x) => `${get(x.thread!, PF.THREAD_PID)!.varint}/${get(x.thread!, PF.THREAD_TID)!.varint} ${text(get(x.thread!, PF.THREAD_NAME))}`);
  assert.deepEqual(perfettoThreads.sort(), threads.map(([tid, name]) => `${pid}/${tid} ${name}`).sort());
  return threads.map(([, name]) => name).sort();
}

/** Pairs of async slices of one process that overlap without nesting (what X events on one thread could not express). */
function crossingPairs(v: Validated): number {
  const spans = v.chrome.traceEvents.filter((e) => e.ph === 'b').map((e) => ({ s: e.ts as number, e: (e.ts as number) + (((e.args as { durationNs?: number }).durationNs ?? 0) / 1000) }));
  spans.sort((a, b) => a.s - b.s);
  let n = 0;
  for (let i = 0; i < spans.length; i++) for (let j = i + 1; j < spans.length && spans[j]!.s < spans[i]!.e; j++) if (spans[j]!.e > spans[i]!.e) n++;
  return n;
}

test('recording of the example program (urb record): Chrome and Perfetto exports need no repair, intervals start at their start', { timeout: 90_000 }, async (t) => {
  const file = await record('app', [APP, '--requests', '40', '--jobs', '30']);
  const trace = openTraceFile(file);
  try {
    const v = validateExports(trace, { processName: 'app.urb' });
    assert.deepEqual(exportViolations(v), []);
    const threads = threadRows(v, `${NODE} traced-app.js --requests 40 --jobs 30`, 'traced-app-worker.js');
    t.diagnostic(`threads ${threads.join(', ')}; phases ${JSON.stringify(v.rules.phases)}; perfetto ${v.perfetto.events.length} events on ${v.perfetto.tracks.size} tracks, ${v.perfetto.slices.length} slices`);
    assert.deepEqual(threads.length, 3, 'main and 2 workers');
    assert.ok((v.rules.phases['B'] ?? 0) >= 40 + 60, 'ticks and jobs are synchronous slices');
    assert.ok((v.rules.phases['b'] ?? 0) >= 40, 'requests are async');
    // The requests are labelled by method and URL.
    assert.ok(v.chrome.traceEvents.some((e) => e.ph === 'b' && /^(GET|POST) \/item\/\d+/.test(String(e.name))));
    assert.ok(v.chrome.traceEvents.some((e) => e.ph === 'i' && /^request \d+ failed$/.test(String(e.name))), 'log lines are instants named by their message');
  } finally {
    trace.close();
  }
});

test('recording of the example service (HTTP, fetch, pool, pino, OpenTelemetry, GC): exports need no repair, every interval starts at its startNs', { timeout: 120_000 }, async (t) => {
  const file = await record('service', [SERVICE], { SERVICE_REQUESTS: '40', SERVICE_CONCURRENCY: '4', SERVICE_WORKERS: '2' });
  const trace = openTraceFile(file);
  try {
    const v = validateExports(trace, { processName: 'service.urb' });
    assert.deepEqual(exportViolations(v), []);
    const placed = startsAtStartNs(v);
    const crossing = crossingPairs(v);
    const cats = new Set(v.chrome.traceEvents.filter((e) => e.ph === 'b').map((e) => e.cat));
    const threads = threadRows(v, `${NODE} service.js`, 'service-worker.js');
    assert.ok(threads.length === 3 && threads.includes('main'), `main and 2 pool workers: ${threads.join(', ')}`);
    t.diagnostic(`threads ${threads.join(', ')}; ${placed} intervals placed at startNs; ${crossing} pairs of intervals overlap without nesting; categories ${[...cats].join(', ')}`);
    for (const c of ['node.http.server', 'node.fetch', 'otel.span', 'node.worker.exit']) assert.ok(cats.has(c), c);
    assert.ok(placed >= 100);
    assert.ok(crossing > 0, 'the recording has overlapping operations (what the async tracks are for)');
    // Span names as slice names, log messages as instant names.
    const spanNames = new Set(v.chrome.traceEvents.filter((e) => e.cat === 'otel.span' && e.ph === 'b').map((e) => e.name));
    assert.ok(spanNames.has('GET /hash/:n') && spanNames.has('hash'), [...spanNames].join(', '));
    assert.ok(!spanNames.has('otel.span'));
    const logs = v.chrome.traceEvents.filter((e) => e.cat === 'pino.log');
    assert.ok(logs.length > 0 && logs.every((e) => e.ph === 'i' && e.name !== 'pino.log'), 'pino lines are instants named by msg');
  } finally {
    trace.close();
  }
});

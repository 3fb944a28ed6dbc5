/**
 * The exports of one application's timeline: processes and threads by who wrote each record (pid,
 * threadId, threadName), intervals at their `startNs` on async tracks, begin/end paired per
 * producer, labels as names, and every export valid for its format (validate.ts), with producer
 * identity (producer-fixtures.ts) and without it (lanes as rows, as in traces written before
 * identity).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { defineEvent, eventRegistry, t } from '../../src/index.js';
import { PF } from '../../src/export/perfetto.js';
import { buildViewData } from '../../src/export/view-data.js';
import type { TimelineSource } from '../../src/export/timeline.js';
import { get, text } from './proto-decode.js';
import { ProducerRing, type Producer } from './producer-fixtures.js';
import { serviceMoment } from './service-moment.js';
import type { TraceEvent } from './trace-event-rules.js';
import { exportViolations, validateExports } from './validate.js';

const named = (events: TraceEvent[], meta: string) =>
  new Map(events.filter((e) => e.ph === 'M' && e.name === meta).map((e) => [`${String(e.pid)}/${String(e.tid)}`, (e.args as { name: string }).name]));

test('threads: one row per (pid, threadId) with its name, under its process, whatever lanes it wrote; valid Chrome and Perfetto', () => {
  const { p } = serviceMoment();
  const v = validateExports(p.traces().threads, { processName: 'moment.urb' });
  assert.deepEqual(exportViolations(v), []);
  const events = v.chrome.traceEvents;
  assert.deepEqual(Object.fromEntries(named(events, 'process_name')), { '4100/0': 'pid 4100', '4200/0': 'cluster worker 1' });
  // The main thread wrote on lanes 0 and 1: one thread (tid = pid, as the OS numbers a main thread).
  assert.deepEqual(Object.fromEntries(named(events, 'thread_name')), { '4100/4100': 'main', '4100/1': 'pool-1', '4100/2': 'pool-2', '4200/4200': 'main' });
  const used = new Set(events.filter((e) => e.ph !== 'M').map((e) => `${String(e.pid)}/${String(e.tid)}`));
  assert.deepEqual([...used].sort(), ['4100/1', '4100/2', '4100/4100', '4200/4200']);
  // Perfetto: the same processes and threads, each thread under its process.
  const d = v.perfetto;
  const tracks = [...d.tracks.values()];
  assert.deepEqual(tracks.filter((x) => x.process).map((x) => [Number(get(x.process!, PF.PROCESS_PID)!.varint), text(get(x.process!, PF.PROCESS_NAME))]).sort(), [[4100, 'pid 4100'], [4200, 'cluster worker 1']]);
  assert.deepEqual(tracks.filter((x) => x.thread).map((x) => `${get(x.thread!, PF.THREAD_PID)!.varint}/${get(x.thread!, PF.THREAD_TID)!.varint} ${text(get(x.thread!, PF.THREAD_NAME))}`).sort(), ['4100/1 pool-1', '4100/2 pool-2', '4100/4100 main', '4200/4200 main']);
});

test('threads: begin/end pairs match their producer on a shared lane (a lane pairs one worker\'s start with another\'s end)', () => {
  const { p } = serviceMoment();
  const { threads, lanes } = p.traces();
  const pairs = (source: TimelineSource) => {
    const events = validateExports(source).chrome.traceEvents.filter((e) => e.name === 'job' && (e.ph === 'B' || e.ph === 'E'));
    const open = new Map<string, TraceEvent[]>();
    const out: [number, number][] = [];
    for (const e of events) {
      const key = `${String(e.pid)}/${String(e.tid)}`;
      if (!open.has(key)) open.set(key, []);
      if (e.ph === 'B') open.get(key)!.push(e);
      else out.push([(open.get(key)!.pop()!.args as { worker: number }).worker, (e.args as { worker: number }).worker]);
    }
    return out;
  };
  const byThread = pairs(threads);
  assert.equal(byThread.length, 3);
  for (const [begun, ended] of byThread) assert.equal(begun, ended, `job of worker ${begun} ended by worker ${ended}`);
  // The same records as lanes: the shared lane nests pool-2's job inside pool-1's, wrongly paired.
  assert.ok(pairs(lanes).some(([b, e]) => b !== e), 'on a lane the pairs cross producers');
});

test('threads: an interval starts at its startNs exactly (GC written late, spans, requests), on async tracks, named by its content', () => {
  const { p, starts } = serviceMoment();
  const { threads, lanes } = p.traces();
  for (const source of [threads, lanes] as TimelineSource[]) {
    const v = validateExports(source);
    assert.deepEqual(exportViolations(v), []);
    const begins = v.chrome.traceEvents.filter((e) => e.ph === 'b');
    const startOf = (name: string) => begins.find((e) => e.name === name)!.ts as number;
    // ts is µs with three decimals: exactly startNs / 1000.
    assert.equal(startOf('GET /items/1'), starts.a0 / 1000);
    assert.equal(startOf('POST /items/2'), starts.b0 / 1000);
    assert.equal(startOf('node.gc'), starts.gc0 / 1000);
    assert.equal(startOf('GET /items/:id'), starts.span / 1000);
    assert.equal(startOf('GET /health'), starts.c0 / 1000);
    assert.equal(startOf('node.worker.exit'), starts.workerStart / 1000);
    for (const b of begins) assert.equal(b.ts as number, (b.args as { startNs: number }).startNs / 1000, String(b.name));
    assert.deepEqual(new Set(begins.map((e) => e.cat)), new Set(['node.http.server', 'node.gc', 'otel.span', 'node.worker.exit']));
    // The two requests overlap: two async ids (rows); a log line is an instant named by its message.
    const reqIds = new Set(begins.filter((e) => e.cat === 'node.http.server' && e.pid === begins[0]!.pid).map((e) => e.id));
    assert.ok(reqIds.size >= 2);
    const log = v.chrome.traceEvents.find((e) => e.cat === 'pino.log')!;
    assert.deepEqual([log.ph, log.name], ['i', 'request done']);
    // Perfetto: the same starts in ns, on async tracks under the thread.
    for (const [name, ns] of [['GET /items/1', starts.a0], ['node.gc', starts.gc0], ['GET /items/:id', starts.span]] as const) {
      const begin = v.perfetto.events.find((e) => e.type === PF.TYPE_SLICE_BEGIN && e.name === name)!;
      assert.equal(begin.ts, ns);
      const track = v.perfetto.tracks.get(begin.track)!;
      assert.equal(track.thread, undefined, 'not the thread track');
      let up = v.perfetto.tracks.get(track.parent!)!;
      while (up.process === undefined) up = v.perfetto.tracks.get(up.parent!)!;
      assert.equal(get(up.process, PF.PROCESS_PID)?.varint, source === lanes ? 1n : 4100n, 'under its process');
    }
    // The two requests overlap: two tracks of the same name, the second under the first.
    const pid = source === lanes ? 1n : 4100n;
    const tracks = [...v.perfetto.tracks.values()];
    const named = tracks.filter((x) => /^node\.http\.server \((main|lane 0)\)$/.test(x.name ?? ''));
    const first = named.filter((x) => get(v.perfetto.tracks.get(x.parent!)?.process ?? [], PF.PROCESS_PID)?.varint === pid);
    assert.equal(first.length, 1);
    assert.deepEqual(named.filter((x) => x.parent === first[0]!.uuid).length, 1, 'the track of the second request is under the first');
  }
});

test('threads: without identity (traces written before it) rows are lanes, honestly named, under one stand-in process', () => {
  const { p } = serviceMoment();
  const v = validateExports(p.traces().lanes, { processName: 'moment.urb' });
  assert.deepEqual(exportViolations(v), []);
  assert.deepEqual(Object.fromEntries(named(v.chrome.traceEvents, 'process_name')), { '1/0': 'moment.urb' });
  assert.deepEqual([...named(v.chrome.traceEvents, 'thread_name').values()].sort(), ['lane 0', 'lane 1', 'lane 2', 'lane 3 (shared)']);
});

test('view data: rows by process and thread, async rows under their thread, labels and all fields kept', () => {
  const { p, starts } = serviceMoment();
  const data = buildViewData(p.traces().threads, { title: 'moment' });
  assert.deepEqual(data.processes, [{ pid: 4100, name: 'pid 4100' }, { pid: 4200, name: 'cluster worker 1' }]);
  assert.deepEqual(data.rows.map((r) => `${data.processes[r.process]!.pid} ${r.kind} ${r.name}`), [
    '4100 thread main',
    '4100 async node.gc',
    '4100 async node.http.server',
    '4100 async node.http.server 2',
    '4100 async node.worker.exit',
    '4100 async otel.span',
    '4100 thread pool-1',
    '4100 thread pool-2',
    '4200 thread main',
    '4200 async node.http.server',
  ]);
  const labels = new Set(data.rows.flatMap((r) => r.l.map((i) => data.strings[i]!)));
  for (const l of ['GET /items/1', 'POST /items/2', 'GET /items/:id', 'request done', 'job', 'tick', 'GET /health']) assert.ok(labels.has(l), l);
  const gcRow = data.rows.find((r) => r.name === 'node.gc')!;
  assert.equal(data.originNs + gcRow.t[0]!, starts.gc0);
  const gcFields = JSON.parse(data.strings[gcRow.a[0]!]!) as Record<string, unknown>;
  assert.deepEqual(Object.keys(gcFields), ['startNs', 'durationNs', 'kind', 'flags']);
  // A job's details show its start and end records.
  const pool = data.rows.find((r) => r.name === 'pool-2')!;
  assert.deepEqual(JSON.parse(data.strings[pool.a[0]!]!), { start: { worker: 2, job: 20 }, end: { worker: 2, job: 20 } });
});

interface Step {
  who: number;
  kind: 'aStart' | 'aEnd' | 'bStart' | 'bEnd' | 'interval' | 'note' | 'gauge';
  back: number;
  dur: number;
}

test('exports of random producers, intervals and pairs need no repair in either format, with and without identity (property)', () => {
  const producers: Producer[] = [
    { pid: 10, threadId: 0, threadName: 'main', lane: 0 },
    { pid: 10, threadId: 0, threadName: 'main', lane: 1 },
    { pid: 10, threadId: 3, threadName: 'w3', lane: 'shared' },
    { pid: 10, threadId: 4, threadName: 'w4', lane: 'shared' },
    { pid: 11, threadId: 0, threadName: '', lane: 2 },
  ];
  const step: fc.Arbitrary<Step> = fc.record({
    who: fc.nat(producers.length - 1),
    kind: fc.constantFrom('aStart', 'aEnd', 'bStart', 'bEnd', 'interval', 'note', 'gauge'),
    back: fc.nat(20_000),
    dur: fc.nat(30_000),
  });
  fc.assert(
    fc.property(fc.array(step, { maxLength: 80 }), (steps) => {
      const p = new ProducerRing(3);
      const ring = p.ring;
      const ev = {
        aStart: defineEvent(ring, 'a_start', { n: t.u32 }),
        aEnd: defineEvent(ring, 'a_end', { n: t.u32 }),
        bStart: defineEvent(ring, 'b_begin', { n: t.u32 }),
        bEnd: defineEvent(ring, 'b_end', { n: t.u32 }),
        interval: defineEvent(ring, 'op', { startNs: t.f64, durationNs: t.f64, what: t.string(8) }),
        note: defineEvent(ring, 'note', { msg: t.string(16) }),
        gauge: defineEvent(ring, 'gauge', { value: t.f64 }),
      };
      steps.forEach((s, n) => {
        const w = p.as(producers[s.who]!);
        if (s.kind === 'interval') ev.interval.write(w, { startNs: Math.max(0, ring.now() - s.back), durationNs: s.dur, what: `op${n % 3}` });
        else if (s.kind === 'note') ev.note.write(w, { msg: `n${n}` });
        else if (s.kind === 'gauge') ev.gauge.write(w, { value: n });
        else ev[s.kind].write(w, { n });
      });
      const { threads, lanes } = p.traces();
      assert.deepEqual(exportViolations(validateExports(threads)), []);
      assert.deepEqual(exportViolations(validateExports(lanes)), []);
    }),
    { numRuns: 60 },
  );
});

test('threads: a process named by a later process_name event has that name in both formats', () => {
  const p = new ProducerRing(1);
  const who: Producer = { pid: 77, threadId: 0, threadName: 'main', lane: 0 };
  defineEvent(p.ring, 'note', { msg: t.string(16) }).write(p.as(who), { msg: 'first' });
  defineEvent(p.ring, 'process_name', { name: t.string(32) }).write(p.as(who), { name: 'late name' });
  const v = validateExports(p.traces().threads);
  assert.deepEqual(exportViolations(v), []);
  assert.deepEqual(Object.fromEntries(named(v.chrome.traceEvents, 'process_name')), { '77/0': 'late name' });
  const processes = [...v.perfetto.tracks.values()].filter((x) => x.process);
  assert.deepEqual(processes.map((x) => text(get(x.process!, PF.PROCESS_NAME))), ['late name']);
  // It was described first as "pid 77", then again with its name.
  assert.equal(v.perfetto.packets.filter((q) => get(q, PF.PACKET_TRACK_DESCRIPTOR) !== undefined).length, 3, 'process, thread, process again');
});

test('threads: a process the ring names (process entry, FORMAT.md 12.6) that wrote no record is a named process in both formats and the view, with nothing in it', () => {
  const p = new ProducerRing(1);
  eventRegistry(p.ring).nameProcess(88, 'node primary.js (idle)');
  eventRegistry(p.ring).nameProcess(77, 'node server.js');
  eventRegistry(p.ring).nameProcess(99, 'node late.js');
  const who: Producer = { pid: 77, threadId: 0, threadName: 'main', lane: 0 };
  defineEvent(p.ring, 'note', { msg: t.string(16) }).write(p.as(who), { msg: 'hello' });
  const trace = p.traces().threads;
  const v = validateExports(trace);
  assert.deepEqual(exportViolations(v), []);
  assert.deepEqual(Object.fromEntries(named(v.chrome.traceEvents, 'process_name')), { '77/0': 'node server.js', '88/0': 'node primary.js (idle)', '99/0': 'node late.js' });
  assert.deepEqual(Object.keys(Object.fromEntries(named(v.chrome.traceEvents, 'thread_name'))), ['77/77'], 'threads only where records are');
  assert.deepEqual(v.chrome.traceEvents.filter((e) => e.ph !== 'M').map((e) => e.pid), [77], 'no event of the silent processes');
  const tracks = [...v.perfetto.tracks.values()];
  const processes = tracks.filter((x) => x.process);
  assert.deepEqual(processes.map((x) => text(get(x.process!, PF.PROCESS_NAME))).sort(), ['node late.js', 'node primary.js (idle)', 'node server.js']);
  const silentUuids = new Set(processes.filter((x) => text(get(x.process!, PF.PROCESS_NAME)) !== 'node server.js').map((x) => x.uuid));
  assert.equal(tracks.filter((x) => x.parent !== undefined && silentUuids.has(x.parent)).length, 0, 'no track under a silent process');
  const data = buildViewData(trace, { title: 'silent' });
  assert.deepEqual(data.processes, [{ pid: 77, name: 'node server.js' }, { pid: 88, name: 'node primary.js (idle)' }, { pid: 99, name: 'node late.js' }]);
  assert.deepEqual(data.rows.map((r) => `${data.processes[r.process]!.pid} ${r.kind} ${r.name}`), ['77 thread main']);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { UNKNOWN_IDENTITY, createRing, defineEvent, t } from '../../src/index.js';
import { openTraceFile, pipeToFile } from '../../src/node/index.js';
import { exportChrome } from '../../src/export/chrome.js';
import { MemorySink } from '../../src/export/sink.js';
import { checkTraceEvents, type TraceEvent } from './trace-event-rules.js';
import { OWN_TID, expectedShapes, traceOf, type Op } from './trace-fixtures.js';

interface Doc {
  traceEvents: TraceEvent[];
  otherData: Record<string, unknown>;
  displayTimeUnit: string;
}

function chrome(trace: Parameters<typeof exportChrome>[0]): Doc {
  const sink = new MemorySink();
  exportChrome(trace, sink, { processName: 'test' });
  return JSON.parse(sink.toString()) as Doc;
}

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constantFrom('aStart', 'aEnd', 'bStart', 'bEnd'), lane: fc.nat(2) }) as fc.Arbitrary<Op>,
  fc.record({ kind: fc.constant('req'), lane: fc.nat(2), duration: fc.nat(5000) }) as fc.Arbitrary<Op>,
  fc.record({ kind: fc.constant('gauge'), lane: fc.nat(2), value: fc.double({ noNaN: true, noDefaultInfinity: true }) }) as fc.Arbitrary<Op>,
  fc.record({ kind: fc.constant('note'), lane: fc.nat(2) }) as fc.Arbitrary<Op>,
  fc.record({ kind: fc.constant('raw'), lane: fc.nat(2), length: fc.nat(40) }) as fc.Arbitrary<Op>,
);

test('chrome export: any mix of shapes on any lanes follows the Trace Event rules and the conventions, with and without identity (property)', () => {
  fc.assert(
    fc.property(fc.array(op, { maxLength: 120 }), (ops) => {
      for (const rows of ['lanes', 'one thread'] as const) {
        const doc = chrome(traceOf(ops, 'counter', rows === 'lanes' ? UNKNOWN_IDENTITY : undefined).trace);
        const { violations, phases } = checkTraceEvents(doc);
        assert.deepEqual(violations, []);
        const want = expectedShapes(ops, rows);
        assert.equal(phases['X'] ?? 0, 0, 'intervals are async events, not X');
        assert.equal(phases['b'] ?? 0, want.slices);
        assert.equal(phases['e'] ?? 0, want.slices);
        assert.equal(phases['B'] ?? 0, want.begins);
        assert.equal(phases['E'] ?? 0, want.ends);
        assert.equal(phases['C'] ?? 0, want.counters);
        assert.equal(phases['i'] ?? 0, want.instants);
        const events = doc.traceEvents;
        assert.equal(events.filter((e) => (e.args as { unpaired?: boolean } | undefined)?.unpaired === true).length, want.unpaired);
        assert.equal(events.filter((e) => e.ph === 'E' && (e.args as { unfinished?: boolean }).unfinished === true).length, want.unfinished);
        // Threads are named once each, only when they have events.
        const used = new Set(events.filter((e) => e.ph !== 'M').map((e) => e.tid));
        const named = events.filter((e) => e.name === 'thread_name');
        assert.deepEqual(named.map((e) => e.tid).sort(), [...used].sort());
        if (rows === 'lanes') {
          // Without identity: lanes are threads tid = lane + 1 of pid 1.
          for (const e of events) assert.equal(e.pid, 1);
          for (const e of named) assert.equal((e.args as { name: string }).name, e.tid === 3 ? 'lane 2 (shared)' : `lane ${String((e.tid as number) - 1)}`);
        } else {
          // With identity: this process, and this thread whatever lane it wrote.
          for (const e of events) assert.equal(e.pid, process.pid);
          assert.deepEqual(named.map((e) => [e.tid, (e.args as { name: string }).name]), ops.length === 0 ? [] : [[OWN_TID, 'main']]);
        }
      }
    }),
    { numRuns: 120 },
  );
});

test('chrome export: times in µs of ring ns, an interval without startNs ends at its record, fields as args', () => {
  // Rows: lanes without identity (tid lane + 1), this thread with it (whatever lane it wrote).
  for (const [identity, tids] of [[UNKNOWN_IDENTITY, [1, 1, 2, 3, 2]], [undefined, Array(5).fill(OWN_TID)]] as const) {
    const { trace } = traceOf(
      [
        { kind: 'req', lane: 0, duration: 2500 },
        { kind: 'note', lane: 1 },
        { kind: 'gauge', lane: 2, value: 1.5 },
        { kind: 'raw', lane: 1, length: 3 },
      ],
      'mono',
      identity,
    );
    const times: number[] = [];
    trace.read((r) => times.push(r.timestamp));
    const doc = chrome(trace);
    assert.equal(doc.displayTimeUnit, 'ns');
    assert.equal(doc.otherData['clock'], 'mono');
    assert.equal(doc.otherData['epochWallMs'], trace.epochWallMs);
    const ev = doc.traceEvents.filter((e) => e.ph !== 'M');
    assert.deepEqual(ev.map((e) => [e.name, e.ph, e.tid]), [
      ['req', 'b', tids[0]],
      ['req', 'e', tids[1]],
      ['note', 'i', tids[2]],
      ['gauge', 'C', tids[3]],
      ['type 5', 'i', tids[4]],
    ]);
    const [req, reqEnd, note, gauge, raw] = ev as [TraceEvent, TraceEvent, TraceEvent, TraceEvent, TraceEvent];
    assert.equal(req.ts, (times[0]! - 2500) / 1000);
    assert.equal(reqEnd.ts, times[0]! / 1000);
    assert.deepEqual([req.cat, req.id], ['req', reqEnd.id]);
    assert.deepEqual(req.args, { status: 200, durationNs: 2500, path: '/p1' });
    assert.equal(note.ts, times[1]! / 1000);
    assert.equal(note.s, 't');
    // u64 beyond 2^53 stays exact as a string; bytes as hex; enum by name.
    assert.deepEqual(note.args, { big: String(2n ** 60n + 2n), ok: true, tag: 'y', blob: '0102ff' });
    assert.deepEqual(gauge.args, { value: 1.5 });
    assert.deepEqual(raw.args, { type: 5, bytes: 3, warning: 'record type 5 is below the schema range (4096..8191): a raw record' });
    assert.deepEqual(checkTraceEvents(doc).violations, []);
  }
});

test('chrome export: _start/_end nest per thread (per lane without identity); an end that is not innermost is an unpaired instant; open slices end at the last record', () => {
  const ops: Op[] = [
    { kind: 'aStart', lane: 0 },
    { kind: 'bStart', lane: 0 },
    { kind: 'aEnd', lane: 0 }, // not innermost: unpaired
    { kind: 'bEnd', lane: 0 },
    { kind: 'aStart', lane: 1 },
    { kind: 'note', lane: 1 },
  ];
  // Without identity each lane is a row: the second a opens on lane 1, and each lane closes its own.
  const lanes = chrome(traceOf(ops, 'counter', UNKNOWN_IDENTITY).trace).traceEvents.filter((e) => e.ph !== 'M');
  assert.deepEqual(lanes.map((e) => `${e.ph} ${String(e.name)} ${e.tid}`), ['B a 1', 'B b 1', 'i a_end 1', 'E b 1', 'B a 2', 'i note 2', 'E a 1', 'E a 2']);
  // With identity one thread wrote both lanes: the second a nests in the first, on its one row.
  const T = OWN_TID;
  const thread = chrome(traceOf(ops).trace).traceEvents.filter((e) => e.ph !== 'M');
  assert.deepEqual(thread.map((e) => `${e.ph} ${String(e.name)} ${e.tid}`), [`B a ${T}`, `B b ${T}`, `i a_end ${T}`, `E b ${T}`, `B a ${T}`, `i note ${T}`, `E a ${T}`, `E a ${T}`]);
  for (const ev of [lanes, thread]) {
    assert.deepEqual(ev[2]!.args, { unpaired: true, n: 3 });
    const last = ev[5]!.ts;
    assert.equal(ev[6]!.ts, last);
    assert.equal(ev[7]!.ts, last);
    assert.deepEqual(ev[6]!.args, { unfinished: true });
    assert.deepEqual(ev[7]!.args, { unfinished: true });
  }
});

test('chrome export: records lost before hand-off are red instants with their count', () => {
  const dir = mkdtempSync(join(tmpdir(), 'urb-chrome-'));
  try {
    const ring = createRing({ lanes: 1, sharedLanes: 0, pageSize: 256, pagesPerLane: 4, mode: 'overwrite', clock: 'counter' });
    const tick = defineEvent(ring, 'tick', { n: t.u32, m: t.u32 });
    const w = ring.writer();
    const path = join(dir, 'lost.urb');
    const pipe = pipeToFile(ring, path);
    for (let n = 0; n < 400; n++) tick.write(w, { n, m: 0 }); // laps the 4-page ring before any hand-off
    pipe.close();
    const trace = openTraceFile(path);
    let lost = 0;
    trace.read((r) => (lost += r.kind === 'lost' ? r.lost : 0));
    assert.ok(lost > 0, 'the ring lapped');
    const doc = chrome(trace);
    trace.close();
    const marks = doc.traceEvents.filter((e) => e.name === 'lost');
    assert.ok(marks.length > 0);
    for (const m of marks) assert.deepEqual([m.ph, m.s, m.cat, m.cname, (m.args as { cause: string }).cause], ['i', 't', 'urb.lost', 'terrible', 'overrun']);
    assert.equal(marks.reduce((a, m) => a + (m.args as { lost: number }).lost, 0), lost);
    assert.deepEqual(checkTraceEvents(doc).violations, []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the rules checker finds what it checks (it can fail)', () => {
  const bad = {
    traceEvents: [
      { name: 'a', ph: 'B', pid: 1, tid: 1, ts: 5 },
      { name: 'b', ph: 'E', pid: 1, tid: 1, ts: 4 },
      { name: 'x', ph: 'X', pid: 1, tid: 1, ts: 1, dur: -1 },
      { name: 'c', ph: 'C', pid: 1, tid: 1, ts: 1, args: { v: 'no' } },
      { name: 'q', ph: 'Q', pid: 1, tid: 1, ts: 1 },
      { name: 'e', ph: 'E', pid: 1, tid: 2, ts: 1 },
      { name: 'o', ph: 'B', pid: 1, tid: 3, ts: 1 },
      { ph: 'i', pid: 1.5, tid: 1, ts: Number.NaN, s: 'z' },
      // Slices of one thread that overlap without nesting (X with B/E).
      { name: 'outer', ph: 'B', pid: 2, tid: 1, ts: 10 },
      { name: 'cross', ph: 'X', pid: 2, tid: 1, ts: 15, dur: 10 },
      { name: 'outer', ph: 'E', pid: 2, tid: 1, ts: 20 },
      // Async: an e without its b, a b without a category or id, a name that does not match.
      { name: 'r', cat: 'req', ph: 'e', id: '0x1', pid: 2, tid: 1, ts: 5 },
      { name: 'r', ph: 'b', pid: 2, tid: 1, ts: 5 },
      { name: 'r', cat: 'req', ph: 'b', id: '0x2', pid: 2, tid: 1, ts: 5 },
      { name: 's', cat: 'req', ph: 'e', id: '0x2', pid: 2, tid: 1, ts: 6 },
      { name: 'process_name', ph: 'M', pid: 2, tid: 0, ts: 0, args: { name: 'two' } },
      { name: 'thread_name', ph: 'M', pid: 2, tid: 1, ts: 0, args: { name: 'main' } },
    ],
  };
  assert.deepEqual(checkTraceEvents(bad).violations, [
    'event 1: E at ts 4 before the previous B/E of thread 1/1 (5)',
    'event 1: E "b" closes B "a" on thread 1/1',
    'event 2: X with dur -1',
    'event 3: counter value v is "no", not a number',
    'event 4: unknown phase "Q"',
    'event 5: E "e" on thread 1/2 with no open B',
    'event 7: name is not a string',
    'event 7: pid is not an integer',
    'event 7: ts is not a finite number',
    'event 7: instant scope "z"',
    'event 12: async b without a category',
    'event 12: async b without an id',
    'thread 1/3: 1 B without E (o)',
    'thread 2/1: slice "cross" (event 9, 15..25) starts inside "outer" (event 8, 10..20) and ends after it',
    'async 2/req/"0x1": e "r" (event 11) at ts 5 with no open b',
    'async 2/undefined/undefined: 1 b without e',
    'async 2/req/"0x2": e "s" (event 14) closes b "r" (event 13)',
    'process 1 has no process_name',
    'process 1.5 has no process_name',
    'thread 1/1 has no thread_name',
    'thread 1/2 has no thread_name',
    'thread 1/3 has no thread_name',
    'thread 1.5/1 has no thread_name',
  ]);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UNKNOWN_IDENTITY, bytesSource, createRing, openTrace } from '../../src/index.js';
import { openTraceFile, pipeToFile } from '../../src/node/index.js';
import { clientScriptForPage, renderViewHtml } from '../../src/export/html-view.js';
import { VIEW_BINS, buildViewData, type ViewRow } from '../../src/export/view-data.js';
import { traceOf } from './trace-fixtures.js';

/** Absolute times (ns from origin) of a lane's embedded events. */
function times(l: ViewRow): number[] {
  let at = 0;
  return l.t.map((d) => (at += d));
}

test('view data: past the budget each row keeps 1 in stride events, uniformly; bins stay exact', () => {
  const ring = createRing({ lanes: 2, sharedLanes: 0, pageSize: 65536, pagesPerLane: 16, mode: 'discard', clock: 'counter' });
  // Two threads, one lane each: this (main) thread and a thread 1 (the rows in that order).
  const w0 = ring.writer({ lane: 0 });
  const w1 = ring.writer({ lane: 1, identity: { threadId: 1, name: 'worker 1' } });
  const payload = new Uint8Array(4);
  for (let i = 0; i < 3000; i++) {
    w0.write(1, payload);
    if (i % 3 === 0) w1.write(2, payload);
  }
  const trace = openTrace(bytesSource(ring.snapshot()));
  const laneTimes: number[][] = [[], []];
  trace.read((r) => laneTimes[r.lane]!.push(r.timestamp));
  const data = buildViewData(trace, { maxEvents: 500 });
  assert.deepEqual(data.rows.map((r) => [r.kind, r.name]), [['thread', 'main'], ['thread', 'worker 1']]);
  // 4000 events, budget 500: the stride doubled until the kept events fit.
  assert.equal(data.stride, 8);
  assert.equal(data.records, 4000);
  const origin = laneTimes[0]![0]!;
  assert.equal(data.originNs, origin);
  data.rows.forEach((l, i) => {
    const all = laneTimes[i]!;
    assert.equal(l.records, all.length);
    assert.deepEqual(times(l), all.filter((_, k) => k % 8 === 0).map((t) => t - origin));
    assert.equal(data.rowBins[i]!.reduce((a, b) => a + b, 0), all.length);
  });
  assert.deepEqual(data.types.map((t) => [t.name, t.shape, t.count]), [['type 1', 'raw', 3000], ['type 2', 'raw', 1000]]);
  assert.deepEqual(data.typeBins.map((b) => b.reduce((x, y) => x + y, 0)), [3000, 1000]);
  assert.ok(data.binNs * VIEW_BINS > data.spanNs, 'the bins span the trace');
  assert.ok(data.binNs * VIEW_BINS <= 2 * data.spanNs, 'and no more than twice');
});

test('view data: pairs and durationNs become slices with start and duration; rows are the threads (lanes without identity) that wrote', () => {
  const lanes = { identity: UNKNOWN_IDENTITY, rows: [['thread', 'lane 1', 1], ['async', 'req', 1]], processes: [{ pid: 1, name: 'urb trace' }] };
  const thread = { identity: undefined, rows: [['thread', 'main', -1], ['async', 'req', -1]], processes: [{ pid: process.pid, name: `pid ${process.pid}` }] };
  for (const want of [lanes, thread]) {
    const { trace } = traceOf([
      { kind: 'aStart', lane: 1 },
      { kind: 'req', lane: 1, duration: 3 },
      { kind: 'aEnd', lane: 1 },
      { kind: 'bStart', lane: 1 },
      { kind: 'gauge', lane: 1, value: 1 },
    ], 'counter', want.identity);
    const t: number[] = [];
    trace.read((r) => t.push(r.timestamp));
    const data = buildViewData(trace);
    // Lanes 0 and 2 are empty: no rows for them.
    assert.deepEqual(data.rows.map((l) => [l.kind, l.name, l.lane]), want.rows);
    assert.deepEqual(data.processes, want.processes);
    const [lane, async] = data.rows as [ViewRow, ViewRow];
    assert.equal(lane.records, 4);
    assert.equal(async.records, 1);
    const o = data.originNs;
    const events = (row: ViewRow) => times(row).map((at, i) => [data.types[row.k[i]!]!.name, at, row.d[i], data.strings[row.l[i]!]]);
    // Sorted by start: the a slice (records 0..2), b (unfinished: closed at the last record), the
    // gauge counter; the req interval (3 ticks long, ending at record 1) on the row's async row.
    assert.deepEqual(events(lane), [
      ['a', t[0]! - o, t[2]! - t[0]!, 'a'],
      ['b', t[3]! - o, t[4]! - t[3]!, 'b'],
      ['gauge', t[4]! - o, 0, 'gauge'],
    ]);
    assert.deepEqual(events(async), [['req', t[1]! - 3 - o, 3, 'req']]);
    assert.deepEqual(JSON.parse(data.strings[async.a[0]!]!), { status: 200, durationNs: 3, path: '/p2' });
    assert.deepEqual(data.types.map((x) => [x.name, x.shape, x.count]), [['req', 'interval', 1], ['a', 'slice', 1], ['gauge', 'counter', 1], ['b', 'slice', 0]]);
  }
});

test('view page: the title is escaped in HTML and in the embedded JSON; the script must not end its element', () => {
  const { trace } = traceOf([{ kind: 'note', lane: 0 }]);
  const title = '</script><script>alert(1)</script> & "x"';
  const html = renderViewHtml(buildViewData(trace, { title }), 'console.log(1 < 2);');
  assert.equal(html.split('</script>').length - 1, 2, 'only the two script elements end');
  assert.ok(html.includes('<title>&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;x&quot; - urb view</title>'));
  const json = /<script type="application\/json" id="urb-data">(.*?)<\/script>/s.exec(html)![1]!;
  assert.equal(JSON.parse(json).title, title);
  assert.throws(() => renderViewHtml(buildViewData(trace), 'x = "</script>"'), /would end its element/);
  assert.equal(clientScriptForPage('const a = 1;\nexport {};\n//# sourceMappingURL=view-client.js.map\n'), 'const a = 1;');
});

test('view data: records lost before hand-off are markers with their counts, and exact in the lane bins', () => {
  const dir = mkdtempSync(join(tmpdir(), 'urb-view-lost-'));
  try {
    const ring = createRing({ lanes: 1, sharedLanes: 0, pageSize: 256, pagesPerLane: 4, mode: 'overwrite', clock: 'counter' });
    const w = ring.writer();
    const path = join(dir, 'lost.urb');
    const pipe = pipeToFile(ring, path);
    for (let round = 0; round < 5; round++) {
      for (let n = 0; n < 200; n++) w.write(3, new Uint8Array(8)); // laps the 4-page ring
      pipe.pump();
    }
    pipe.close();
    const trace = openTraceFile(path);
    let lost = 0;
    let records = 0;
    trace.read((r) => (r.kind === 'lost' ? (lost += r.lost) : records++));
    const data = buildViewData(trace);
    trace.close();
    assert.ok(lost > 0);
    assert.equal(data.lostTotal, lost);
    assert.equal(data.records, records);
    assert.equal(data.lost.reduce((a, l) => a + l.n, 0), lost);
    assert.equal(data.lostBins[0]!.reduce((a, b) => a + b, 0), lost);
    assert.equal(data.rows[0]!.lost, lost);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('view data: labels and details of the kept events only, within the text budget (then cut, and said so)', () => {
  const ops = Array.from({ length: 400 }, (_, i) => ({ kind: i % 2 ? 'note' : 'req', lane: i % 3, duration: 10 }) as const);
  const { trace } = traceOf(ops);
  const thinned = buildViewData(trace, { maxEvents: 50 });
  assert.ok(thinned.stride > 1);
  const used = new Set(thinned.rows.flatMap((r) => [...r.l, ...r.a]).filter((i) => i >= 0));
  assert.equal(used.size, thinned.strings.length, 'no string is left that no kept event uses');
  for (const r of thinned.rows) for (const i of r.a) assert.ok(i >= 0 && typeof JSON.parse(thinned.strings[i]!) === 'object');
  assert.equal(thinned.textCut, false);
  const cut = buildViewData(trace, { maxText: 600 });
  assert.equal(cut.textCut, true);
  assert.ok(cut.strings.reduce((n, s) => n + s.length, 0) <= 600);
  assert.ok(cut.rows.some((r) => r.a.includes(-1)), 'past the budget, events have no details');
});

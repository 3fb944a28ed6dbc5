import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import fc from 'fast-check';
import { ConsumerClaimError, createRing, openTrace, bytesSource, type RingReader } from '../src/index.js';
import { PAYLOAD_HEADER, payloadChecksum } from './stress/protocol.js';

const word = (n: number) => new Uint8Array(new Int32Array([n]).buffer);
let lostMarkers = 0;
/** The first word of each data record read (at most `max` records and loss markers); loss markers are counted in `lostMarkers`. */
const numbers = (reader: RingReader, max = Infinity): number[] => {
  const out: number[] = [];
  lostMarkers = 0;
  reader.read((r) => {
    if (r.kind === 'data') out.push(new DataView(r.bytes.buffer, r.offset).getInt32(0, true));
    else lostMarkers++;
  }, max);
  return out;
};

test('ring.clear() empties every lane of a flight recorder: stats count the records as cleared, later readers and snapshots see only what came after', () => {
  const ring = createRing({ lanes: 2, sharedLanes: 1, pageSize: 512, pagesPerLane: 8, mode: 'overwrite' });
  const writers = [ring.writer({ lane: 0 }), ring.writer({ lane: 1 }), ring.writer({ lane: 'shared' })];
  for (let i = 0; i < 90; i++) assert.equal(writers[i % 3]!.write(1, word(i)), true);
  assert.equal(ring.clear(), 90);
  let s = ring.stats();
  assert.equal(s.total.written, 90);
  assert.equal(s.total.cleared, 90);
  assert.equal(s.total.inRing, 0);
  assert.equal(s.total.overrun, 0);
  assert.deepEqual(numbers(ring.iterator()), []);
  assert.equal([...openTrace(bytesSource(ring.snapshot())).records()].filter((r) => r.kind === 'data').length, 0);
  for (let i = 90; i < 99; i++) writers[i % 3]!.write(1, word(i));
  assert.deepEqual(numbers(ring.iterator()).sort((a, b) => a - b), [90, 91, 92, 93, 94, 95, 96, 97, 98]);
  s = ring.stats();
  assert.equal(s.total.inRing, 9);
  assert.equal(s.total.cleared, 90);
  // A consumer made afterwards starts after the cleared records and reports no loss for them.
  const c = ring.consumer();
  const seen: string[] = [];
  c.read((r) => seen.push(r.kind));
  assert.deepEqual(seen, Array(9).fill('data'));
  assert.equal(ring.stats().total.read, 9);
  c.close();
});

test('reader.clear() clears what the consumer has not handed out yet, including a run already taken into its buffer', () => {
  const ring = createRing({ lanes: 1, sharedLanes: 0, pageSize: 256, pagesPerLane: 4, mode: 'discard' });
  const w = ring.writer();
  const c = ring.consumer();
  for (let i = 0; i < 20; i++) w.write(1, word(i));
  assert.deepEqual(numbers(c, 3), [0, 1, 2]); // the rest of the run stays in the consumer's buffer
  assert.equal(c.clear(), 17);
  const s = ring.stats();
  assert.equal(s.total.read, 3);
  assert.equal(s.total.cleared, 17);
  assert.equal(s.total.inRing, 0);
  assert.equal(c.clear(), 0);
  for (let i = 20; i < 25; i++) w.write(1, word(i));
  assert.deepEqual(numbers(c), [20, 21, 22, 23, 24]);
  assert.equal(ring.stats().total.read, 8);
  // The space is free again: a full lap of pages can be written and read without a drop.
  for (let i = 0; i < 30; i++) assert.equal(w.write(1, word(i)), true);
  assert.equal(numbers(c).length, 30);
  assert.equal(ring.stats().total.dropped, 0);
  c.close();
});

test('clear() stops at a reservation still open: it and the records after it stay', () => {
  const ring = createRing({ lanes: 1, sharedLanes: 1, pageSize: 512, pagesPerLane: 4, mode: 'discard' });
  for (const lane of [0, 'shared'] as const) {
    const w = ring.writer({ lane });
    w.write(1, word(1));
    w.write(1, word(2));
    const open = w.reserve(1, 4);
    w.i32[open >> 2] = 3;
    w.write(1, word(4));
    const c = ring.consumer({ lanes: [lane === 0 ? 0 : 1] });
    assert.equal(c.clear(), 2, `lane ${lane}`);
    w.commit(open);
    assert.deepEqual(numbers(c), [3, 4], `lane ${lane}`);
    c.close();
    w.close();
  }
});

test('ring.clear() refuses a lane read by a single consumer elsewhere, and clears a lane read by a consumer group as a member', () => {
  const ring = createRing({ lanes: 2, sharedLanes: 0, pageSize: 256, pagesPerLane: 4, mode: 'discard' });
  const w0 = ring.writer({ lane: 0 });
  const w1 = ring.writer({ lane: 1 });
  const single = ring.consumer({ lanes: [0] });
  const member = ring.groupConsumer({ lanes: [1] });
  for (let i = 0; i < 6; i++) {
    w0.write(1, word(i));
    w1.write(1, word(i));
  }
  assert.throws(() => ring.clear(), (e: unknown) => e instanceof ConsumerClaimError && /lane 0: .*call clear\(\) on that consumer/.test(e.message));
  assert.equal(ring.clear({ lanes: [1] }), 6);
  assert.deepEqual(numbers(member), []);
  w1.write(1, word(100));
  assert.deepEqual(numbers(member), [100]);
  assert.equal(single.clear(), 6);
  assert.equal(ring.stats().total.cleared, 12);
  assert.throws(() => ring.iterator().clear(), TypeError);
  single.close();
  member.close();
});

test('property: a consumer that reads, clears, and writers that write and hold reservations, agree with a queue model', () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.oneof(
          fc.record({ op: fc.constant('write' as const), n: fc.integer({ min: 1, max: 40 }) }),
          fc.record({ op: fc.constant('read' as const), n: fc.integer({ min: 1, max: 30 }) }),
          fc.record({ op: fc.constant('clear' as const) }),
          fc.record({ op: fc.constant('open' as const) }),
          fc.record({ op: fc.constant('commit' as const) }),
        ),
        { maxLength: 60 },
      ),
      fc.constantFrom(0, 'shared' as const),
      (ops, lane) => {
        const ring = createRing({ lanes: 1, sharedLanes: 1, pageSize: 256, pagesPerLane: 8, mode: 'discard' });
        const w = ring.writer({ lane });
        const c = ring.consumer({ lanes: [lane === 0 ? 0 : 1] });
        // The model: the lane's records in order; `open` is the index of the one reservation held open, or -1.
        let queue: { n: number; open: boolean }[] = [];
        let openAt = -1;
        let next = 0;
        let read = 0;
        let cleared = 0;
        let written = 0;
        for (const o of ops) {
          if (o.op === 'write') {
            for (let k = 0; k < o.n; k++) {
              if (w.write(1, word(next))) {
                queue.push({ n: next, open: false });
                written++;
              }
              next++;
            }
          } else if (o.op === 'open' && openAt < 0) {
            const at = w.reserve(1, 4);
            if (at >= 0) {
              w.i32[at >> 2] = next;
              openAt = at;
              queue.push({ n: next++, open: true });
            }
          } else if (o.op === 'commit' && openAt >= 0) {
            w.commit(openAt);
            const rec = queue.find((r) => r.open);
            if (rec !== undefined) rec.open = false;
            written++;
            openAt = -1;
          } else if (o.op === 'read') {
            const got = numbers(c, o.n);
            const ready = queue.findIndex((r) => r.open);
            const avail = ready < 0 ? queue.length : ready;
            // A writer's in-band drop report (a loss marker) takes one of the `n` places.
            assert.deepEqual(got, queue.slice(0, got.length).map((r) => r.n));
            assert.ok(got.length >= Math.min(o.n - lostMarkers, avail), `read ${got.length} of ${avail} ready (max ${o.n}, ${lostMarkers} loss markers)`);
            queue = queue.slice(got.length);
            read += got.length;
          } else if (o.op === 'clear') {
            const ready = queue.findIndex((r) => r.open);
            const avail = ready < 0 ? queue.length : ready;
            assert.equal(c.clear(), avail);
            queue = queue.slice(avail);
            cleared += avail;
          }
        }
        // Drain (stats count a run as read once it is taken into the consumer's buffer).
        const rest = numbers(c);
        const ready = queue.findIndex((r) => r.open);
        assert.deepEqual(rest, queue.slice(0, ready < 0 ? queue.length : ready).map((r) => r.n));
        read += rest.length;
        const s = ring.stats().total;
        assert.equal(s.read, read);
        assert.equal(s.cleared, cleared);
        assert.equal(s.written, written);
        assert.equal(s.inRing, written - read - cleared);
        c.close();
      },
    ),
    { numRuns: 300 },
  );
});

/** Checksummed writer threads (test/fixtures/checksum-writer.ts) on the given lanes; returns a stop function. */
function startWriters(buffer: SharedArrayBuffer, lanes: (number | 'shared')[]) {
  const stop = new SharedArrayBuffer(4);
  const workers = lanes.map(
    (lane, writerId) => new Worker(new URL('./fixtures/checksum-writer.js', import.meta.url), { workerData: { buffer, stop, writerId, lane, maxSize: 64 } }),
  );
  const ready = Promise.all(workers.map((wk) => new Promise((ok) => wk.once('message', ok))));
  const done = workers.map(
    (wk) =>
      new Promise<{ writerId: number; attempted: number; dropped: number }>((ok, fail) => {
        wk.on('message', (m: { type: string }) => {
          if (m.type === 'done') ok(m as never);
        });
        wk.once('error', fail);
      }),
  );
  return {
    ready,
    stop: async () => {
      // Ask the writers to stop; pairs with their Atomics.load of the flag.
      Atomics.store(new Int32Array(stop), 0, 1);
      const r = await Promise.all(done);
      await Promise.all(workers.map((wk) => wk.terminate()));
      return r;
    },
  };
}

/** How long each writer-thread run lasts: 1.5 s in CI; `CLEAR_TEST_MS=120000` for a long local run. */
const RUN_MS = Number(process.env['CLEAR_TEST_MS'] ?? '') || 1500;

for (const mode of ['discard', 'overwrite'] as const) {
  test(`clear() against writer threads (${mode}): no torn record, order kept per writer, and written = read + cleared + overrun exactly`, async () => {
    const ring = createRing({ lanes: 1, sharedLanes: 1, pageSize: 1024, pagesPerLane: 8, mode });
    const writers = startWriters(ring.buffer, [0, 'shared']);
    await writers.ready;
    const c = ring.consumer();
    const lastSeq = [-1, -1];
    let delivered = 0;
    let clearedByCalls = 0;
    let clears = 0;
    const visit = (r: { kind: string; bytes: Uint8Array; offset: number; length: number }) => {
      if (r.kind !== 'data') return;
      const dv = new DataView(r.bytes.buffer, r.bytes.byteOffset);
      const id = dv.getUint32(r.offset, true);
      const seq = dv.getUint32(r.offset + 4, true);
      assert.ok(id === 0 || id === 1, `writer id ${id}`);
      assert.equal(dv.getUint32(r.offset + 8, true), r.length);
      assert.ok(r.length >= PAYLOAD_HEADER);
      assert.equal(dv.getUint32(r.offset + 12, true), payloadChecksum(r.bytes, r.offset, r.length), 'checksum');
      assert.ok(seq > lastSeq[id]!, `writer ${id}: seq ${seq} after ${lastSeq[id]}`);
      lastSeq[id] = seq;
      delivered++;
    };
    const until = performance.now() + RUN_MS;
    for (let round = 0; performance.now() < until; round++) {
      c.read(visit as never, 200);
      if (round % 7 === 3) {
        clearedByCalls += c.clear();
        clears++;
      }
      if (round % 64 === 0) await new Promise((r) => setImmediate(r));
    }
    const reports = await writers.stop();
    while (c.read(visit as never) > 0);
    const s = ring.stats().total;
    const committed = reports.reduce((n, r) => n + r.attempted - r.dropped, 0);
    console.log(`clear vs writers (${mode}, ${RUN_MS} ms): ${clears} clears took ${clearedByCalls} records; ${delivered} read and checked; stats ${JSON.stringify(s)}`);
    assert.ok(clears > 10 && clearedByCalls > 0, `${clears} clears took ${clearedByCalls} records`);
    assert.equal(s.written, committed);
    assert.equal(s.read, delivered);
    assert.equal(s.cleared, clearedByCalls);
    assert.equal(s.inRing, 0);
    assert.equal(s.written, s.read + s.cleared + s.overrun);
    if (mode === 'discard') assert.equal(s.overrun, 0);
    c.close();
  });
}

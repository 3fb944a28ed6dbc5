import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRing, type RingBuffer, type RingReader } from '../src/index.js';
import { P_STATE, PRODUCER_FREE, producerOffset } from '../src/layout.js';

/** Loss a consumer was told of, by cause. */
function drainCounts(ring: RingBuffer, given?: RingReader): { data: number; dropped: number; overrun: number } {
  const reader = given ?? ring.consumer();
  const out = { data: 0, dropped: 0, overrun: 0 };
  for (let i = 0; i < 1000; i++) {
    let n = 0;
    n = reader.read((r) => {
      if (r.kind === 'data') out.data++;
      else if (r.cause === 'dropped') out.dropped += r.lost;
      else out.overrun += r.lost;
    });
    if (n === 0) break;
  }
  if (given === undefined) reader.close();
  return out;
}

for (const lane of [0, 'shared'] as const) {
  const kind = lane === 0 ? 'own' : 'shared';

  test(`issue 13 item 14 (${kind} lane): a closed writer's slot is reused whatever it dropped, and stats stay exact`, () => {
    const ring = createRing({ lanes: 1, sharedLanes: 1, pageSize: 256, pagesPerLane: 4, mode: 'discard', maxProducers: 8, metadataBytes: 0 });
    const reader = ring.consumer();
    let attempted = 0;
    let refused = 0;
    for (let i = 0; i < 200; i++) {
      const w = ring.writer({ lane });
      for (let k = 0; k < 100; k++) {
        attempted++;
        if (!w.write(1, new Uint8Array(8))) refused++;
      }
      w.close();
      if (i % 3 === 0) drainCounts(ring, reader); // free some room now and then
    }
    assert.ok(refused > 0, 'the test must make writers drop');
    const st = ring.stats();
    assert.equal(st.total.dropped, refused, 'every refusal stays counted after its producer slot was freed');
    assert.equal(st.total.written + st.total.dropped, attempted);
    for (let id = 0; id < 8; id++) {
      assert.equal(Atomics.load(ring.core.i32, (producerOffset(ring.geometry, id) + P_STATE) >> 2), PRODUCER_FREE, `slot ${id} is free again`);
    }
  });

  test(`issue 13 item 8b (${kind} lane): drops a writer could not report before close() reach the consumer`, () => {
    const ring = createRing({ lanes: 1, sharedLanes: 1, pageSize: 512, pagesPerLane: 4, mode: 'discard', metadataBytes: 0 });
    const w = ring.writer({ lane });
    let written = 0;
    for (let i = 0; i < 1000; i++) if (w.write(1, new Uint8Array(8))) written++;
    const dropped = 1000 - written;
    assert.ok(dropped > 800, 'the lane filled');
    w.close();
    assert.equal(ring.stats().total.dropped, dropped);
    const seen = drainCounts(ring);
    assert.equal(seen.data, written);
    assert.equal(seen.dropped, dropped, 'the consumer is told of every drop');
    assert.equal(drainCounts(ring).dropped, 0, 'and only once, also to a later consumer');
  });

  test(`issue 13 item 8b (${kind} lane): close() reports pending drops in-band when there is room again`, () => {
    const ring = createRing({ lanes: 1, sharedLanes: 1, pageSize: 512, pagesPerLane: 4, mode: 'discard', metadataBytes: 0 });
    const w = ring.writer({ lane });
    let written = 0;
    for (let i = 0; i < 200; i++) if (w.write(1, new Uint8Array(8))) written++;
    const reader = ring.consumer();
    const first = drainCounts(ring, reader);
    assert.equal(first.data, written);
    assert.equal(first.dropped, 0, 'nothing reported yet: the writer holds its drops');
    w.close();
    const second = drainCounts(ring, reader);
    assert.equal(second.dropped, 200 - written, 'close() wrote them in a LOST record');
    assert.equal(second.data, 0);
  });
}

test('issue 13 item 8b: the 988-drop repro: fill a 1-lane discard ring, close, consumer().read() reports every drop', () => {
  const ring = createRing({ lanes: 1, sharedLanes: 0, mode: 'discard', pageSize: 4096, pagesPerLane: 4, metadataBytes: 0 });
  const w = ring.writer();
  for (let i = 0; i < 2000; i++) w.write(1, new Uint8Array(16));
  const dropped = ring.stats().total.dropped;
  w.close();
  let lost = 0;
  ring.consumer().read((r) => {
    if (r.kind === 'lost') lost += r.lost;
  });
  assert.equal(lost, dropped);
});

test('issue 13 item 14: a reclaimed producer that dropped frees its slot; its drops are reported to the consumer', () => {
  const ring = createRing({ lanes: 0, sharedLanes: 1, pageSize: 256, pagesPerLane: 4, mode: 'discard', maxProducers: 2, metadataBytes: 0 });
  let refused = 0;
  let written = 0;
  let abandoned = 0;
  const told = { data: 0, dropped: 0 };
  for (let i = 0; i < 20; i++) {
    const w = ring.writer({ lane: 'shared' });
    assert.ok(w.reserve(2, 8) >= 0); // left open: the producer "dies" with it
    for (let k = 0; k < 50; k++) (w.write(1, new Uint8Array(8)) ? written++ : refused++);
    abandoned++;
    assert.equal(ring.reclaimProducer(w.producerId), 1);
    const seen = drainCounts(ring);
    told.data += seen.data;
    told.dropped += seen.dropped;
  }
  assert.ok(refused > 0, 'the test must make writers drop');
  assert.deepEqual(told, { data: written, dropped: refused }, 'every record read or reported dropped');
  const st = ring.stats();
  assert.equal(st.total.dropped, refused);
  assert.equal(st.total.abandoned, abandoned);
});

test('issue 13 item 8a: a consumer attaching to a lapped ring first reports the exact count overwritten before it came', () => {
  for (const lane of [0, 'shared'] as const) {
    for (const n of [1, 10, 100, 1000, 3000, 20000]) {
      const ring = createRing({ lanes: 1, sharedLanes: 1, pageSize: 512, pagesPerLane: 4, mode: 'overwrite', metadataBytes: 0 });
      const w = ring.writer({ lane });
      for (let i = 0; i < n; i++) assert.ok(w.write(1, new Uint8Array(8)));
      w.close();
      const seen = drainCounts(ring);
      assert.equal(seen.data + seen.overrun, n, `lane ${lane}, ${n} records: read ${seen.data} + lost ${seen.overrun}`);
      assert.equal(drainCounts(ring).overrun, 0, 'told once: a second consumer is not told again');
      // A consumer that comes after one that read: only what was overwritten since.
      const w2 = ring.writer({ lane });
      for (let i = 0; i < n; i++) w2.write(1, new Uint8Array(8));
      const again = drainCounts(ring);
      assert.equal(again.data + again.overrun, n);
      const st = ring.stats().total;
      assert.equal(st.read + st.overrun, 2 * n);
    }
  }
});

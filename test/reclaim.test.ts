import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { once } from 'node:events';
import { createRing } from '../src/index.js';
import { PG_PREPARER, PG_SEQ, laneOffset, slotOffset } from '../src/layout.js';

for (const lane of [0, 'shared'] as const) {
  test(`a worker terminated mid-reservation (${lane === 0 ? 'own' : 'shared'} lane) blocks readers only until reclaimed`, async () => {
    const ring = createRing({ lanes: 1, sharedLanes: 1, pageSize: 512, pagesPerLane: 4, mode: 'discard', metadataBytes: 0 });
    const worker = new Worker(new URL('./fixtures/stuck-writer.js', import.meta.url), { workerData: { buffer: ring.buffer, lane } });
    const [msg] = (await once(worker, 'message')) as [{ producerId: number }];
    const reader = ring.consumer();
    assert.deepEqual(reader.drain().map((r) => r.type), [1], 'the reader stops at the open reservation');
    await worker.terminate();
    assert.equal(ring.reclaimProducer(msg.producerId), 1, 'one reservation abandoned');
    assert.equal(ring.reclaimProducer(msg.producerId), -1, 'reclaiming twice does nothing');
    assert.deepEqual(reader.drain().map((r) => r.type), [3], 'after reclaim the reader goes on past the hole');
    const st = ring.stats();
    assert.equal(st.total.abandoned, 1);
    assert.equal(st.total.written, 2);
    // The lane is usable again: a new writer takes over and its records are read.
    const w = ring.writer({ lane: lane === 0 ? 0 : 'shared' });
    for (let i = 0; i < 100; i++) assert.ok(w.write(4, new Uint8Array(20)) || true);
    const after = reader.drain();
    assert.ok(after.length > 0 && after.every((r) => r.kind === 'lost' || r.type === 4));
  });
}

test('closing a writer with an open reservation discards it instead of wedging the lane', () => {
  const ring = createRing({ lanes: 1, sharedLanes: 0, pageSize: 512, pagesPerLane: 4, mode: 'discard', metadataBytes: 0 });
  const w = ring.writer();
  w.reserve(1, 8);
  w.write(2, new Uint8Array(1));
  w.close();
  assert.deepEqual(ring.consumer().drain().map((r) => r.type), [2]);
  assert.equal(ring.stats().total.abandoned, 1);
  const again = ring.writer();
  assert.equal(again.lane, 0);
  again.write(3, new Uint8Array(1));
  assert.equal(ring.stats().total.written, 2);
});

test('an own-lane owner that died right after claiming a slot (before naming itself preparer) does not wedge the lane', () => {
  const ring = createRing({ lanes: 1, sharedLanes: 0, pageSize: 512, pagesPerLane: 4, mode: 'overwrite', metadataBytes: 0 });
  const dead = ring.writer();
  dead.write(1, new Uint8Array(100));
  // What preparePage() does first when the owner moves to page 1: claim slot 1, which holds the
  // never-used page 1 - P, with PG_SEQ old -> old + 1. The owner "dies" before its next store.
  const g = ring.geometry;
  const seqIdx = (slotOffset(g, laneOffset(g, 0), 1) + PG_SEQ) >> 2;
  assert.equal(Atomics.compareExchange(ring.core.i32, seqIdx, 1 - g.lanePages, 2 - g.lanePages), 1 - g.lanePages);
  assert.equal(ring.reclaimProducer(dead.producerId), 0);
  const w = ring.writer();
  for (let i = 0; i < 40; i++) w.write(2, new Uint8Array(100)); // 10 pages' worth: through slot 1 many times
  const st = ring.stats();
  assert.equal(st.total.dropped, 0, 'the next owner moves through the slot the dead one had claimed');
  assert.equal(st.total.written, 41);
});

test('an owner that died right after claiming and naming itself preparer of a page to recycle: reclaim counts the old page and pushes the tail before zeroing it', () => {
  const ring = createRing({ lanes: 1, sharedLanes: 0, pageSize: 512, pagesPerLane: 4, mode: 'overwrite', metadataBytes: 0 });
  const g = ring.geometry;
  const dead = ring.writer();
  for (let i = 0; i < 22; i++) dead.write(1, new Uint8Array([i, ...new Array(99).fill(0)])); // 4 records a page: pages 0..5
  const head = ring.stats().lanes[0]?.headPage ?? 0;
  assert.ok(head >= g.lanePages, 'the lane has wrapped');
  // preparePage() for page head + 1 up to its step 5 (claim, then PG_PREPARER), then death: no
  // cumulatives for page old + 1, tail not pushed past page old, page old not zeroed.
  const old = head + 1 - g.lanePages;
  const slot = slotOffset(g, laneOffset(g, 0), head + 1);
  assert.equal(Atomics.compareExchange(ring.core.i32, (slot + PG_SEQ) >> 2, old, old + 1), old);
  Atomics.store(ring.core.i32, (slot + PG_PREPARER) >> 2, dead.producerId + 1);
  assert.equal(ring.reclaimProducer(dead.producerId), 0);
  const got = ring.consumer().drain().filter((r) => r.kind === 'data').map((r) => r.payload[0]);
  const st = ring.stats().lanes[0];
  assert.equal(st?.written, 22, 'the books are exact: page old was counted before it was zeroed');
  assert.equal(got.length + (st?.overrun ?? NaN), 22, 'read + overrun == written');
  assert.deepEqual(got, Array.from({ length: got.length }, (_, i) => 22 - got.length + i), 'the newest records, in order, none missing');
  assert.ok(got.length >= 4 * (g.lanePages - 2), `the pages after old were read (${got.length} records)`);
});

test('producersByTag() finds the producers of a worker by the tag it gave', () => {
  const ring = createRing({ lanes: 2, sharedLanes: 1, metadataBytes: 0 });
  const a = ring.writer({ tag: 77 });
  ring.writer({ tag: 5 });
  const b = ring.writer({ lane: 'shared', tag: 77 });
  assert.deepEqual(ring.producersByTag(77), [a.producerId, b.producerId]);
});

test('mono time agrees between threads to within a few microseconds', async () => {
  const ring = createRing({ lanes: 1, sharedLanes: 0, metadataBytes: 0 });
  const worker = new Worker(new URL('./fixtures/clock-probe.js', import.meta.url), { workerData: { buffer: ring.buffer } });
  await once(worker, 'message');
  let best = Infinity;
  for (let i = 0; i < 200; i++) {
    const before = ring.now();
    worker.postMessage('ping');
    const [theirs] = (await once(worker, 'message')) as [number];
    const after = ring.now();
    assert.ok(theirs >= before - 5_000, `worker time ${theirs} is before the ping was sent (${before})`);
    assert.ok(theirs <= after + 5_000, `worker time ${theirs} is after the reply arrived (${after})`);
    best = Math.min(best, after - before);
  }
  worker.postMessage('stop');
  await once(worker, 'exit');
  assert.ok(best > 0);
});

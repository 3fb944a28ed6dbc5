import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { once } from 'node:events';
import { createRing } from '../src/index.js';

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

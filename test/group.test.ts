import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { ConsumerClaimError, createRing } from '../src/index.js';
import { L_CONSUMER, laneOffset } from '../src/layout.js';

test('a consumer group shares the records: each to exactly one member, none skipped (single thread, interleaved)', () => {
  const ring = createRing({ lanes: 1, sharedLanes: 1, pageSize: 256, pagesPerLane: 8, mode: 'discard' });
  const a = ring.groupConsumer();
  const b = ring.groupConsumer();
  const w0 = ring.writer({ lane: 0 });
  const ws = ring.writer({ lane: 'shared' });
  const got: number[][] = [[], []];
  let next = 0;
  for (let round = 0; round < 200; round++) {
    for (let i = 0; i < 7; i++) {
      const w = i % 2 ? ws : w0;
      assert.equal(w.write(1, new Uint8Array(new Int32Array([next]).buffer)), true);
      next++;
    }
    const r = round % 3 === 0 ? b : a;
    r.read((rec) => got[r === a ? 0 : 1]!.push(new DataView(rec.bytes.buffer, rec.offset).getInt32(0, true)), 5 + (round % 5));
  }
  for (let k = 0; k < 50; k++) (k % 2 ? a : b).read((rec) => got[k % 2 ? 0 : 1]!.push(new DataView(rec.bytes.buffer, rec.offset).getInt32(0, true)));
  const all = [...got[0]!, ...got[1]!].sort((x, y) => x - y);
  assert.deepEqual(all, Array.from({ length: next }, (_, i) => i));
  assert.ok(got[0]!.length > 0 && got[1]!.length > 0, 'both members got work');
  assert.equal(ring.stats().total.read, next);
  a.close();
  b.close();
});

test('a group and a single consumer exclude each other; the last member leaving frees the lane', () => {
  const ring = createRing({ lanes: 1, sharedLanes: 0 });
  const word = () => ring.core.i32[(laneOffset(ring.geometry, 0) + L_CONSUMER) >> 2];
  const a = ring.groupConsumer();
  const b = ring.groupConsumer();
  assert.throws(() => ring.consumer(), ConsumerClaimError);
  a.close();
  assert.throws(() => ring.consumer(), ConsumerClaimError);
  b.close();
  assert.equal(word(), 0);
  const c = ring.consumer();
  assert.throws(() => ring.groupConsumer(), /single consumer/);
  c.close();
});

test('a consumer group of 2 worker threads against a writer thread: every record exactly once', { timeout: 60_000 }, async () => {
  const ring = createRing({ lanes: 1, sharedLanes: 0, pageSize: 512, pagesPerLane: 8, mode: 'discard' });
  const stop = new SharedArrayBuffer(4);
  const members = [0, 1].map(() => new Worker(new URL('./fixtures/group-member.js', import.meta.url), { workerData: { buffer: ring.buffer, stop } }));
  type Done = { type: 'done'; seen: number[]; runs: number };
  const ready = members.map((m) => new Promise<void>((resolve, reject) => (m.once('message', () => resolve()), m.once('error', reject))));
  const done = members.map((m) => new Promise<Done>((resolve, reject) => (m.on('message', (x: Done) => x.type === 'done' && resolve(x)), m.once('error', reject))));
  await Promise.all(ready);
  const total = 100_000;
  const writer = new Worker(new URL('./fixtures/burst-writer.js', import.meta.url), { workerData: { buffer: ring.buffer, total, seed: 3 } });
  await new Promise((resolve, reject) => (writer.once('message', resolve), writer.once('error', reject)));
  Atomics.store(new Int32Array(stop), 0, 1); // publish the stop request; pairs with the members' Atomics.load
  const results = await Promise.all(done);
  const counts = results.map((r) => r.seen.length);
  const all = results.flatMap((r) => r.seen).sort((x, y) => x - y);
  assert.equal(all.length, total, `members read ${counts.join(' + ')}`);
  for (let i = 0; i < total; i++) if (all[i] !== i) assert.fail(`record ${i}: got ${all[i]} (duplicate or gap)`);
  // Each member's own records are in order (a run is taken whole, in lane order).
  for (const r of results) for (let i = 1; i < r.seen.length; i++) assert.ok(r.seen[i]! > r.seen[i - 1]!, 'member order');
  assert.ok(counts.every((c) => c > 0), `both members took work: ${counts.join(' + ')}`);
  const s = ring.stats().total;
  assert.equal(s.read, total);
  assert.equal(s.overrun, 0);
  console.log(`group of 2: ${counts.join(' + ')} records, ${results.map((r) => r.runs).join(' + ')} runs`);
});

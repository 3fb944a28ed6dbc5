import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { once } from 'node:events';
import { createRing } from '../src/index.js';
import { H_SPACE_SEQ, H_SPACE_WAITERS, H_WAKE_SEQ } from '../src/layout.js';
import { readBursts } from './fixtures/bursts.js';

const opts = { lanes: 1, sharedLanes: 0, pageSize: 4096, pagesPerLane: 8, mode: 'discard', metadataBytes: 0 } as const;

test('a writer with nobody waiting never notifies', () => {
  const ring = createRing(opts);
  const w = ring.writer();
  const r = ring.consumer();
  for (let i = 0; i < 1000; i++) {
    w.write(1, new Uint8Array(8));
    r.read(() => {});
  }
  assert.equal(Atomics.load(ring.core.i32, H_WAKE_SEQ >> 2), 0);
});

test('wait() in a worker sleeps until a commit on another thread wakes it', async () => {
  const ring = createRing(opts);
  const worker = new Worker(new URL('./fixtures/wait-reader.js', import.meta.url), { workerData: { buffer: ring.buffer, expect: 3 } });
  await once(worker, 'message');
  const finished = once(worker, 'message'); // listen before writing: the reply may come at any await below
  const w = ring.writer();
  for (let i = 0; i < 3; i++) {
    await new Promise((res) => setTimeout(res, 30));
    w.write(1, new Uint8Array(8));
  }
  const [done] = (await finished) as [{ got: number; timeouts: number; ms: number }];
  assert.equal(done.got, 3);
  assert.equal(done.timeouts, 0, 'every wait was ended by a wakeup, none by its 3 s timeout');
  assert.ok(done.ms < 2000, `took ${done.ms} ms`);
});

test('no lost wakeups: a reader sleeping between bursts always wakes for the next record (stress)', async () => {
  const ring = createRing({ ...opts, pagesPerLane: 4, pageSize: 1024 });
  const total = 30_000;
  const seed = (Math.random() * 2 ** 32) >>> 0;
  const reader = ring.consumer();
  const worker = new Worker(new URL('./fixtures/burst-writer.js', import.meta.url), { workerData: { buffer: ring.buffer, total, seed } });
  const finished = once(worker, 'message'); // listen now: the worker may finish during any await below
  const { got, waits } = await readBursts(reader, total, seed, 60_000);
  await finished;
  assert.equal(got, total);
  assert.ok(waits > 100, `the reader slept only ${waits} times: the race was not exercised`);
});

test('a watermark of N records lets the reader sleep through fewer commits', async () => {
  const ring = createRing(opts);
  const r = ring.consumer();
  const w = ring.writer();
  const writeEvery = (n: number) => {
    let i = 0;
    const t = setInterval(() => {
      w.write(1, new Uint8Array(8));
      if (++i === n) clearInterval(t);
    }, 10);
  };
  let t0 = performance.now();
  writeEvery(3);
  await r.waitAsync({ records: 5, timeoutMs: 400 });
  assert.ok(performance.now() - t0 >= 350, '3 commits do not reach a watermark of 5');
  r.read(() => {});
  t0 = performance.now();
  writeEvery(5);
  assert.ok(await r.waitAsync({ records: 5, timeoutMs: 2000 }));
  assert.ok(performance.now() - t0 < 1000, 'the fifth commit wakes the reader');
});

test('for await over records() yields records as they come and ends on close() or abort', async () => {
  const ring = createRing(opts);
  const w = ring.writer();
  const reader = ring.consumer();
  const seen: number[] = [];
  const loop = (async () => {
    for await (const r of reader) seen.push(r.type);
  })();
  for (let i = 1; i <= 3; i++) {
    await new Promise((res) => setTimeout(res, 10));
    w.write(i, new Uint8Array(1));
  }
  await new Promise((res) => setTimeout(res, 30));
  reader.close();
  await loop;
  assert.deepEqual(seen, [1, 2, 3]);

  const other = ring.consumer();
  const ac = new AbortController();
  const loop2 = (async () => {
    let n = 0;
    for await (const _ of other.records({ signal: ac.signal })) n++;
    return n;
  })();
  setTimeout(() => ac.abort(), 50);
  assert.equal(await loop2, 0);
  assert.throws(() => reader.wait({ records: 0 }), { message: 'Cannot wait: records must be an integer from 1 to 2147483647, received 0' });
});

test('a consumer with no writer waiting for room never notifies', () => {
  const ring = createRing({ ...opts, pagesPerLane: 4, pageSize: 256 });
  const w = ring.writer();
  const r = ring.consumer();
  for (let round = 0; round < 50; round++) {
    // Fill the lane to the brim, then empty it: every take moves the tail, and nobody waits.
    for (let at = w.tryReserve(1, 16); at >= 0; at = w.tryReserve(1, 16)) w.commit(at);
    while (r.read(() => {}) > 0);
  }
  assert.equal(Atomics.load(ring.core.i32, H_SPACE_SEQ >> 2), 0);
  assert.equal(Atomics.load(ring.core.i32, H_SPACE_WAITERS >> 2), 0);
});

for (const shared of [false, true]) {
  test(`reserveWaiting() on a full ${shared ? 'shared' : 'own'} lane sleeps until the consumer takes a page, and nothing is lost`, async () => {
    const ring = createRing({ ...opts, lanes: shared ? 0 : 1, sharedLanes: shared ? 1 : 0, pagesPerLane: 4, pageSize: 256 });
    const i32 = ring.core.i32;
    const total = 3000;
    const reader = ring.consumer();
    const worker = new Worker(new URL('./fixtures/space-writer.js', import.meta.url), { workerData: { buffer: ring.buffer, total, shared } });
    const finished = once(worker, 'message'); // listen now: the worker may finish during any await below
    const seen: number[] = [];
    let lost = 0;
    let slept = 0;
    const deadline = Date.now() + 60_000;
    while (seen.length < total && Date.now() < deadline) {
      // Let the writer fill the lane and fall asleep on it (registered in H_SPACE_WAITERS).
      const until = Date.now() + 50;
      while (Atomics.load(i32, H_SPACE_WAITERS >> 2) === 0 && Date.now() < until) await new Promise((res) => setTimeout(res, 1));
      if (Atomics.load(i32, H_SPACE_WAITERS >> 2) !== 0) slept++;
      reader.read((rec) => {
        if (rec.kind === 'lost') lost += rec.lost;
        else seen.push(new DataView(rec.bytes.buffer, rec.bytes.byteOffset + rec.offset, 4).getInt32(0, true));
      });
    }
    const [done] = (await finished) as [{ gaveUp: number; dropped: number }];
    assert.equal(done.gaveUp, 0, 'no reservation ran out of its 20 s');
    assert.equal(done.dropped, 0);
    assert.equal(lost, 0);
    assert.deepEqual(seen, Array.from({ length: total }, (_, k) => k));
    assert.ok(slept > 10, `the writer was found asleep on the full lane only ${slept} times`);
    // The consumer's takes woke it: the wake sequence moved (a writer that only timed out would leave it 0).
    assert.ok(Atomics.load(i32, H_SPACE_SEQ >> 2) > 0);
    assert.equal(Atomics.load(i32, H_SPACE_WAITERS >> 2), 0);
  });
}

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRing, recordStream, pageStream } from '../src/index.js';
import { toNodeReadable } from '../src/node/index.js';

const opts = { lanes: 1, sharedLanes: 0, pageSize: 512, pagesPerLane: 8, mode: 'discard', metadataBytes: 0 } as const;
const tick = (ms = 5) => new Promise((r) => setTimeout(r, ms));

test('recordStream() delivers records as they are committed and ends on abort', async () => {
  const ring = createRing(opts);
  const w = ring.writer();
  const ac = new AbortController();
  const stream = recordStream(ring.consumer(), { signal: ac.signal });
  const got: number[] = [];
  const reading = (async () => {
    for await (const r of stream as unknown as AsyncIterable<{ type: number }>) got.push(r.type);
  })();
  for (let i = 1; i <= 5; i++) {
    await tick();
    w.write(i, new Uint8Array(4));
  }
  await tick(30);
  ac.abort();
  await reading;
  assert.deepEqual(got, [1, 2, 3, 4, 5]);
});

test('recordStream() only takes from the ring what its consumer asks for (backpressure)', async () => {
  const ring = createRing(opts);
  const w = ring.writer();
  for (let i = 0; i < 100; i++) w.write(1, new Uint8Array(8));
  const stream = recordStream(ring.consumer(), { highWaterMark: 4 });
  const reader = stream.getReader();
  await tick(20);
  // The reader takes one run (at most a page) out of the ring at a time; the stream queues 4.
  const perPage = Math.floor((512 - 48) / 16);
  assert.ok(ring.stats().total.read <= perPage, `took ${ring.stats().total.read} records with nobody consuming`);
  for (let i = 0; i < 40; i++) assert.equal((await reader.read()).done, false);
  await tick(20);
  assert.ok(ring.stats().total.read <= 40 + 4 + perPage, `took ${ring.stats().total.read} records for 40 consumed`);
  assert.ok(ring.stats().total.read < 100, 'the rest stays in the ring');
  await reader.cancel();
});

test('toNodeReadable() is an object-mode Node Readable of records', async () => {
  const ring = createRing(opts);
  const w = ring.writer();
  const consumer = ring.consumer();
  const readable = toNodeReadable(consumer);
  setTimeout(() => {
    for (let i = 0; i < 3; i++) w.write(7, new Uint8Array([i]));
  }, 5);
  const got: number[] = [];
  for await (const r of readable) {
    got.push((r as { payload: Uint8Array }).payload[0] ?? -1);
    if (got.length === 3) break;
  }
  assert.deepEqual(got, [0, 1, 2]);
});

test('pageStream() hands off whole pages as they fill, bytes as in the ring', async () => {
  const ring = createRing(opts);
  const w = ring.writer({ identity: { pid: 1, threadId: 0, name: '' } }); // its IDENTITY record: 16 bytes a page
  for (let i = 0; i < 60; i++) w.write(1, new Uint8Array(24)); // 32 bytes a record: 14 a page
  const pages = pageStream(ring.consumer({ lanes: [0] }), 512).getReader();
  for (let p = 0; p < 4; p++) {
    const { value, done } = await pages.read();
    assert.equal(done, false);
    assert.equal(value?.data.length, 512);
    assert.equal(value?.page, p);
    assert.equal(new DataView(value!.data.buffer).getUint32(0, true), p, 'the page header as in the ring');
  }
  await pages.cancel();
  assert.equal(ring.stats().total.read, 56, 'four full pages of 14 records; the open fifth page stays');
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRing } from '../src/index.js';
import { H_COUNTER } from '../src/layout.js';

test('the counter clock keeps increasing across its 32-bit wrap', () => {
  const ring = createRing({ lanes: 1, sharedLanes: 1, pageSize: 512, pagesPerLane: 4, clock: 'counter', mode: 'discard', metadataBytes: 0 });
  const w = ring.writer();
  const s = ring.writer({ lane: 'shared' });
  const r = ring.consumer();
  const seen: number[] = [];
  const write = (n: number) => {
    for (let i = 0; i < n; i++) {
      (i % 2 === 0 ? w : s).write(1, new Uint8Array(8));
      r.read((rec) => seen.push(rec.timestamp));
    }
  };
  // Move the ring-wide counter towards 2^32 in jumps of less than 2^31 (as billions of records
  // would), writing a few pages after each so page base times follow it; then cross the wrap.
  for (const at of [0x60000000, 0xc0000000, 0xffffff00]) {
    Atomics.store(ring.core.i32, H_COUNTER >> 2, at | 0);
    write(80); // enough for page switches on both lanes (16-byte records, 512-byte pages)
  }
  seen.length = 0;
  write(300);
  assert.equal(seen.length, 300);
  for (let i = 1; i < seen.length; i++) assert.ok((seen[i] as number) > (seen[i - 1] as number), `timestamp ${i} (${seen[i]}) after ${seen[i - 1]}`);
  assert.ok((seen[299] as number) > 2 ** 32, 'unwrapped past 2^32');
});

test('clock none stamps 0 and a user clock is used as given', () => {
  const none = createRing({ lanes: 1, sharedLanes: 0, clock: 'none', metadataBytes: 0 });
  none.writer().write(1, new Uint8Array(1));
  assert.equal(none.consumer().drain()[0]?.timestamp, 0);
  let t = 5;
  const user = createRing({ lanes: 1, sharedLanes: 0, clock: () => t, metadataBytes: 0 });
  const w = user.writer();
  w.write(1, new Uint8Array(1));
  t = 7;
  w.write(1, new Uint8Array(1));
  assert.deepEqual(user.consumer().drain().map((r) => r.timestamp), [5, 7]);
});

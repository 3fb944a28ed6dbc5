import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRing } from '../src/index.js';

test('a consumer never stops between a TIME record and the record it times', () => {
  let t = 1000;
  const ring = createRing({ lanes: 1, sharedLanes: 0, pageSize: 4096, pagesPerLane: 4, clock: () => t, metadataBytes: 0 });
  const w = ring.writer();
  w.write(1, new Uint8Array(4));
  t = 1000 + 6e9; // more than 2^32 after the page base: the record needs a TIME record
  const at = w.reserve(2, 4); // the TIME record is published now, the data record is still BUSY
  const first = ring.consumer();
  assert.deepEqual(first.drain().map((r) => r.type), [1]);
  first.close();
  w.commit(at);
  const second = ring.consumer();
  assert.deepEqual(second.drain().map((r) => [r.type, r.timestamp]), [[2, 1000 + 6e9]]);
});

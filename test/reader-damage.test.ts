import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRing, type RingBuffer, type RingRecord } from '../src/index.js';
import { PAGE_HEADER_BYTES, PG_COMMITTED, laneOffset, recordBytes, slotOffset } from '../src/layout.js';
import { dataHeaders } from './fixtures/page-walk.js';

/** A ring with 3 lanes (2 own, 1 shared), `perLane` 8-byte records in each, payload = [lane, i]. */
function filledRing(perLane: number): RingBuffer {
  const ring = createRing({ lanes: 2, sharedLanes: 1, pageSize: 512, pagesPerLane: 8, mode: 'discard', metadataBytes: 0 });
  for (let lane = 0; lane < 3; lane++) {
    const w = ring.writer({ lane: lane === 2 ? 'shared' : lane });
    for (let i = 0; i < perLane; i++) assert.ok(w.write(1, new Uint8Array([lane, i])));
    w.close();
  }
  return ring;
}

interface Seen {
  data: Map<number, number[]>;
  damage: { lane: number; offset: number; lost: number }[];
}

function readAll(read: (visit: (r: RingRecord) => void) => number): Seen {
  const seen: Seen = { data: new Map(), damage: [] };
  for (let i = 0; i < 100; i++) {
    const n = read((r) => {
      if (r.kind === 'data') {
        const list = seen.data.get(r.lane) ?? [];
        list.push(r.bytes[r.offset + 1]!);
        seen.data.set(r.lane, list);
      } else if (r.cause === 'damaged') seen.damage.push({ lane: r.lane, offset: r.damageOffset, lost: r.lost });
    });
    if (n === 0) break;
  }
  return seen;
}

const perPage = Math.floor((512 - PAGE_HEADER_BYTES) / recordBytes(2)); // at most 29 records of 16 bytes a page

for (const lane of [1, 2]) {
  for (const role of ['iterator', 'consumer'] as const) {
    test(`issue 13 item 11: one corrupt record header in lane ${lane} (${role}): the other lanes, the records before it and the later pages are delivered, the damage is reported by lane and offset`, () => {
      const ring = filledRing(3 * perPage);
      const first = dataHeaders(ring, lane, 0);
      const bad = first[5]!;
      ring.core.i32[bad >> 2] = 1; // state 00 with a non-zero word: not a record header
      const reader = role === 'iterator' ? ring.iterator() : ring.consumer();
      const seen = readAll((v) => reader.read(v));
      const all = Array.from({ length: 3 * perPage }, (_, i) => i & 0xff);
      for (const other of [0, 1, 2].filter((l) => l !== lane)) assert.deepEqual(seen.data.get(other), all, `lane ${other} is intact`);
      assert.deepEqual(seen.data.get(lane), [...all.slice(0, 5), ...all.slice(first.length)], 'the records before the damage and the pages after it');
      assert.equal(seen.damage.length, 1);
      assert.equal(seen.damage[0]!.lane, lane);
      assert.equal(seen.damage[0]!.offset, bad);
      assert.ok(Number.isNaN(seen.damage[0]!.lost) || seen.damage[0]!.lost === first.length - 5, `lost ${seen.damage[0]!.lost}`);
      if (role === 'consumer') {
        // The consumer took the damaged page out of the ring: writers can use it again.
        const w = ring.writer({ lane: lane === 2 ? 'shared' : lane });
        assert.ok(w.write(1, new Uint8Array([9, 200])));
        assert.deepEqual(readAll((v) => reader.read(v)).data.get(lane), [200]);
      }
    });
  }
}

test('issue 13 item 11: a corrupt committed offset (own lane page header) costs that page only', () => {
  const ring = filledRing(3 * perPage);
  const g = ring.geometry;
  const at = slotOffset(g, laneOffset(g, 0), 1) + PG_COMMITTED;
  ring.core.i32[at >> 2] = 13; // not 8-aligned
  const it = ring.iterator();
  const seen = readAll((v) => it.read(v));
  const all = Array.from({ length: 3 * perPage }, (_, i) => i & 0xff);
  const n0 = dataHeaders(ring, 0, 0).length;
  const n1 = dataHeaders(ring, 0, 1).length;
  assert.deepEqual(seen.data.get(0), [...all.slice(0, n0), ...all.slice(n0 + n1)]);
  assert.deepEqual(seen.data.get(1), all);
  assert.deepEqual(seen.damage.map((d) => [d.lane, d.offset]), [[0, at]]);
});

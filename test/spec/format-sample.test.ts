/**
 * Issue 13, item 2: the sample reader printed in docs/FORMAT.md section 9.6 runs as printed (the
 * code is extracted from the document) and yields, lane by lane, what the TypeScript iterator
 * delivers on ring images in the states that matter: a consumer stopped inside a page (the tail's
 * offset), a cleared lane, lapped overwrite-mode lanes (loss markers between pages), in-band drops
 * and TIME records, an open reservation (BUSY), own and shared lanes. The sample used to start the
 * tail's page at offset 48 and so yielded records the iterator no longer shows.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRing, type RingBuffer } from '../../src/index.js';

const FORMAT = fileURLToPath(new URL('../../../docs/FORMAT.md', import.meta.url));
const python = spawnSync('python3', ['--version']).status === 0;

/** The one ```python block of section 9.6. */
export function formatSample(): string {
  const doc = readFileSync(FORMAT, 'utf8');
  const from = doc.indexOf('### 9.6 ');
  const to = doc.indexOf('### 9.7 ', from);
  const section = doc.slice(from, to);
  const blocks = [...section.matchAll(/```python\n([\s\S]*?)```/g)];
  assert.equal(blocks.length, 1, 'section 9.6 has one Python block');
  return blocks[0]![1]!;
}

const DRIVER = `
import json, math, sys
b = open(sys.argv[1], 'rb').read()
g = geometry(b)
num = lambda v: v if math.isfinite(v) else repr(v)
for lane in range(g['lanes']):
    for r in records(b, g, lane):
        print(json.dumps([lane, r[0], r[1] if r[0] == 'data' else num(r[1]), num(r[2]), r[3].hex()]))
`;

type Row = [number, string, number | string, number | string, string];

function iteratorRows(ring: RingBuffer): Row[] {
  const rows: Row[] = [];
  const num = (v: number) => (Number.isFinite(v) ? v : Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf');
  for (let lane = 0; lane < ring.geometry.lanes; lane++) {
    const it = ring.iterator({ lanes: [lane] });
    it.read((r) => {
      if (r.kind === 'lost') rows.push([lane, 'lost', num(r.lost), num(r.timestamp), '']);
      else rows.push([lane, 'data', r.type, num(r.timestamp), Buffer.from(r.bytes.subarray(r.offset, r.offset + r.length)).toString('hex')]);
    });
    it.close();
  }
  return rows;
}

function sampleRows(dir: string, ring: RingBuffer, code: string): Row[] {
  const image = join(dir, 'ring.img');
  writeFileSync(image, new Uint8Array(ring.buffer));
  const script = join(dir, 'sample.py');
  writeFileSync(script, code + DRIVER);
  const out = execFileSync('python3', [script, image], { encoding: 'utf8', maxBuffer: 64 << 20 });
  return out.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Row);
}

/** Ring images in the states the sample must get right. */
function images(): { name: string; ring: RingBuffer }[] {
  const out: { name: string; ring: RingBuffer }[] = [];
  {
    const ring = createRing({ lanes: 1, sharedLanes: 1, pageSize: 256, pagesPerLane: 4, mode: 'discard', clock: 'counter', metadataBytes: 0 });
    const own = ring.writer();
    const shared = ring.writer({ lane: 'shared' });
    for (let i = 0; i < 25; i++) {
      own.write(1, new Uint8Array([i, 1, 2]));
      shared.write(2, new Uint8Array([i]));
    }
    const c = ring.consumer();
    c.read(() => {}, 9); // both tails stop inside a page
    c.close();
    out.push({ name: 'consumed part of the tail page (discard)', ring });
  }
  {
    const ring = createRing({ lanes: 2, sharedLanes: 1, pageSize: 256, pagesPerLane: 4, mode: 'overwrite', clock: 'counter', metadataBytes: 0 });
    const ws = [ring.writer({ lane: 0 }), ring.writer({ lane: 1 }), ring.writer({ lane: 'shared' })];
    for (let i = 0; i < 500; i++) ws[i % 3]!.write(i % 50, new Uint8Array(i % 37).fill(i));
    const c = ring.consumer({ lanes: [1] });
    c.read(() => {}, 5);
    c.close();
    out.push({ name: 'lapped overwrite lanes, one consumed mid-page', ring });
  }
  {
    let now = 0;
    const ring = createRing({ lanes: 1, sharedLanes: 1, pageSize: 512, pagesPerLane: 4, mode: 'discard', clock: () => now, metadataBytes: 0 });
    const own = ring.writer();
    const shared = ring.writer({ lane: 'shared' });
    for (let i = 0; i < 200; i++) {
      now += i % 9 === 0 ? 2 ** 33 : 1000; // TIME records
      own.write(3, new Uint8Array([i]));
      shared.write(4, new Uint8Array([i, i]));
    }
    ring.consumer().drain(40);
    for (let i = 0; i < 12; i++) {
      now += 10;
      own.write(3, new Uint8Array([i])); // carries the LOST count of the drops
      shared.write(4, new Uint8Array([i]));
    }
    const open = own.reserve(5, 8); // a BUSY record: both readers stop there
    assert.ok(open >= 0);
    own.write(6, new Uint8Array([9]));
    out.push({ name: 'drops, TIME records and an open reservation', ring });
  }
  {
    const ring = createRing({ lanes: 1, sharedLanes: 1, pageSize: 256, pagesPerLane: 4, mode: 'discard', clock: 'counter', metadataBytes: 0 });
    const shared = ring.writer({ lane: 'shared' });
    for (let i = 0; i < 20; i++) shared.write(2, new Uint8Array([i]));
    ring.clear({ lanes: [1] });
    for (let i = 20; i < 24; i++) shared.write(2, new Uint8Array([i]));
    out.push({ name: 'a cleared lane', ring });
  }
  return out;
}

test('FORMAT.md 9.6: the sample reader runs as printed and yields what the iterator delivers, lane by lane', { skip: !python && 'python3 not found' }, () => {
  const code = formatSample();
  const dir = mkdtempSync(join(tmpdir(), 'urb-sample-'));
  try {
    for (const { name, ring } of images()) {
      const want = iteratorRows(ring);
      assert.ok(want.length > 0, name);
      assert.deepEqual(sampleRows(dir, ring, code), want, name);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

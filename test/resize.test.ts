import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRing, defineEvent, eventRegistry, resizeRing, t, type RingBuffer } from '../src/index.js';

const rows = (ring: RingBuffer) => {
  const out: string[] = [];
  const it = ring.iterator();
  it.read((r) => out.push(`${r.kind}|${r.lane}|${r.type}|${r.timestamp}|${Buffer.from(r.bytes.subarray(r.offset, r.offset + r.length)).toString('hex')}`));
  it.close();
  return out;
};

for (const clock of ['mono', 'counter'] as const) {
  test(`resizeRing (${clock} clock): a bigger ring holds the same records with the same timestamps, schemas included, and time goes on`, () => {
    const ring = createRing({ lanes: 2, sharedLanes: 1, pageSize: 512, pagesPerLane: 4, mode: 'overwrite', clock });
    const ev = defineEvent(ring, 'tick', { n: t.u32, s: t.string(16) });
    const ws = [ring.writer({ lane: 0 }), ring.writer({ lane: 1 }), ring.writer({ lane: 'shared' })];
    for (let i = 0; i < 30; i++) ev.write(ws[i % 3]!, { n: i, s: `r${i}` });
    const before = rows(ring);
    const { ring: bigger, copied, didNotFit } = resizeRing(ring, { pagesPerLane: 16 });
    assert.equal(copied, 30);
    assert.equal(didNotFit, 0);
    assert.deepEqual(rows(bigger), before);
    const reg = eventRegistry(bigger);
    const decoded: unknown[] = [];
    bigger.iterator().read((r) => decoded.push(reg.decode(r)));
    assert.deepEqual((decoded[0] as { fields: unknown }).fields, { n: 0, s: 'r0' });
    assert.equal(bigger.geometry.lanePages, 16);
    // Writers go on in the new ring, on the same timeline.
    const last = Math.max(...before.map((r) => Number(r.split('|')[3])));
    const w = bigger.writer({ lane: 0 });
    ev.write(w, { n: 99, s: 'after' });
    const after = rows(bigger).filter((r) => r.startsWith('data|0|')).pop()!;
    assert.ok(Number(after.split('|')[3]) >= last, `time went backwards: ${after} after ${last}`);
  });
}

test('resizeRing to a smaller overwrite ring keeps the newest records and counts the rest as overrun', () => {
  const ring = createRing({ lanes: 1, sharedLanes: 0, pageSize: 256, pagesPerLane: 16, mode: 'overwrite', clock: 'counter' });
  const w = ring.writer();
  for (let i = 0; i < 150; i++) w.write(1, new Uint8Array(new Int32Array([i]).buffer));
  const { ring: small, copied, didNotFit } = resizeRing(ring, { pagesPerLane: 4 });
  const kept: number[] = [];
  small.iterator().read((r) => r.kind === 'data' && kept.push(new DataView(r.bytes.buffer, r.offset).getInt32(0, true)));
  assert.equal(copied, 150);
  assert.ok(kept.length > 0 && kept.length < 150);
  assert.equal(kept[kept.length - 1], 149, 'the newest is kept');
  assert.deepEqual(kept, Array.from({ length: kept.length }, (_, i) => 150 - kept.length + i), 'a contiguous newest run');
  assert.equal(didNotFit, small.stats().total.overrun);
  assert.equal(small.stats().total.written, 150);
});

test('resizeRing of a discard ring copies only what is not consumed yet', () => {
  const ring = createRing({ lanes: 1, sharedLanes: 0, pageSize: 256, pagesPerLane: 8, mode: 'discard' });
  const w = ring.writer();
  for (let i = 0; i < 40; i++) w.write(1, new Uint8Array([i]));
  const c = ring.consumer();
  c.read(() => {}, 25);
  c.close();
  const { ring: copy, copied } = resizeRing(ring, { pagesPerLane: 8 });
  const got: number[] = [];
  copy.consumer().read((r) => got.push(r.bytes[r.offset]!));
  // The consumer took whole runs: everything from its position on is copied, nothing before.
  assert.equal(copied, got.length);
  assert.equal(got[got.length - 1], 39);
  assert.deepEqual(got, Array.from({ length: got.length }, (_, i) => 40 - got.length + i));
  assert.ok(got.length <= 15);
});

test('resizeRing keeps who wrote each record (an owner change on a per-thread lane, writers interleaved on the shared lane)', () => {
  const ring = createRing({ lanes: 1, sharedLanes: 1, pageSize: 1024, pagesPerLane: 4, clock: 'counter' });
  const a = ring.writer({ lane: 0, identity: { pid: 10, threadId: 0, name: 'main' } });
  for (let i = 0; i < 5; i++) a.write(1, new Uint8Array([10]));
  a.close();
  const b = ring.writer({ lane: 0, identity: { pid: 11, threadId: 2, name: 'worker 2' } });
  for (let i = 0; i < 5; i++) b.write(1, new Uint8Array([11]));
  const s1 = ring.writer({ lane: 'shared', identity: { pid: 12, threadId: 1, name: 'one' } });
  const s2 = ring.writer({ lane: 'shared', identity: { pid: 13, threadId: 3, name: 'three' } });
  for (let i = 0; i < 5; i++) {
    s1.write(1, new Uint8Array([12]));
    s2.write(1, new Uint8Array([13]));
  }
  const { ring: bigger } = resizeRing(ring, { pagesPerLane: 16 });
  const names: Record<number, string> = { 10: '10/0/main', 11: '11/2/worker 2', 12: '12/1/one', 13: '13/3/three' };
  let n = 0;
  bigger.iterator().read((r) => {
    assert.equal(`${r.pid}/${r.threadId}/${r.threadName}`, names[r.bytes[r.offset] as number]);
    n++;
  });
  assert.equal(n, 20);
});

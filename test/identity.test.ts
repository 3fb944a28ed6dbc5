/**
 * IDENTITY records (FORMAT.md 8.3): encode/decode round trips, and every record of every reader
 * (consumer, iterator, trace file) attributed to the writer that wrote it, on per-thread and shared
 * lanes, in both modes, after many laps of overwrite.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createRing, openTrace, bytesSource, type RingWriter, type RingRecord } from '../src/index.js';
import { IdentityTracker, cutUtf8, identityPayload, type ThreadIdentity } from '../src/identity.js';
import { IDENTITY_NAME_MAX } from '../src/layout.js';

const identityArb: fc.Arbitrary<ThreadIdentity> = fc.record({
  pid: fc.integer({ min: 0, max: 0xffffffff }),
  threadId: fc.integer({ min: -1, max: 0x7fffffff }),
  name: fc.string({ unit: fc.constantFrom('a', 'Z', '-', ' ', 'é', '線', '🧵'), maxLength: 50 }),
});

test('IDENTITY payload: decode(encode(x)) gives pid, threadId and the name cut at a code point within 40 bytes', () => {
  fc.assert(
    fc.property(identityArb, fc.boolean(), (id, withName) => {
      const p = identityPayload(id, withName);
      const t = new IdentityTracker();
      const buf = new Uint8Array(8 + p.length);
      buf.set(p, 8);
      t.read(buf, 8, p.length);
      assert.equal(t.pid, id.pid);
      assert.equal(t.threadId, id.threadId);
      const cut = cutUtf8(id.name, IDENTITY_NAME_MAX);
      assert.ok(cut.length <= IDENTITY_NAME_MAX);
      const full = new TextEncoder().encode(id.name);
      assert.deepEqual(cut, full.subarray(0, cut.length), 'a prefix of the UTF-8 name');
      const name = new TextDecoder('utf-8', { fatal: true }).decode(cut); // throws if a code point was split
      assert.ok(id.name.startsWith(name));
      if (full.length <= IDENTITY_NAME_MAX) assert.equal(name, id.name);
      assert.equal(t.name, withName ? name : '');
    }),
  );
});

test('IDENTITY without a name takes the name met earlier for the same pid and threadId; a short payload makes the identity unknown', () => {
  const t = new IdentityTracker();
  const named = identityPayload({ pid: 7, threadId: 3, name: 'resizer' }, true);
  const short = identityPayload({ pid: 7, threadId: 3, name: 'resizer' }, false);
  t.read(named, 0, named.length);
  t.read(identityPayload({ pid: 7, threadId: 4, name: '' }, false), 0, 8);
  assert.equal(t.name, '');
  t.read(short, 0, short.length);
  assert.deepEqual([t.pid, t.threadId, t.name], [7, 3, 'resizer']);
  t.read(short, 0, 7);
  assert.deepEqual([t.pid, t.threadId, t.name], [0, -1, '']);
  t.read(short, 4, 8); // runs past the buffer
  assert.deepEqual([t.pid, t.threadId, t.name], [0, -1, '']);
});

type Op = { w: number; size: number } | { read: number };

/** Payload: i32 writer index, i32 sequence. */
function check(r: RingRecord, ids: readonly ThreadIdentity[], where: string): void {
  const v = new DataView(r.bytes.buffer, r.bytes.byteOffset + r.offset, r.length);
  const wi = v.getInt32(0, true);
  const id = ids[wi] as ThreadIdentity;
  const name = new TextDecoder().decode(cutUtf8(id.name, IDENTITY_NAME_MAX));
  assert.deepEqual([r.pid, r.threadId, r.threadName], [id.pid, id.threadId, name], `${where}: record ${v.getInt32(4, true)} of writer ${wi}`);
}

for (const mode of ['discard', 'overwrite'] as const) {
  test(`every record of every reader is attributed to its writer (own and shared lanes, ${mode} mode, many laps)`, () => {
    fc.assert(
      fc.property(
        fc.array(identityArb, { minLength: 4, maxLength: 4 }),
        fc.array(fc.oneof({ weight: 6, arbitrary: fc.record({ w: fc.integer({ min: 0, max: 3 }), size: fc.integer({ min: 8, max: 100 }) }) }, { weight: 1, arbitrary: fc.record({ read: fc.integer({ min: 1, max: 50 }) }) }), {
          minLength: 1,
          maxLength: 600,
        }),
        (ids, ops) => {
          const ring = createRing({ lanes: 2, sharedLanes: 1, pageSize: 256, pagesPerLane: 4, mode, clock: 'counter', maxProducers: 8, metadataBytes: 0 });
          // Writers 0 and 1 own lanes 0 and 1; writers 2 and 3 share lane 2.
          const ws: RingWriter[] = ids.map((identity, i) => ring.writer(i < 2 ? { identity } : { lane: 'shared', identity }));
          const seq = [0, 0, 0, 0];
          const consumer = ring.consumer({ lanes: [0, 2] }); // lane 1 is left to a group member, the iterator and the snapshot
          let seen = 0;
          for (const o of ops) {
            if ('read' in o) {
              seen += consumer.read((r) => r.kind === 'data' && check(r, ids, 'consumer'), o.read);
              continue;
            }
            const w = ws[o.w] as RingWriter;
            const size = Math.min(o.size, w.maxPayload);
            const at = w.reserve(1, size);
            if (at < 0) continue;
            w.i32[at >> 2] = o.w;
            w.i32[(at >> 2) + 1] = seq[o.w]!++;
            w.commit(at);
          }
          seen += consumer.read((r) => r.kind === 'data' && check(r, ids, 'consumer'));
          const group = ring.groupConsumer({ lanes: [1] });
          seen += group.read((r) => r.kind === 'data' && check(r, ids, 'group member'), 3);
          group.close();
          const it = ring.iterator();
          it.read((r) => r.kind === 'data' && check(r, ids, 'iterator'));
          it.close();
          let inFile = 0;
          openTrace(bytesSource(ring.snapshot())).read((r) => {
            if (r.kind !== 'data') return;
            check(r, ids, 'snapshot file');
            inFile++;
          });
          assert.ok(seen + inFile > 0 || ops.every((o) => 'read' in o));
        },
      ),
      { numRuns: Number(process.env.MODEL_RUNS ?? 100) },
    );
  });
}

test('a reader that starts in the middle of a page finds the IDENTITY record at the page start', () => {
  const ring = createRing({ lanes: 1, sharedLanes: 1, pageSize: 1024, pagesPerLane: 4, clock: 'counter' });
  const own = ring.writer({ identity: { pid: 11, threadId: 2, name: 'own' } });
  const shared = ring.writer({ lane: 'shared', identity: { pid: 12, threadId: 5, name: 'shared' } });
  const burst = (): void => {
    for (let i = 0; i < 3; i++) {
      own.write(1, new Uint8Array(16));
      shared.write(1, new Uint8Array(16));
    }
  };
  burst();
  const first = ring.consumer();
  assert.equal(first.read(() => {}), 6); // the tails now stand in the middle of the pages
  first.close();
  burst();
  const rows: string[] = [];
  const it = ring.iterator();
  it.read((r) => rows.push(`${r.lane}:${r.pid}:${r.threadId}:${r.threadName}`));
  assert.equal(rows.length, 6);
  for (const row of rows) assert.ok(row === '0:11:2:own' || row === '1:12:5:shared', row);
});

test('plain-object copies (drain(), records()) keep who wrote the record', async () => {
  const ring = createRing({ lanes: 1, sharedLanes: 1, clock: 'counter' });
  ring.writer({ identity: { pid: 21, threadId: 4, name: 'copier' } }).write(1, new Uint8Array(4));
  ring.writer({ lane: 'shared', identity: { pid: 22, threadId: 5, name: 'other' } }).write(1, new Uint8Array(4));
  const rows = ring.iterator().drain().map((r) => `${r.pid}/${r.threadId}/${r.threadName}`);
  assert.deepEqual(rows.sort(), ['21/4/copier', '22/5/other']);
  const copies: string[] = [];
  for await (const r of ring.consumer().records({ signal: AbortSignal.timeout(200) })) {
    copies.push(`${r.pid}/${r.threadId}/${r.threadName}`);
    if (copies.length === 2) break;
  }
  assert.deepEqual(copies.sort(), ['21/4/copier', '22/5/other']);
});

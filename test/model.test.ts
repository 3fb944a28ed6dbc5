/**
 * Model-based test: random sequences of writes (own and shared lanes, nested reservations,
 * discards) and reads, in both modes, against a model of what each lane holds. Checks that every
 * record read is intact and in lane order, and that every record written is read or reported lost,
 * exactly, at the place it was lost.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createRing, type RingWriter } from '../src/index.js';

type Op =
  | { kind: 'write'; w: number; size: number }
  | { kind: 'nested'; w: number; size: number; discardInner: boolean }
  | { kind: 'discard'; w: number }
  | { kind: 'read'; max: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ kind: fc.constant('write' as const), w: fc.integer({ min: 0, max: 3 }), size: fc.integer({ min: 8, max: 120 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('nested' as const), w: fc.integer({ min: 0, max: 3 }), size: fc.integer({ min: 8, max: 60 }), discardInner: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('discard' as const), w: fc.integer({ min: 0, max: 3 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('read' as const), max: fc.integer({ min: 1, max: 200 }) }) },
);

for (const mode of ['overwrite', 'discard'] as const) {
  test(`model: ${mode} mode keeps order and accounts for every record exactly`, () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 400, size: 'max' }), fc.constantFrom(256, 512), (ops, pageSize) => {
        const ring = createRing({ lanes: 2, sharedLanes: 1, pageSize, pagesPerLane: 4, mode, clock: 'counter', maxProducers: 8, metadataBytes: 0 });
        // Writers 0 and 1 own lanes 0 and 1; writers 2 and 3 share lane 2.
        const ws: RingWriter[] = [ring.writer(), ring.writer(), ring.writer({ lane: 'shared' }), ring.writer({ lane: 'shared' })];
        const seq = [0, 0, 0, 0];
        const committed = [0, 0, 0, 0];
        const reader = ring.consumer();
        const lastSeen = [-1, -1, -1, -1];
        let seen = 0;
        let lost = 0;
        let lostOverrun = 0;
        const put = (wi: number, size: number): number => {
          const w = ws[wi] as RingWriter;
          const at = w.reserve(1 + wi, Math.min(size, w.maxPayload));
          if (at < 0) return -1;
          const s = seq[wi]!++; // numbers are taken at reservation: lane order is reservation order
          w.i32[at >> 2] = wi;
          w.i32[(at >> 2) + 1] = s;
          for (let k = 8; k < Math.min(size, w.maxPayload); k++) w.bytes[at + k] = (s + k) & 0xff;
          return at;
        };
        const done = (wi: number, at: number, commit: boolean): void => {
          const w = ws[wi] as RingWriter;
          if (commit) {
            w.commit(at);
            committed[wi]!++;
          } else {
            w.discard(at);
          }
        };
        const drain = (max: number) =>
          reader.read((r) => {
            if (r.kind === 'lost') {
              lost += r.lost;
              if (r.cause === 'overrun') lostOverrun += r.lost;
              return;
            }
            const v = new DataView(r.bytes.buffer, r.bytes.byteOffset + r.offset, r.length);
            const wi = v.getInt32(0, true);
            const s = v.getInt32(4, true);
            assert.equal(r.type, 1 + wi, 'type matches writer');
            for (let k = 8; k < r.length; k++) assert.equal(r.bytes[r.offset + k], (s + k) & 0xff, `payload intact (writer ${wi}, seq ${s}, byte ${k})`);
            assert.ok(s > (lastSeen[wi] as number), `writer ${wi}: seq ${s} after ${lastSeen[wi]}`);
            lastSeen[wi] = s;
            seen++;
          }, max);
        for (const o of ops) {
          if (o.kind === 'read') drain(o.max);
          else if (o.kind === 'write') {
            const at = put(o.w, o.size);
            if (at >= 0) done(o.w, at, true);
          } else if (o.kind === 'discard') {
            const at = put(o.w, 16);
            if (at >= 0) done(o.w, at, false);
          } else {
            // Reserve A, reserve B, finish B (commit or discard), commit A.
            const a = put(o.w, o.size);
            if (a < 0) continue;
            const b = put(o.w, o.size);
            if (b >= 0) done(o.w, b, !o.discardInner);
            done(o.w, a, true);
          }
        }
        // Every writer writes once more after the reader drains, so pending drops are reported in-band.
        drain(Infinity);
        for (let wi = 0; wi < 4; wi++) {
          const at = put(wi, 8);
          assert.ok(at >= 0, 'room after draining');
          done(wi, at, true);
        }
        drain(Infinity);
        const totalCommitted = committed.reduce((a, b) => a + b, 0);
        const st = ring.stats().total;
        assert.equal(st.written, totalCommitted, 'stats.written = records committed');
        assert.equal(seen + lost, totalCommitted + st.dropped, 'read + lost = committed + dropped');
        assert.equal(lost, st.overrun + st.dropped, 'lost markers = overrun + dropped');
        assert.equal(lostOverrun, st.overrun, 'markers of cause overrun = stats.overrun');
        assert.equal(st.read, seen);
        if (mode === 'discard') assert.equal(st.overrun, 0);
        else assert.equal(st.dropped, 0);
      }),
      { numRuns: Number(process.env.MODEL_RUNS ?? 200) },
    );
  });
}

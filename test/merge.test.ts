import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { createRing, type RingReader, type RingWriter } from "../src/index.js";
import { LaneMerge, type MergeSource } from "../src/merge.js";
import { RingRecord } from "../src/reader.js";

/** The reference merge: record by record, the head with the smallest (timestamp, lane index); NaN first. */
function referencePick(heads: readonly (number | undefined)[]): number {
  let best = -1;
  let bestKey = 0;
  for (let i = 0; i < heads.length; i++) {
    const t = heads[i];
    if (t === undefined) continue;
    const k = Number.isNaN(t) ? -Infinity : t;
    if (best < 0 || k < bestKey) {
      best = i;
      bestKey = k;
    }
  }
  return best;
}

/** A lane of records held in an array, as the merge sees a lane cursor. */
class ArraySource implements MergeSource {
  readonly record = new RingRecord();
  hasHead = false;
  readonly items: { t: number; id: number }[] = [];
  at = 0;
  constructor(lane: number) {
    this.record.lane = lane;
  }
  head(): boolean {
    if (this.hasHead) return true;
    const item = this.items[this.at];
    if (item === undefined) return false;
    this.at++;
    this.record.timestamp = item.t;
    this.record.type = item.id;
    this.hasHead = true;
    return true;
  }
}

const time = fc.oneof(
  { weight: 20, arbitrary: fc.integer({ min: 0, max: 12 }) },
  { weight: 1, arbitrary: fc.constantFrom(Number.NaN, Infinity, -Infinity) },
);

test("property: LaneMerge hands out exactly the reference merge's order (ties in lane order, NaN first), across calls with records arriving between them", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 9 }),
      fc.array(fc.record({ appends: fc.array(fc.tuple(fc.nat(8), time), { maxLength: 30 }), max: fc.integer({ min: 1, max: 40 }) }), { minLength: 1, maxLength: 8 }),
      (lanes, calls) => {
        const sources = Array.from({ length: lanes }, (_, i) => new ArraySource(i));
        const merge = new LaneMerge(sources);
        const model: { t: number; id: number }[][] = sources.map(() => []);
        let id = 0;
        for (const call of calls) {
          for (const [lane, t] of call.appends) {
            const l = lane % lanes;
            sources[l]?.items.push({ t, id });
            model[l]?.push({ t, id });
            id++;
          }
          merge.reset();
          const got: number[] = [];
          for (let src = merge.next(); src !== undefined && got.length < call.max; src = merge.next()) {
            src.hasHead = false;
            got.push(src.record.type);
          }
          const want: number[] = [];
          while (want.length < call.max) {
            const pick = referencePick(model.map((q) => q[0]?.t));
            if (pick < 0) break;
            want.push((model[pick]?.shift() as { id: number }).id);
          }
          assert.deepEqual(got, want);
        }
      },
    ),
    { numRuns: 300 },
  );
});

type ReaderKind = "consumer" | "iterator" | "group";
type ReadStyle = "read" | "batches";
interface Out {
  lane: number;
  kind: "data" | "lost";
  t: number;
  lost: number;
  round: number;
  seq: number;
}

/** Everything one read call hands out, as plain items, with read() or readBatches(). */
function readCall(reader: RingReader, style: ReadStyle, max: number): Out[] {
  const out: Out[] = [];
  if (style === "read") {
    reader.read((r) => {
      const dv = new DataView(r.bytes.buffer, r.bytes.byteOffset + r.offset, r.length);
      out.push({ lane: r.lane, kind: r.kind, t: r.timestamp, lost: r.lost, round: r.kind === "data" ? dv.getInt32(0, true) : -1, seq: r.kind === "data" ? dv.getInt32(4, true) : -1 });
    }, max);
  } else {
    reader.readBatches((b) => {
      if (b.kind === "lost") {
        out.push({ lane: b.lane, kind: "lost", t: b.lostTime, lost: b.lost, round: -1, seq: -1 });
        return;
      }
      const dv = new DataView(b.bytes.buffer, b.bytes.byteOffset);
      for (let k = 0; k < b.count; k++) {
        const at = b.offsets[k] as number;
        assert.equal(b.lengths[k], 8);
        out.push({ lane: b.lane, kind: "data", t: b.timestamps[k] as number, lost: 0, round: dv.getInt32(at, true), seq: dv.getInt32(at + 4, true) });
      }
    }, max);
  }
  return out;
}

const roundsArb = fc.array(
  fc.record({
    writes: fc.array(fc.tuple(fc.nat(7), fc.integer({ min: 0, max: 30 })), { maxLength: 40 }),
    max: fc.oneof(fc.integer({ min: 1, max: 25 }), fc.constant(Infinity)),
  }),
  { minLength: 1, maxLength: 10 },
);

/**
 * Rings with `lanes` per-thread lanes and a shared one, small and in discard mode (drops, reported
 * by loss markers), written with a user clock that stamps the times the test picks (with ties),
 * read in rounds between writes. The merged output must be, call by call, exactly the reference
 * merge of the lanes' own sequences; each lane's sequence must be exactly what was written there
 * (data in order, drops counted by markers at the gaps).
 */
function checkMergedRounds(kind: ReaderKind, style: ReadStyle, order: "time" | "lane"): void {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 5 }), roundsArb, (ownLanes, rounds) => {
      let now = 0;
      const ring = createRing({ lanes: ownLanes, sharedLanes: 1, pageSize: 256, pagesPerLane: 4, maxProducers: 8, metadataBytes: 0, mode: "discard", clock: () => now });
      const lanes = ownLanes + 1;
      const writers: RingWriter[] = [];
      for (let l = 0; l < ownLanes; l++) writers.push(ring.writer());
      writers.push(ring.writer({ lane: "shared" }));
      const reader = kind === "consumer" ? ring.consumer({ order }) : kind === "group" ? ring.groupConsumer({ order }) : ring.iterator({ order });
      // What each lane should hand out: its successful writes, each after the drops before it.
      const written: { t: number; round: number; seq: number; dropsBefore: number }[][] = Array.from({ length: lanes }, () => []);
      const drops = new Array<number>(lanes).fill(0);
      const calls: { round: number; max: number; got: Out[] }[] = [];
      const payload = new Uint8Array(8);
      const pv = new DataView(payload.buffer);
      let seq = 0;
      rounds.forEach((round, r) => {
        for (const [lane, t] of round.writes) {
          const l = lane % lanes;
          now = t;
          pv.setInt32(0, r, true);
          pv.setInt32(4, seq, true);
          if ((writers[l] as RingWriter).write(1, payload)) {
            written[l]?.push({ t, round: r, seq, dropsBefore: drops[l] as number });
            drops[l] = 0;
          } else {
            drops[l] = (drops[l] as number) + 1;
          }
          seq++;
        }
        calls.push({ round: r, max: round.max, got: readCall(reader, style, round.max) });
      });
      // Each lane's own sequence, as the reader handed it out over all calls.
      const perLane: (Out & { avail: number })[][] = Array.from({ length: lanes }, () => []);
      for (const c of calls) for (const o of c.got) perLane[o.lane]?.push({ ...o, avail: o.round });
      for (let l = 0; l < lanes; l++) {
        const seqOut = perLane[l] as (Out & { avail: number })[];
        const want = written[l] as { t: number; round: number; seq: number; dropsBefore: number }[];
        let k = 0;
        let lostSeen = 0;
        for (let i = 0; i < seqOut.length; i++) {
          const o = seqOut[i] as Out & { avail: number };
          if (o.kind === "lost") {
            lostSeen += o.lost;
            // A drop marker is written with the lane's next successful record: available with it.
            const nextData = seqOut.slice(i + 1).find((x) => x.kind === "data");
            o.avail = nextData === undefined ? Infinity : nextData.round;
            continue;
          }
          const w = want[k++];
          assert.ok(w !== undefined, `lane ${l}: more records than written`);
          assert.deepEqual([o.seq, o.round, o.t, lostSeen], [w.seq, w.round, w.t, w.dropsBefore], `lane ${l}, record ${k - 1}`);
          lostSeen = 0;
        }
      }
      // The order across lanes, call by call: the reference merge of what was available at that call.
      const queues = perLane.map((q) => [...q]);
      for (const c of calls) {
        if (order === "time") {
          const want: Out[] = [];
          while (want.length < c.max) {
            const pick = referencePick(queues.map((q) => (q[0] !== undefined && q[0].avail <= c.round ? q[0].t : undefined)));
            if (pick < 0) break;
            want.push(queues[pick]?.shift() as Out);
          }
          assert.deepEqual(c.got, want.map(({ lane, kind, t, lost, round, seq }) => ({ lane, kind, t, lost, round, seq })), `call of round ${c.round}`);
        } else {
          // Lane by lane: a call that may take everything hands out the lanes one after the other.
          for (const o of c.got) queues[o.lane]?.shift();
          if (c.max === Infinity) {
            const lanesSeen = c.got.map((o) => o.lane);
            const blocks = lanesSeen.filter((l, i) => i === 0 || lanesSeen[i - 1] !== l);
            assert.equal(new Set(blocks).size, blocks.length, `round ${c.round}: each lane's records in one block`);
          }
        }
      }
      reader.close();
    }),
    { numRuns: 120 },
  );
}

for (const kind of ["consumer", "iterator", "group"] as const) {
  for (const style of ["read", "batches"] as const) {
    test(`property: a ${kind}'s merged ${style === "read" ? "read()" : "readBatches()"} is the reference merge, with ties, drops and writes between reads`, () => {
      checkMergedRounds(kind, style, "time");
    });
  }
  test(`property: a ${kind} with order "lane" keeps each lane's sequence and hands lanes out one after the other`, () => {
    checkMergedRounds(kind, "read", "lane");
    checkMergedRounds(kind, "batches", "lane");
  });
}

test("clock none reads lane by lane: each lane's records in one block, in lane order", () => {
  const ring = createRing({ lanes: 3, sharedLanes: 0, pageSize: 1024, pagesPerLane: 4, metadataBytes: 0, clock: "none" });
  const ws = [ring.writer(), ring.writer(), ring.writer()];
  for (let i = 0; i < 30; i++) (ws[(i * 7) % 3] as RingWriter).write(i, new Uint8Array(4));
  const got = ring.consumer().drain();
  assert.equal(got.length, 30);
  assert.deepEqual(got.map((r) => r.lane), [...Array(10).fill(0), ...Array(10).fill(1), ...Array(10).fill(2)]);
  assert.deepEqual(got.filter((r) => r.lane === 1).map((r) => r.type), [1, 4, 7, 10, 13, 16, 19, 22, 25, 28]);
});

test("order \"lane\": a lane that keeps refilling cannot hold the others back across calls of a bounded read", () => {
  const ring = createRing({ lanes: 2, sharedLanes: 0, pageSize: 256, pagesPerLane: 4, metadataBytes: 0, clock: "none", mode: "discard" });
  const [a, b] = [ring.writer(), ring.writer()] as [RingWriter, RingWriter];
  const reader = ring.consumer();
  b.write(9, new Uint8Array(4));
  let sawB = false;
  // Lane 0 always has a record waiting; lane 1 has one. A turn ends at the lane's quota (its capacity).
  for (let call = 0; call < 200 && !sawB; call++) {
    for (let i = 0; i < 4; i++) a.write(1, new Uint8Array(4));
    reader.read((r) => {
      if (r.lane === 1) sawB = true;
    }, 3);
  }
  assert.ok(sawB, "lane 1's record came out");
});

test("an invalid order option is refused with a RangeError naming it", () => {
  const ring = createRing({ lanes: 1, sharedLanes: 0, metadataBytes: 0 });
  assert.throws(() => ring.consumer({ order: "random" as "lane" }), /order must be "time" or "lane", received "random"/);
});

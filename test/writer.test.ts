import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { createRing, RecordStateError, type RingWriter, type RecordData } from "../src/index.js";

const small = { lanes: 1, sharedLanes: 1, pageSize: 512, pagesPerLane: 4, maxProducers: 8, metadataBytes: 0 } as const;

function writers(mode: "overwrite" | "discard" = "discard") {
  const ring = createRing({ ...small, mode, clock: "counter" });
  return { ring, own: ring.writer(), shared: ring.writer({ lane: "shared" }) };
}

for (const kind of ["own", "shared"] as const) {
  test(`${kind} lane: nested reservations commit in any order and readers wait for the outer one`, () => {
    const { ring, own, shared } = writers();
    const w: RingWriter = kind === "own" ? own : shared;
    const r = ring.consumer({ lanes: [w.lane] });
    const a = w.reserve(1, 8);
    w.i32[a >> 2] = 111;
    const b = w.reserve(2, 8);
    w.i32[b >> 2] = 222;
    w.commit(b);
    assert.equal(r.drain().length, 0, "B is committed but A, before it, is not: nothing visible");
    w.commit(a);
    const got = r.drain();
    assert.deepEqual(got.map((x) => [x.type, new Int32Array(x.payload.buffer)[0]]), [
      [1, 111],
      [2, 222],
    ]);
    assert.ok((got[0]?.timestamp ?? 0) < (got[1]?.timestamp ?? 0), "A was reserved first, so it is older");
  });

  test(`${kind} lane: a discarded reservation is skipped and not counted`, () => {
    const { ring, own, shared } = writers();
    const w = kind === "own" ? own : shared;
    const a = w.reserve(1, 4);
    const b = w.reserve(2, 4);
    w.discard(a);
    w.commit(b);
    const got = ring.consumer().drain();
    assert.deepEqual(got.map((x) => x.type), [2]);
    assert.equal(ring.stats().lanes[w.lane]?.written, 1);
  });

  test(`${kind} lane: commit or discard of something not reserved throws RecordStateError`, () => {
    const { own, shared } = writers();
    const w = kind === "own" ? own : shared;
    const a = w.reserve(1, 4);
    w.commit(a);
    assert.throws(() => w.commit(a), (e: unknown) => e instanceof RecordStateError && e.message.startsWith(`Cannot commit record: offset ${a} is not an open reservation`));
    assert.throws(() => w.discard(12345), RecordStateError);
    assert.throws(() => w.commit(-1), RecordStateError);
  });

  test(`${kind} lane: a record larger than a page and a bad type are refused`, () => {
    const { own, shared } = writers();
    const w = kind === "own" ? own : shared;
    assert.throws(() => w.reserve(1, 512), {
      name: "RangeError",
      message: `Cannot reserve record: size must be an integer from 0 to ${w.maxPayload} bytes (one page less headers), received 512`,
    });
    assert.throws(() => w.reserve(8192, 1), { message: "Cannot reserve record: type must be an integer from 0 to 8191, received 8192" });
    assert.throws(() => w.reserve(-1, 1), RangeError);
    assert.ok(w.reserve(8191, w.maxPayload) >= 0, "the largest record fits");
  });

  test(`${kind} lane: payloads and arbitrary timestamps round-trip exactly through wrap-around (property)`, () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            size: fc.integer({ min: 0, max: 200 }),
            type: fc.integer({ min: 0, max: 8191 }),
            // Any time: small steps, huge jumps (> 2^32), and going backwards (a user clock may).
            dt: fc.oneof(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: -5e9, max: 9e12 })),
            readNow: fc.boolean(),
          }),
          { minLength: 1, maxLength: 120 },
        ),
        (ops) => {
          let now = 1e6;
          const ring = createRing({ ...small, mode: "discard", clock: () => now });
          const w = kind === "own" ? ring.writer() : ring.writer({ lane: "shared" });
          const r = ring.consumer();
          const want: { type: number; t: number; payload: number[] }[] = [];
          const got: RecordData[] = [];
          let seed = 7;
          // A full lane drops (discard mode); the writer reports its drops in-band with its next record.
          let pending = 0;
          let reported = 0;
          for (const op of ops) {
            now = Math.max(0, now + op.dt);
            const payload = Array.from({ length: op.size }, () => (seed = (seed * 1103515245 + 12345) & 0xff));
            if (w.write(op.type, new Uint8Array(payload))) {
              want.push({ type: op.type, t: now, payload });
              reported += pending;
              pending = 0;
            } else {
              pending++;
            }
            if (op.readNow) got.push(...r.drain());
          }
          got.push(...r.drain());
          const data = got.filter((x) => x.kind === "data");
          const lost = got.filter((x) => x.kind === "lost").reduce((s, x) => s + x.lost, 0);
          assert.equal(data.length, want.length);
          assert.equal(lost, reported);
          data.forEach((x, i) => {
            assert.equal(x.type, want[i]?.type);
            assert.equal(x.timestamp, want[i]?.t);
            assert.deepEqual([...x.payload], want[i]?.payload);
          });
        },
      ),
      { numRuns: 150 },
    );
  });
}

test("discard mode: drops are counted and reported in-band, exactly, where they happened", () => {
  const { ring, own } = writers("discard");
  const r = ring.consumer({ lanes: [own.lane] });
  let accepted = 0;
  for (let i = 0; i < 200; i++) if (own.write(1, new Uint8Array(40))) accepted++;
  const dropped = 200 - accepted;
  assert.ok(dropped > 0);
  assert.equal(own.dropped, dropped);
  assert.equal(ring.stats().lanes[0]?.dropped, dropped);
  const first = r.drain();
  assert.equal(first.length, accepted);
  assert.ok(own.write(2, new Uint8Array(40)), "room again after reading");
  const second = r.drain();
  assert.deepEqual(
    second.map((x) => [x.kind, x.kind === "lost" ? x.lost : x.type, x.cause]),
    [
      ["lost", dropped, "dropped"],
      ["data", 2, ""],
    ],
  );
});

test("overwrite mode: a lagging consumer sees an exact lost count, and stats agree", () => {
  const { ring, own } = writers("overwrite");
  const r = ring.consumer({ lanes: [own.lane] });
  for (let i = 0; i < 500; i++) {
    const at = own.reserve(1, 8);
    own.i32[at >> 2] = i;
    own.commit(at);
  }
  const got = r.drain();
  const lost = got.filter((x) => x.kind === "lost").reduce((s, x) => s + x.lost, 0);
  const data = got.filter((x) => x.kind === "data").map((x) => new Int32Array(x.payload.buffer)[0] ?? -1);
  assert.equal(got[0]?.kind, "lost", "the loss is reported before the first record read");
  assert.equal(got[0]?.cause, "overrun");
  assert.equal(lost + data.length, 500);
  assert.equal(data[0], lost, "the first record read is the one right after the lost ones");
  assert.deepEqual(data, data.map((_, i) => lost + i));
  const s = ring.stats().lanes[0];
  assert.deepEqual([s?.written, s?.read, s?.overrun, s?.inRing], [500, data.length, lost, 0]);
});

test("a shared-lane writer whose next page another producer is still preparing looks again instead of dropping", async () => {
  const { laneOffset, slotOffset, PG_SEQ } = await import("../src/layout.js");
  const { finishPrepare } = await import("../src/pages.js");
  const ring = createRing({ lanes: 0, sharedLanes: 1, pageSize: 256, pagesPerLane: 4, clock: "none", metadataBytes: 0 });
  const c = ring.core;
  const slot = slotOffset(c.g, laneOffset(c.g, 0), 1);
  const seqIdx = (slot + PG_SEQ) >> 2;
  let calls = 0;
  c.pageSwitchCheck = () => {
    calls++;
    // Another producer won the election for page 1 (the preparing marker: old page + 1) ...
    if (calls === 1) Atomics.add(c.i32, seqIdx, 1);
    // ... and finishes zeroing it while our writer is still looking.
    if (calls === 4) finishPrepare(c, slot, 1, 0);
  };
  const w = ring.writer({ lane: "shared" });
  let written = 0;
  while (calls === 0) {
    const at = w.reserve(1, 16);
    assert.ok(at >= 0, `record ${written} dropped`);
    w.commit(at);
    written++;
  }
  assert.equal(w.dropped, 0, "the record at the page boundary waited for the preparation");
  assert.ok(calls >= 4);
  const got: number[] = [];
  ring.consumer().read((r) => {
    if (r.kind === "data") got.push(r.type);
    else assert.fail(`loss marker ${r.cause} ${r.lost}`);
  });
  assert.equal(got.length, written);
});

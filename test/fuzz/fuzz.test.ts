/**
 * Bad input, bounded for CI: a few seconds of fast-check cases per target (corrupted, truncated,
 * random and adversarial ring images through attachRing and every reader; trace files through
 * openTrace and every reader), each target in a watched worker thread: no untyped exception, no
 * record that does not hold together, no hang, no unbounded memory (see exercise.ts and
 * run-fuzz.ts). The long run is `npm run fuzz -- --seconds S`. The seed is printed; FUZZ_SEED
 * repeats it.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { RingFormatError, RingRecord, createRing } from "../../src/index.js";
import { Exerciser, FuzzFailure, exerciseRing, exerciseTrace } from "./exercise.js";
import { ringCorpus, traceCorpus } from "./corpus.js";
import { describeFuzz, runFuzz } from "./run-fuzz.js";
import { stuckLaneImage } from "./regressions.js";

const envSeed = process.env["FUZZ_SEED"];
const seed = envSeed !== undefined && envSeed !== "" ? Number(envSeed) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
console.log(`fuzz seed ${seed} (rerun with FUZZ_SEED=${seed})`);

for (const target of ["ring", "trace"] as const) {
  test(`fuzz ${target}: corrupted, truncated and random inputs are refused with typed errors or read safely`, { timeout: 60_000 }, async () => {
    const r = await runFuzz({ target, seed, runs: target === "ring" ? 600 : 1500, seconds: 4, caseTimeoutMs: 10_000 });
    console.log(describeFuzz(r));
    assert.ok(r.ok, describeFuzz(r));
    assert.ok(r.cases > 0, "cases ran");
  });
}

test("regression: a lane no reader can get past, beside a lane of 16,000 records, is read in bounded time (watched like a fuzz case)", { timeout: 60_000 }, async () => {
  // Before the fix a merged read of this image took about 20 s; now tens of milliseconds. The
  // watchdog allows 10 s (see regressions.ts).
  const r = await runFuzz({ target: "ring", seed: 0, runs: 1, seconds: 0, inputs: [stuckLaneImage()], caseTimeoutMs: 10_000 });
  assert.ok(r.ok, describeFuzz(r));
  assert.ok(r.records > 16_000, `${r.records} records read`);
});

test("the seeds themselves are read without a refusal, and every record checks out", () => {
  for (const s of ringCorpus()) {
    const o = exerciseRing(s.bytes);
    assert.ok(o.accepted && o.records > 0, `${s.name}: ${JSON.stringify(o)}`);
    assert.deepEqual(o.refused, {}, `${s.name} is a valid ring`);
  }
  for (const s of traceCorpus()) {
    const o = exerciseTrace(s.bytes);
    assert.ok(o.accepted && o.records > 0 && o.warnings === 0, `${s.name}: ${JSON.stringify(o)}`);
  }
});

test("self-test: the exerciser fails on what bad input must not cause, and only on that", () => {
  const x = new Exerciser(1000);
  const kind = (f: () => void): string => {
    try {
      f();
      return "none";
    } catch (e) {
      return e instanceof FuzzFailure ? e.kind : `not a FuzzFailure: ${String(e)}`;
    }
  };
  // Typed refusals are counted, not failures.
  assert.equal(x.guard("attach", () => { throw new RingFormatError("Cannot attach ring: bad", 12); }), undefined);
  assert.equal(x.guard("read", () => { throw new RangeError("Cannot read trace: lane must be ..."); }), undefined);
  assert.deepEqual(x.outcome.refused, { RingFormatError: 1, RangeError: 1 });
  // What reading out of bounds or past undefined looks like in JavaScript: failures.
  assert.equal(kind(() => x.guard("read", () => { throw new TypeError("Cannot read properties of undefined (reading 'x')"); })), "untyped-exception");
  assert.equal(kind(() => x.guard("read", () => new DataView(new ArrayBuffer(4)).getUint32(8))), "untyped-exception");
  assert.equal(kind(() => x.guard("read", () => new Uint8Array(-1))), "untyped-exception");
  assert.equal(kind(() => x.guard("read", () => { throw new RingFormatError("Cannot attach ring: bad", 5000); })), "bad-error");
  // A record that does not hold together, and a reader that does not stop.
  const ring = createRing({ lanes: 1, sharedLanes: 0, pageSize: 256, pagesPerLane: 4, metadataBytes: 0, maxProducers: 1 });
  ring.writer().write(1, new Uint8Array(8));
  const it = ring.iterator();
  it.read((r) => {
    assert.equal(kind(() => x.record("read", r, 1)), "none");
    r.length = r.bytes.length; // a length past the record's buffer
    assert.equal(kind(() => x.record("read", r, 1)), "bad-record");
    r.length = 8;
    r.lane = 3;
    assert.equal(kind(() => x.record("read", r, 1)), "bad-record");
  });
  assert.equal(kind(() => x.drain("read", (visit, max) => { for (let i = 0; i < max; i++) visit(Object.assign(new RingRecord(), { kind: "lost", lost: 1, cause: "overrun" })); return max; }, 1, 10_000)), "unbounded");
  // The corpus is valid, and whole inputs that are not rings or traces are refused.
  const image = new Uint8Array(ring.buffer).slice();
  new DataView(image.buffer).setUint32(ring.geometry.lanesOffset + 192 + 48, 0x80000000 | (0xffff << 14), true);
  // Damage is contained to its page (issue 13 item 11): the readers hand out a `damaged` marker instead of refusing the ring.
  const damaged = exerciseRing(image);
  assert.ok(damaged.accepted && damaged.records > 0, "a record running past its page is read as a damage marker, the ring stays readable");
  assert.equal(exerciseTrace(new Uint8Array(100)).accepted, false);
  assert.equal(exerciseRing(new Uint8Array(300)).accepted, false);
});

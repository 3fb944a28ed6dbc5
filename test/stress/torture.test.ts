/**
 * Bounded multi-thread torture (CI): 2 per-thread-lane writers and 2 writers on one shared lane,
 * tiny lanes (4 pages of 512 bytes, 2-4 records a page) so the lanes wrap and recycle pages
 * thousands of times in a few seconds, with a slow consumer on the main thread. Each case checks
 * every record and balances the books exactly (see torture.ts). The seed is printed; set
 * TORTURE_SEED to replay the writers' choices (the thread interleaving itself is not replayable).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { describe, runTorture, type TortureOptions, type TortureResult } from "./torture.js";

const envSeed = process.env["TORTURE_SEED"];
const seed = envSeed !== undefined && envSeed !== "" ? Number(envSeed) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
console.log(`torture seed ${seed} (rerun with TORTURE_SEED=${seed})`);

const base = {
  ownWriters: 2,
  sharedWriters: 2,
  sharedLanes: 1,
  pageSize: 512,
  pagesPerLane: 4,
  seed,
  seconds: 4,
  watchdogMs: 10_000,
} as const;
const timeout = 90_000;

function check(r: TortureResult, minLaps: number): void {
  const summary = describe(r);
  console.log(summary);
  if (!r.ok) {
    const first = r.failures[0];
    assert.fail(
      `torture ${r.options.mode} (seed ${r.options.seed}) failed check "${first?.check}": ${first?.message}` +
        (first?.record ? `\n  offending record: ${JSON.stringify(first.record)}` : "") +
        `\n\n${summary}`,
    );
  }
  // The point of the exercise: every lane wrapped many times.
  for (const l of r.stats?.lanes ?? []) {
    const laps = Math.floor(l.headPage / l.pages);
    assert.ok(laps >= minLaps, `lane ${l.lane} wrapped only ${laps} times (want >= ${minLaps}); the run did not stress page recycling\n${summary}`);
  }
}

test("torture, overwrite mode: slow consumer is lapped, every record intact, committed == read + overrun", { timeout }, async () => {
  const opts: TortureOptions = { ...base, mode: "overwrite", readerDelay: 2, readBatch: 200, seed };
  const r = await runTorture(opts);
  check(r, 250);
  assert.ok((r.stats?.total.overrun ?? 0) > 0, "the consumer was never lapped: no overrun to account for");
});

test("torture, discard mode: full lanes drop, drops reported in-band exactly, nothing overrun", { timeout }, async () => {
  const opts: TortureOptions = { ...base, mode: "discard", readerDelay: 1, readBatch: 400, seed: (seed + 1) >>> 0 };
  const r = await runTorture(opts);
  check(r, 250);
  assert.ok(r.totals.dropped > 0, "no writer ever found its lane full: no drop to account for");
});

test("torture, overwrite mode with the counter clock and a fast consumer", { timeout }, async () => {
  const opts: TortureOptions = { ...base, mode: "overwrite", clock: "counter", readerDelay: 0, seconds: 3, seed: (seed + 2) >>> 0 };
  const r = await runTorture(opts);
  check(r, 250);
});

test("torture via page hand-off to a file, overwrite mode: pages lapped while copied become exact LOST chunks, never torn pages", { timeout }, async () => {
  const opts: TortureOptions = { ...base, mode: "overwrite", readerDelay: 1, seconds: 3, seed: (seed + 3) >>> 0, via: "pipe" };
  const r = await runTorture(opts);
  check(r, 20);
  assert.ok((r.stats?.total.overrun ?? 0) > 0, "the pipe was never lapped: no loss to account for");
});

test("torture via page hand-off to a file, discard mode: zero-copy writes, drops reported exactly", { timeout }, async () => {
  const opts: TortureOptions = { ...base, mode: "discard", readerDelay: 0, seconds: 3, seed: (seed + 4) >>> 0, via: "pipe" };
  const r = await runTorture(opts);
  // Discard mode only wraps as fast as the pipe hands pages off: fewer laps than a reader's, still dozens.
  check(r, 20);
  assert.ok(r.totals.dropped > 0, "no writer ever found its lane full");
});

test("torture self-test: the checks catch a corrupt record and an unexplained sequence gap", { timeout }, async () => {
  const quick = { ownWriters: 2, sharedWriters: 0, sharedLanes: 0, pageSize: 512, pagesPerLane: 4, seed, records: 3000, readerDelay: 0 };
  const bad = await runTorture({ ...quick, mode: "discard", inject: "checksum" });
  assert.equal(bad.ok, false, "an injected bad checksum went unnoticed");
  const rec = bad.failures.find((f) => f.check === "checksum")?.record;
  assert.ok(rec?.seq !== undefined && rec.seq >= 1000, `the failure names the offending record: ${JSON.stringify(bad.failures)}`);
  const gap = await runTorture({ ...quick, mode: "discard", inject: "seq-skip" });
  assert.equal(gap.ok, false, "an injected sequence gap went unnoticed");
  const g = gap.failures.find((f) => f.check === "own-lane-gap")?.record;
  assert.ok(g?.seq !== undefined && g.seq > 1000, `the gap is reported at the record after it: ${JSON.stringify(gap.failures)}`);
});

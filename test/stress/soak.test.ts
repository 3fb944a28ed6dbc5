/**
 * The soak, bounded for CI: three short rounds in configurations the torture tests do not use (a
 * consumer group of threads, a `for await` consumer, huge pages, three shared-lane writers on two
 * lanes, the `none` and `counter` clocks, a file ring with a writer process among the writer
 * threads), each with an iterator following the writers, snapshots read back and resized copies
 * checked while they write.
 * Every record is checked and the books balance exactly (see torture.ts and checker.ts). The long
 * run is `npm run soak -- --minutes N`.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { nativeAddonAvailable } from "../../src/node/index.js";
import { describe, runTorture, type TortureOptions, type TortureResult } from "./torture.js";

const envSeed = process.env["SOAK_SEED"];
const seed = envSeed !== undefined && envSeed !== "" ? Number(envSeed) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
console.log(`soak seed ${seed} (rerun with SOAK_SEED=${seed})`);

const side = { iterators: 1, iteratorPassMs: 150, snapshotEveryMs: 40, resizeEveryMs: 400, seconds: 1.5, watchdogMs: 20_000 } as const;
const timeout = 60_000;

function check(r: TortureResult): void {
  const text = describe(r);
  console.log(text);
  if (!r.ok) {
    const first = r.failures[0];
    assert.fail(`soak round (${r.options.mode} via ${r.options.via}, seed ${r.options.seed}) failed check "${first?.check}": ${first?.message}\n\n${text}`);
  }
  assert.ok(r.side.iteratorPasses >= 1 && r.side.snapshots >= 1, "the iterator and the snapshots ran");
  assert.ok(r.side.resizes >= 1, "the ring was resized (copied) while written");
  assert.ok(r.books.length > 0, "the books were balanced");
}

test("soak round: overwrite mode, a consumer group of 2 threads, 3 writers on 2 shared lanes, clock none, iterator + snapshots", { timeout }, async () => {
  const o: TortureOptions = {
    ...side,
    mode: "overwrite",
    via: "group",
    groupMembers: 2,
    ownWriters: 1,
    sharedWriters: 3,
    sharedLanes: 2,
    pageSize: 1024,
    pagesPerLane: 8,
    maxSize: 400,
    clock: "none",
    readerDelay: 1,
    readBatch: 256,
    seed,
  };
  const r = await runTorture(o);
  check(r);
  const handedOut = r.memberRecords.reduce((a, b) => a + b, 0);
  assert.equal(handedOut, r.reader.data + r.reader.lostMarkers, "what the members handed out (records and loss markers) is what was checked");
});

test("soak round: discard mode, a for-await consumer, 3 per-thread lanes + 1 shared, 16 x 4 KiB pages, counter clock, a writer process on a file ring, iterator + snapshots", { timeout }, async () => {
  const o: TortureOptions = {
    ...side,
    processes: nativeAddonAvailable() ? 1 : 0, // two more writers, in a child process (the ring is then a file ring)
    processAttempts: 30_000,
    mode: "discard",
    via: "async",
    ownWriters: 3,
    sharedWriters: 1,
    sharedLanes: 1,
    pageSize: 4096,
    pagesPerLane: 16,
    maxSize: 2000,
    clock: "counter",
    readerDelay: 1,
    seed: (seed + 1) >>> 0,
  };
  const r = await runTorture(o);
  check(r);
  assert.equal(r.stats?.total.overrun, 0);
});

test("soak round: overwrite mode, huge pages (4 x 64 KiB), page hand-off to a file, iterator + snapshots", { timeout }, async () => {
  const o: TortureOptions = {
    ...side,
    mode: "overwrite",
    via: "pipe",
    ownWriters: 2,
    sharedWriters: 2,
    sharedLanes: 1,
    pageSize: 65536,
    pagesPerLane: 4,
    maxSize: 8000,
    clock: "mono",
    readerDelay: 0,
    seed: (seed + 2) >>> 0,
  };
  const r = await runTorture(o);
  check(r);
  assert.ok(r.pipe !== undefined && r.pipe.bytes > 0, "the pipe wrote the file");
});

/**
 * Wakeups across processes (src/node/futex.ts): a reader process sleeping in the shared futex is
 * woken by commits made in another process, with the watermark rules of in-process readers, and
 * no wakeup is lost when sleeps and commits race (the stress of test/wakeup.test.ts, across
 * processes). No timing assertion: a lost wakeup shows as a wait that ran into its timeout while a
 * record was there.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createFileRing } from "../../src/node/index.js";
import { H_WAITERS, H_WAKE_SEQ } from "../../src/layout.js";
import type { RingBuffer } from "../../src/index.js";
import { removeFile, ringPath, startChild } from "./children.js";
import { readBursts } from "../fixtures/bursts.js";

const opts = { lanes: 1, sharedLanes: 0, pageSize: 4096, pagesPerLane: 8, mode: "discard", metadataBytes: 0 } as const;

/** Until a reader (in any process) is registered as sleeping on the ring. */
async function sleeperRegistered(ring: RingBuffer): Promise<void> {
  // Acquire the waiter count; pairs with wakeup.ts#registerWaiter()'s Atomics.add in the reader process.
  for (let i = 0; Atomics.load(ring.core.i32, H_WAITERS >> 2) === 0; i++) {
    assert.ok(i < 10_000, "the reader process never went to sleep");
    await new Promise((res) => setTimeout(res, 1));
  }
}

for (const blocking of [false, true]) {
  test(`a reader process sleeping in ${blocking ? "wait()" : "waitAsync()"} is woken by each commit of this process`, { timeout: 60_000 }, async () => {
    const path = ringPath("wake");
    const ring = createFileRing(path, opts);
    const child = startChild("wait-reader", { path, expect: 3, blocking, records: 1, timeoutMs: 20_000 });
    try {
      await child.next((m) => m["type"] === "ready");
      const w = ring.writer();
      for (let i = 1; i <= 3; i++) {
        await sleeperRegistered(ring);
        w.write(1, new Uint8Array(8));
        const m = await child.next<{ ready: boolean; got: number }>((x) => x["type"] === "woke");
        assert.equal(m.ready, true, `wake ${i}: the reader woke with a record to read (not by its timeout)`);
        assert.equal(m.got, i);
      }
      const done = await child.next<{ got: number; timeouts: number }>((m) => m["type"] === "done");
      assert.deepEqual(done, { type: "done", got: 3, timeouts: 0 });
      assert.ok(Atomics.load(ring.core.i32, H_WAKE_SEQ >> 2) >= 3, "each wakeup moved the futex word");
    } finally {
      child.kill();
      removeFile(path);
    }
  });
}

test("a watermark of N records lets a reader process sleep through fewer commits from another process", { timeout: 60_000 }, async () => {
  const path = ringPath("watermark");
  const ring = createFileRing(path, opts);
  const child = startChild("wait-reader", { path, expect: 5, blocking: false, records: 5, timeoutMs: 20_000 });
  try {
    await child.next((m) => m["type"] === "ready");
    await sleeperRegistered(ring);
    const w = ring.writer();
    const seq0 = Atomics.load(ring.core.i32, H_WAKE_SEQ >> 2);
    for (let i = 0; i < 4; i++) w.write(1, new Uint8Array(8));
    assert.equal(Atomics.load(ring.core.i32, H_WAKE_SEQ >> 2), seq0, "4 commits do not reach a watermark of 5: nobody was woken");
    assert.equal(Atomics.load(ring.core.i32, H_WAITERS >> 2), 1, "the reader process still sleeps");
    w.write(1, new Uint8Array(8));
    const m = await child.next<{ ready: boolean; got: number }>((x) => x["type"] === "woke");
    assert.deepEqual([m.ready, m.got], [true, 5], "the fifth commit woke it, with the five records");
  } finally {
    child.kill();
    removeFile(path);
  }
});

test("no lost wakeups across processes: a reader sleeping between a writer process's bursts always wakes for the next record (stress)", { timeout: 120_000 }, async () => {
  const path = ringPath("stress");
  const ring = createFileRing(path, { ...opts, pagesPerLane: 4, pageSize: 1024 });
  const total = Number(process.env["URB_WAKE_STRESS_RECORDS"] ?? 20_000);
  const seed = (Math.random() * 2 ** 32) >>> 0;
  const reader = ring.consumer();
  const child = startChild("burst-writer", { path, total, seed });
  try {
    const { got, waits, starved } = await readBursts(reader, total, seed, 100_000);
    const done = await child.next<{ written: number }>((m) => m["type"] === "done");
    assert.equal(done.written, total);
    assert.equal(got, total);
    assert.ok(waits > 100, `the reader slept only ${waits} times: the race was not exercised`);
    console.log(`${total} records, ${waits} sleeps, ${starved} starved`);
  } finally {
    reader.close();
    child.kill();
    removeFile(path);
  }
});

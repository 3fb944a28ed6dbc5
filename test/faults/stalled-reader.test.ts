/**
 * Fault: a reader that stops reading. What must hold (docs/RELIABILITY.md): writers never wait for
 * it. In overwrite mode they recycle its unread pages; every record it missed is counted exactly,
 * as overrun in stats() and as loss markers when it reads again, and written = read + overrun.
 * In discard mode they drop new records once its lanes are full; every drop is counted exactly,
 * in stats() and in-band (the writer's next record carries it), and nothing committed is lost.
 * Three writer threads (two per-thread lanes, one shared lane) make a fixed number of attempts
 * each while the consumer sleeps; then it reads again and every record is checked.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Worker } from "node:worker_threads";
import { createRing } from "../../src/index.js";
import { RecordChecker, type RecordSnapshot } from "../stress/checker.js";
import type { CountWriterReport } from "./fixtures/count-writer.js";

const LANES = [0, 1, "shared"] as const;
const COUNT = 20_000;

for (const mode of ["overwrite", "discard"] as const) {
  test(`a consumer that stops reading (${mode} mode): writers never wait, ${mode === "overwrite" ? "overrun" : "drops"} counted exactly`, { timeout: 60_000 }, async () => {
    const ring = createRing({ lanes: 2, sharedLanes: 1, pageSize: 512, pagesPerLane: 4, mode, clock: "counter", maxProducers: 4, metadataBytes: 0 });
    const ctrl = new SharedArrayBuffer(4);
    const failures: string[] = [];
    const writerLane = new Int32Array(LANES.length).fill(-1);
    const checker = new RecordChecker({
      role: "consumer",
      nWriters: LANES.length,
      lanes: 3,
      ownLanes: 2,
      overwrite: mode === "overwrite",
      strictSharedTime: true,
      writerLane,
      fail: (check: string, message: string, record?: RecordSnapshot) => failures.push(`[${check}] ${message} ${JSON.stringify(record)}`),
    });
    const reader = ring.consumer();
    const written: CountWriterReport[] = [];
    const done: Promise<CountWriterReport>[] = [];
    const workers = LANES.map((lane, writerId) => {
      const wk = new Worker(new URL("./fixtures/count-writer.js", import.meta.url), { workerData: { buffer: ring.buffer, ctrl, writerId, lane, count: COUNT, maxSize: 60 } });
      // One listener for both reports, attached before either can arrive: a writer that dropped
      // nothing sends "done" right after "written", and both may be dispatched in one turn, before
      // a listener added in first.then() exists (the test then waited forever: seen under CI on Node 24).
      let onWritten: (r: CountWriterReport) => void = () => {};
      let onDone: (r: CountWriterReport) => void = () => {};
      const first = new Promise<CountWriterReport>((resolve, reject) => {
        onWritten = resolve;
        wk.once("error", reject);
      });
      const last = new Promise<CountWriterReport>((resolve) => (onDone = resolve));
      wk.on("message", (r: CountWriterReport) => (r.type === "written" ? onWritten(r) : onDone(r)));
      done.push(
        first.then((r) => {
          writerLane[writerId] = r.lane;
          written.push(r);
          return last;
        }),
      );
      return first;
    });
    // The reader reads a little, then stops while the writers make every one of their attempts.
    reader.read((r) => checker.visit(r), 5);
    await Promise.all(workers);
    let s = ring.stats().total;
    const committed = written.reduce((a, r) => a + r.committed, 0);
    const dropped = written.reduce((a, r) => a + r.dropped, 0);
    assert.equal(written.reduce((a, r) => a + r.attempted, 0), COUNT * LANES.length, "every attempt returned (no writer waited)");
    assert.equal(s.written, committed, "stats count every committed record");
    assert.equal(s.dropped, dropped, "stats count every drop");
    assert.equal(s.written, s.read + s.overrun + s.inRing, "written = read + overrun + still in the ring");
    if (mode === "overwrite") {
      assert.equal(dropped, 0, "overwrite mode: nothing is dropped");
      assert.ok(s.overrun > COUNT, `the stalled reader was lapped (overrun ${s.overrun})`);
    } else {
      assert.equal(s.overrun, 0, "discard mode: nothing is overwritten");
      assert.ok(dropped > COUNT, `the full lanes dropped (${dropped})`);
      assert.ok(s.inRing > 0 && s.inRing === committed - s.read, "what was committed waits in the ring");
    }

    // The reader comes back: it gets every record still in the ring and a count of the rest.
    Atomics.store(new Int32Array(ctrl), 0, 1); // publish the go-ahead; pairs with the writers' Atomics.load
    Atomics.notify(new Int32Array(ctrl), 0);
    const reports: CountWriterReport[] = [];
    const all = Promise.all(done).then((r) => reports.push(...r));
    while (reports.length < LANES.length) {
      reader.read((r) => checker.visit(r));
      await new Promise((r) => setTimeout(r, 1));
    }
    await all;
    while (reader.read((r) => checker.visit(r)) > 0);
    reader.close();
    assert.deepEqual(failures, [], "every record intact, in order, gaps explained");
    s = ring.stats().total;
    const finalCommitted = reports.reduce((a, r) => a + r.committed, 0);
    const finalDropped = reports.reduce((a, r) => a + r.dropped, 0);
    assert.equal(s.written, finalCommitted);
    assert.equal(s.inRing, 0);
    assert.equal(checker.data, s.read);
    if (mode === "overwrite") {
      assert.equal(finalCommitted, checker.data + s.overrun, "written = read + overrun, exactly");
      assert.equal(checker.lost, s.overrun, "the reader was told of every overwritten record");
    } else {
      assert.equal(checker.data, finalCommitted, "every committed record was read");
      assert.equal(checker.lost, finalDropped, "the reader was told of every drop");
      for (const r of reports) assert.equal(checker.tallies[r.writerId]!.gaps, r.dropped, `writer ${r.writerId}: its seq gaps are exactly its drops`);
    }
    console.log(`${mode}: committed ${finalCommitted}, dropped ${finalDropped}, read ${checker.data}, overrun ${s.overrun}, lost reported ${checker.lost}`);
  });
}

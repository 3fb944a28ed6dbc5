/**
 * Fault: snapshots taken while writers overwrite the ring as fast as they can (a flight recorder
 * with no consumer, four lanes of four 256-byte pages lapped every few microseconds). What must hold
 * (docs/RELIABILITY.md): a snapshot never holds a torn, stale, discarded or duplicated record;
 * per writer its records are in order; a page recycled while it was being copied is left out and
 * replaced by a LOST chunk, never copied half-old half-new; the image always reads back without a
 * warning; and the records it holds are at least those it says it copied.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Worker } from "node:worker_threads";
import { once } from "node:events";
import { bytesSource, createRing, openTrace } from "../../src/index.js";
import { RecordChecker, type RecordSnapshot } from "../stress/checker.js";

test("300 snapshots of a ring that four writer threads overwrite flat out: no torn record, losses stated, always readable", { timeout: 60_000 }, async () => {
  const lanes = [0, 1, "shared", "shared"] as const;
  const ring = createRing({ lanes: 2, sharedLanes: 1, pageSize: 256, pagesPerLane: 4, mode: "overwrite", clock: "counter", maxProducers: 5, metadataBytes: 0 });
  const stop = new SharedArrayBuffer(4);
  const workers = lanes.map((lane, writerId) => new Worker(new URL("../fixtures/checksum-writer.js", import.meta.url), { workerData: { buffer: ring.buffer, stop, writerId, lane, maxSize: 100 } }));
  await Promise.all(workers.map((w) => once(w, "message")));
  const writerLane = Int32Array.from([0, 1, 2, 2]);
  const failures: string[] = [];
  let records = 0;
  let lostChunks = 0;
  let lost = 0;
  let uncommitted = 0;
  let unknown = 0;
  let newer = 0;
  try {
    for (let i = 0; i < 300; i++) {
      const info = { pages: 0, records: 0, lost: 0 };
      const image = ring.snapshot(info);
      const trace = openTrace(bytesSource(image));
      const checker = new RecordChecker({
        role: "snapshot",
        nWriters: lanes.length,
        lanes: 3,
        ownLanes: 2,
        overwrite: true,
        strictSharedTime: true,
        writerLane,
        fail: (check: string, message: string, record?: RecordSnapshot) => failures.push(`snapshot ${i}: [${check}] ${message} ${JSON.stringify(record)}`),
      });
      trace.read((r) => checker.visit(r));
      assert.deepEqual(trace.warnings, [], `snapshot ${i} reads back without a warning`);
      assert.ok(checker.data >= info.records, `snapshot ${i}: ${checker.data} records read back, ${info.records} copied`);
      records += checker.data;
      if (checker.data > info.records) newer++;
      lostChunks += checker.lostMarkers;
      unknown += checker.lostUnknown;
      lost += info.lost;
      uncommitted += trace.stats().uncommitted;
      if (i % 10 === 0) await new Promise((r) => setImmediate(r));
    }
  } finally {
    Atomics.store(new Int32Array(stop), 0, 1); // publish the stop request; pairs with the writers' Atomics.load
    await Promise.all(workers.map((w) => once(w, "exit")));
  }
  assert.deepEqual(failures, []);
  const s = ring.stats().total;
  console.log(`300 snapshots under overwrite: ${records} records checked, ${lost} lost during copies (${lostChunks} loss markers, ${unknown} of unknown count), ${uncommitted} uncommitted skipped, ${newer} snapshots with records committed after their walk; ring wrote ${s.written}, overran ${s.overrun}`);
  assert.ok(records > 0);
});

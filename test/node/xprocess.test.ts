/**
 * Two writer processes and one reader process on one file ring in /dev/shm: the thread torture's
 * checks (every record's checksum, per-writer order, lanes, types, no discarded or duplicate
 * record, loss markers that explain every gap on a per-thread lane) in the reader process, and the
 * books balanced exactly here once everyone is done. The reader sleeps in the cross-process futex
 * whenever it catches up, so the writers' wakeups are exercised too.
 *
 * Each writer process has two writers: its own per-thread lane, and the shared lane that the other
 * process writes too (compare-exchange claims between processes). Set URB_XPROCESS_ATTEMPTS for
 * longer runs (default 20000 attempts per writer); the seed is printed (URB_XPROCESS_SEED replays
 * the writers' choices, not the interleaving).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createFileRing } from "../../src/node/index.js";
import { removeFile, ringPath, startChild } from "./children.js";
import type { TortureWriterConfig, WriterReport } from "./fixtures/torture-writer.js";
import type { ReaderReport, TortureReaderConfig } from "./fixtures/torture-reader.js";

const attempts = Number(process.env["URB_XPROCESS_ATTEMPTS"] ?? 20_000);
const envSeed = process.env["URB_XPROCESS_SEED"];
const seed = envSeed ? Number(envSeed) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
console.log(`xprocess torture seed ${seed} (rerun with URB_XPROCESS_SEED=${seed}), ${attempts} attempts per writer`);

const OWN_LANES = 2;
const SHARED_LANE = 2;
/** Writer ids 0, 1 in process A (lane 0, shared lane); 2, 3 in process B (lane 1, shared lane). */
const WRITER_LANES = [0, SHARED_LANE, 1, SHARED_LANE];

async function run(mode: "discard" | "overwrite", readerDelay: number, napProb: number, runSeed: number): Promise<{ writers: WriterReport[]; reader: ReaderReport }> {
  const path = ringPath(`xprocess-${mode}`);
  createFileRing(path, { lanes: OWN_LANES, sharedLanes: 1, pageSize: 1024, pagesPerLane: 4, mode, maxProducers: 8, metadataBytes: 0 });
  const children: ReturnType<typeof startChild>[] = [];
  try {
    const readerCfg: TortureReaderConfig = { path, writerLanes: WRITER_LANES, readerDelay };
    const reader = startChild("torture-reader", readerCfg);
    children.push(reader);
    await reader.next((m) => m["type"] === "ready");
    const writers = [0, 1].map((p) => {
      const cfg: TortureWriterConfig = {
        path,
        writers: [
          [2 * p, WRITER_LANES[2 * p] as number],
          [2 * p + 1, WRITER_LANES[2 * p + 1] as number],
        ],
        seed: runSeed,
        attempts,
        minSize: 16,
        maxSize: 120,
        napProb,
      };
      return startChild("torture-writer", cfg);
    });
    children.push(...writers);
    for (const w of writers) await w.next((m) => m["type"] === "ready");
    for (const w of writers) w.send({ type: "go" });
    const done = await Promise.all(writers.map((w) => w.next<{ reports: WriterReport[] }>((m) => m["type"] === "done", 120_000)));
    reader.send({ type: "finish" });
    const { report } = await reader.next<{ report: ReaderReport }>((m) => m["type"] === "report", 60_000);
    for (const c of children) assert.equal(await c.exited, 0, "a child process failed");
    return { writers: done.flatMap((d) => d.reports).sort((a, b) => a.writerId - b.writerId), reader: report };
  } finally {
    for (const c of children) c.kill();
    removeFile(path);
  }
}

function checkCommon(writers: WriterReport[], reader: ReaderReport): void {
  assert.equal(reader.failureCount, 0, `reader checks failed: ${reader.failures.join("; ")}`);
  const s = reader.stats;
  const committed = writers.reduce((a, w) => a + w.committed, 0);
  for (const w of writers) {
    assert.equal(w.pending, 0, `writer ${w.writerId} could not report its last drops in-band`);
    assert.equal(w.dropped, w.droppedSeen, `writer ${w.writerId}: w.dropped agrees with the drops it saw`);
    assert.equal(w.attempted, w.committed + w.dropped, `writer ${w.writerId}: seq = committed + dropped`);
  }
  assert.equal(s.total.written, committed, "stats.written == records committed by the writer processes");
  assert.equal(s.total.read, reader.data, "stats.read == records the reader process delivered");
  assert.equal(s.total.inRing, 0);
  assert.equal(s.total.abandoned, 0);
}

test("2 writer processes + 1 reader process, discard mode: every record intact, written == read, lost == dropped exactly", { timeout: 120_000 }, async () => {
  const { writers, reader } = await run("discard", 0, 1 / 16, seed);
  checkCommon(writers, reader);
  const s = reader.stats;
  for (const w of writers) {
    assert.equal(reader.perWriter[w.writerId]?.seen, w.committed, `writer ${w.writerId}: every committed record was read`);
    assert.equal(reader.perWriter[w.writerId]?.gaps, w.dropped, `writer ${w.writerId}: its seq gaps are its drops`);
  }
  const dropped = writers.reduce((a, w) => a + w.dropped, 0);
  assert.equal(reader.lost, dropped, "the loss markers the reader saw add up to the drops");
  assert.equal(s.total.dropped, dropped);
  assert.equal(s.total.overrun, 0);
  for (let lane = 0; lane < OWN_LANES; lane++) {
    const own = writers.find((w) => w.lane === lane) as WriterReport;
    assert.equal(reader.perLane[lane]?.lost, own.dropped, `lane ${lane}: lost markers == its one writer's drops`);
  }
  console.log(`discard: ${reader.data} records read, ${dropped} dropped and reported, reader slept ${reader.waits} times`);
});

test("2 writer processes + 1 slow reader process, overwrite mode: committed == read + overrun per lane", { timeout: 120_000 }, async () => {
  const { writers, reader } = await run("overwrite", 1, 0, (seed + 1) >>> 0);
  checkCommon(writers, reader);
  const s = reader.stats;
  for (const lane of s.lanes) {
    const committed = writers.filter((w) => w.lane === lane.lane).reduce((a, w) => a + w.committed, 0);
    assert.equal(committed, (reader.perLane[lane.lane]?.data ?? 0) + lane.overrun, `lane ${lane.lane}: committed == read + overrun`);
    const dropped = writers.filter((w) => w.lane === lane.lane).reduce((a, w) => a + w.dropped, 0);
    const lost = reader.perLane[lane.lane]?.lost ?? 0;
    assert.ok(lane.overrun <= lost && lost <= lane.overrun + dropped, `lane ${lane.lane}: overrun ${lane.overrun} <= lost ${lost} <= overrun + dropped ${dropped}`);
  }
  assert.ok(s.total.overrun > 0, "the reader was never lapped: no overrun to account for");
  console.log(`overwrite: ${reader.data} records read, ${s.total.overrun} overrun, ${reader.lost} reported lost`);
});

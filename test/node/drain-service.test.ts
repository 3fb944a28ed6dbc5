/**
 * serveDrain() in this process (no drain process spawned): pino.transport()'s multistream path
 * (two targets with their own levels) fed from the ring, lines of a writer that closed, and the
 * drain's exit once no writer is left; a pipeline; a failing target (its take delivered by the
 * next drain); a drain that ended leaves nothing to deliver twice.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { ringTransport } from "../../src/node/pino.js";
import { serveDrain } from "../../src/node/drain-service.js";
import { resolvePinoDrainConfig } from "../../src/node/pino-sink.js";
import { ringPath, removeRingFiles } from "./children.js";
import { jsonLines } from "./drain-apps.js";

test("serveDrain: two pino/file targets with their own levels get the lines pino.transport() would give them; the drain exits when the writer is gone", async () => {
  const dir = mkdtempSync(join(tmpdir(), "urb-drain-service-"));
  const ring = ringPath("drain-service");
  try {
    const all = join(dir, "all.log");
    const warn = join(dir, "warn.log");
    const options = {
      targets: [
        { target: "pino/file", options: { destination: all }, level: "info" },
        { target: "pino/file", options: { destination: warn }, level: "warn" },
      ],
    };
    const dest = ringTransport({ ...options, ring, startDrain: false });
    const log = pino({}, dest);
    for (let i = 0; i < 300; i++) (i % 3 === 0 ? log.warn : log.info).call(log, { i }, `line ${i}`);
    dest.end();
    const report = await serveDrain(ring, { pino: resolvePinoDrainConfig(options, `${process.cwd()}/`) }, { lingerMs: 0 });
    assert.ok(report !== undefined);
    assert.equal(report.records, 300);
    assert.equal(report.lost, 0);
    assert.deepEqual(jsonLines(all).map((l) => l.i), Array.from({ length: 300 }, (_, i) => i));
    assert.deepEqual(jsonLines(warn).map((l) => l.i), Array.from({ length: 100 }, (_, k) => 3 * k));
    assert.ok(jsonLines(warn).every((l) => l.level === 40));
  } finally {
    removeRingFiles(ring);
    rmSync(dir, { recursive: true, force: true });
  }
});

test("resolvePinoDrainConfig: pino/file is pino's own file.js, absolute paths stay, pipelines keep their entry's level, targets and pipeline together are refused", () => {
  const c = resolvePinoDrainConfig({ targets: [{ target: "pino/file" }, { target: "/abs/t.js", level: 50 }, { pipeline: [{ target: "pino/file" }], level: "warn" }] }, `${process.cwd()}/`);
  assert.match(c.worker, /pino[/\\]lib[/\\]worker\.js$/);
  assert.match(c.targets?.[0]?.target ?? "", /pino[/\\]file\.js$/);
  assert.deepEqual(c.targets?.[1], { target: "/abs/t.js", level: 50 });
  assert.equal(c.pipelines?.[0]?.[0]?.level, "warn");
  assert.throws(() => resolvePinoDrainConfig({ targets: [], pipeline: [] }, `${process.cwd()}/`), /targets or pipeline, not both/);
  assert.throws(() => resolvePinoDrainConfig({ targets: [{ target: "no-such-transport-xyz" }] }, `${process.cwd()}/`), /no-such-transport-xyz/);
});

test("serveDrain: a pipeline (a pino-abstract-transport transform, then pino/file) gets every line through the transform", async () => {
  const dir = mkdtempSync(join(tmpdir(), "urb-drain-service-"));
  const ring = ringPath("drain-pipeline");
  try {
    const out = join(dir, "upper.log");
    const transform = new URL("./fixtures/upper-transform.js", import.meta.url).pathname;
    const options = { pipeline: [{ target: transform }, { target: "pino/file", options: { destination: out } }] };
    const dest = ringTransport({ ...options, ring, startDrain: false });
    const log = pino({}, dest);
    for (let i = 0; i < 200; i++) log.info({ i }, `line ${i}`);
    dest.end();
    const report = await serveDrain(ring, { pino: resolvePinoDrainConfig(options, `${process.cwd()}/`) }, { lingerMs: 0 });
    assert.equal(report?.records, 200);
    const lines = jsonLines(out);
    assert.deepEqual(lines.map((l) => l.i), Array.from({ length: 200 }, (_, i) => i));
    assert.ok(lines.every((l) => l.msg === `LINE ${String(l.i)}`), "through the transform");
  } finally {
    removeRingFiles(ring);
    rmSync(dir, { recursive: true, force: true });
  }
});

test("serveDrain: a target that fails (ENOSPC) ends the drain with its error and frees the lanes: the next drain delivers every line, the failed take's included", async () => {
  const dir = mkdtempSync(join(tmpdir(), "urb-drain-service-"));
  const ring = ringPath("drain-failing");
  try {
    const out = join(dir, "app.log");
    const failing = { targets: [{ target: new URL("./fixtures/failing-target.js", import.meta.url).pathname }] };
    const good = { targets: [{ target: "pino/file", options: { destination: out } }] };
    const dest = ringTransport({ ...good, ring, startDrain: false });
    const log = pino({}, dest);
    for (let i = 0; i < 10_000; i++) log.info({ i }, "line");
    dest.end();
    await assert.rejects(serveDrain(ring, { pino: resolvePinoDrainConfig(failing, `${process.cwd()}/`) }, { lingerMs: 0 }), /no space left/);
    const report = await serveDrain(ring, { pino: resolvePinoDrainConfig(good, `${process.cwd()}/`) }, { lingerMs: 0 });
    assert.ok(report !== undefined, "the lock was released");
    // At-least-once: the failed take was never accepted, so its pages stayed in the ring.
    const is = jsonLines(out).map((l) => l.i as number);
    assert.deepEqual(is, Array.from({ length: 10_000 }, (_, i) => i), "every line, once, in order: the failed drain's take too");
    assert.equal((await serveDrain(ring, { pino: resolvePinoDrainConfig(good, `${process.cwd()}/`) }, { lingerMs: 0 }))?.records, 0, "and nothing is left for a third");
  } finally {
    removeRingFiles(ring);
    rmSync(dir, { recursive: true, force: true });
  }
});

for (const mode of ["discard", "overwrite"] as const) {
  test(`serveDrain (${mode} mode): a drain that ends with no writer left lets every page go: the next drain delivers nothing twice`, async () => {
    const dir = mkdtempSync(join(tmpdir(), "urb-drain-service-"));
    const ring = ringPath(`drain-again-${mode}`);
    try {
      const out = join(dir, "app.log");
      const options = { targets: [{ target: "pino/file", options: { destination: out } }] };
      // 5000 lines of about 200 B: many 8 KiB pages, the last one partly filled.
      const dest = ringTransport({ ...options, ring, startDrain: false, ringOptions: { lanes: 2, pageSize: 8192, pagesPerLane: 256, mode } });
      const log = pino({}, dest);
      for (let i = 0; i < 5000; i++) log.info({ i }, "x".repeat(120));
      dest.end();
      const config = { pino: resolvePinoDrainConfig(options, `${process.cwd()}/`) };
      assert.equal((await serveDrain(ring, config, { lingerMs: 0 }))?.records, 5000);
      assert.equal((await serveDrain(ring, config, { lingerMs: 0 }))?.records, 0, "the second drain finds nothing");
      assert.deepEqual(jsonLines(out).map((l) => l.i), Array.from({ length: 5000 }, (_, i) => i));
    } finally {
      removeRingFiles(ring);
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

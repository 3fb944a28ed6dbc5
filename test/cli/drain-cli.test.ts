/**
 * `urb drain`: run by the user for a ring that ringTransport() writes without starting a drain
 * (startDrain: false), with a config file naming pino targets as pino.transport() does.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { ringTransport } from "../../src/node/pino.js";
import { acquireDrainLock } from "../../src/node/drain-lock.js";
import { ringPath, removeFile } from "../node/children.js";
import { urb } from "./urb-process.js";

test("urb drain --config FILE: delivers what writers committed to pino/file, then exits when no writer is left", async () => {
  const dir = mkdtempSync(join(tmpdir(), "urb-drain-cli-"));
  const ring = ringPath("drain-cli");
  try {
    const out = join(dir, "app.log");
    const targets = [{ target: "pino/file", options: { destination: out } }];
    const dest = ringTransport({ targets, ring, startDrain: false });
    const log = pino({}, dest);
    for (let i = 0; i < 500; i++) log.info({ i }, "hello");
    dest.end(); // this writer is done: the drain exits once it has delivered
    const config = join(dir, "drain.json");
    writeFileSync(config, JSON.stringify({ pino: { targets } }));
    const r = await urb(["drain", ring, "--config", config, "--linger-ms", "0"], { timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /500 records delivered, 0 lost/);
    const lines = readFileSync(out, "utf8").trim().split("\n").map((l) => JSON.parse(l) as { i: number });
    assert.deepEqual(lines.map((l) => l.i), Array.from({ length: 500 }, (_, i) => i));
  } finally {
    for (const s of ["", ".drain", ".drain.log"]) removeFile(ring + s);
    rmSync(dir, { recursive: true, force: true });
  }
});

test("urb drain: a ring served by a live drain is left to it (exit 0, says so); a missing config is a usage error", async () => {
  const ring = ringPath("drain-cli-busy");
  const lock = acquireDrainLock(ring);
  try {
    const r = await urb(["drain", ring, "--config-json", JSON.stringify({ pino: { targets: [{ target: "pino/file" }] } })]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /served by another drain process/);
    const bad = await urb(["drain", ring]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--config FILE or --config-json/);
  } finally {
    lock?.release();
  }
});

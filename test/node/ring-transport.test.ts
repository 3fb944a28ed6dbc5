/**
 * ringTransport() (unified-ring-buffer/pino in Node): a program logs lines of 100 B to 16 KiB and
 * then exits, throws, or is SIGKILLed by its parent right after writing a marker to stderr; every
 * line logged before the end, and one logged in its exit handler, is in the file, in order, in
 * every case. The same program with pino.transport() runs beside it: its losses are reported (a
 * comparison, not an assertion on pino). Also: a cluster of 4 processes through one ring and one
 * drain, a drain that cannot keep up (losses counted and reported), a drain that is killed.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ringPath, removeRingFiles } from "./children.js";
import { arrival, drainFinished, jsonLines, runApp } from "./drain-apps.js";
import type { Ending, LogAppConfig } from "./fixtures/crash-protocol-log.js";

/** Lines per run: small in CI; run with e.g. RING_TRANSPORT_N=1000000 RING_TRANSPORT_LINE_BYTES=200 for the large matrix (docs/INTEGRATIONS.md 7). */
const N = Number(process.env.RING_TRANSPORT_N ?? 2000);
/** Every line of this many bytes; default 100 B to 16 KiB, spread over the range. */
const LINE_BYTES = process.env.RING_TRANSPORT_LINE_BYTES === undefined ? undefined : Number(process.env.RING_TRANSPORT_LINE_BYTES);
const sizes = LINE_BYTES === undefined ? "100 B-16 KiB" : `${LINE_BYTES} B`;
/** A ring that holds the whole burst (N lines of 8 KB on average), so the test does not depend on how soon the drain starts. */
const ROOMY = { pageSize: 32768, pagesPerLane: 1024 };

for (const end of ["exit", "throw", "kill"] as const satisfies readonly Ending[]) {
  test(`ringTransport: ${N} lines of ${sizes} then ${end === "kill" ? "SIGKILL by the parent" : end === "exit" ? "process.exit(1)" : "a throw"}: every line (and the exit handler's) is in app.log, in order; pino.transport() beside it`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), "urb-ringtransport-"));
    const ring = ringPath(`transport-${end}`);
    try {
      const ringLog = join(dir, "ring.log");
      const run = await runApp("log-app", { transport: "ring", ring, log: ringLog, n: N, end, ringOptions: ROOMY, ...(LINE_BYTES !== undefined ? { lineBytes: LINE_BYTES } : {}) } satisfies LogAppConfig, 600_000);
      assert.ok(run.stderr.includes("LOGGED"), run.stderr);
      const drainLog = await drainFinished(ring);
      const lines = jsonLines(ringLog);
      const a = arrival(lines, N);
      assert.equal(run.dropped, 0, "the ring held the burst");
      assert.equal(a.arrived, N, `every line logged arrived (drain: ${drainLog})`);
      assert.ok(a.prefix && a.inOrder, "in order, once each");
      assert.equal(a.exitHandler, end !== "kill", "the exit handler's line arrived (it runs on exit and throw, not on SIGKILL)");
      assert.ok(!lines.some((l) => "unparsed" in l), "every line whole");
      assert.ok(!lines.some((l) => typeof l.msg === "string" && l.msg.startsWith("urb drain:")), "no loss reported");

      const pinoLog = join(dir, "pino.log");
      await runApp("log-app", { transport: "pino", log: pinoLog, n: N, end, ...(LINE_BYTES !== undefined ? { lineBytes: LINE_BYTES } : {}) } satisfies LogAppConfig, 600_000);
      await new Promise((r) => setTimeout(r, 200));
      const p = arrival(jsonLines(pinoLog), N);
      const report = `${end}: ringTransport ${a.arrived}/${N} lines + exit handler ${a.exitHandler}; pino.transport ${p.arrived}/${N} lines + exit handler ${p.exitHandler}`;
      t.diagnostic(report);
    } finally {
      removeRingFiles(ring);
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test("ringTransport: a cluster of 4 processes logs through one ring and one drain: every line arrives once, in order per process", async () => {
  const dir = mkdtempSync(join(tmpdir(), "urb-ringtransport-"));
  const ring = ringPath("transport-cluster");
  const n = Math.max(1, Math.floor(N / 4));
  try {
    const log = join(dir, "app.log");
    const run = await runApp("log-app", { transport: "ring", ring, log, n, end: "exit", cluster: 4, lineBytes: 300, ringOptions: ROOMY } satisfies LogAppConfig);
    assert.equal(run.exit, 0, run.stderr);
    const drainLog = await drainFinished(ring);
    const lines = jsonLines(log);
    for (let w = 1; w <= 4; w++) {
      const a = arrival(lines, n, w);
      assert.equal(a.arrived, n, `worker ${w}: every line (drain: ${drainLog})`);
      assert.ok(a.prefix && a.inOrder, `worker ${w}: in order, once each`);
      assert.ok(a.exitHandler, `worker ${w}: its exit handler's line`);
    }
    assert.equal(lines.length, 4 * (n + 1), "nothing else, nothing twice");
    const pids = new Set(lines.map((l) => l.pid));
    assert.equal(pids.size, 4, "four writer processes");
    assert.equal((drainLog.match(/records delivered/g) ?? []).length, 1, `one drain process served them all: ${drainLog}`);
    assert.doesNotMatch(drainLog, /served by another drain/, "and only one was started (the start claim)");
  } finally {
    removeRingFiles(ring);
    rmSync(dir, { recursive: true, force: true });
  }
});

test("ringTransport: a drain that cannot keep up: the writer drops lines (discard), the drain writes a warning line with the count, and lines arrived + lost = logged", async () => {
  const dir = mkdtempSync(join(tmpdir(), "urb-ringtransport-"));
  const ring = ringPath("transport-full");
  try {
    const log = join(dir, "app.log");
    const n = 20_000;
    // A 64 KiB lane and no waiting: the burst outruns the drain at once.
    const run = await runApp("log-app", { transport: "ring", ring, log, n, end: "exit", lineBytes: 1000, fullWaitMs: 0, ringOptions: { pageSize: 16384, pagesPerLane: 4 } } satisfies LogAppConfig);
    const drainLog = await drainFinished(ring);
    const lines = jsonLines(log);
    const a = arrival(lines, n);
    const warnings = lines.filter((l) => typeof l.msg === "string" && l.msg.startsWith("urb drain:"));
    const lost = warnings.reduce((s, l) => s + (l.lost as number), 0);
    assert.ok(run.dropped > 0, "the ring was full");
    assert.ok(a.inOrder, "what arrived is in order");
    // n lines and the exit handler's (which the still-full ring may drop too: after the marker).
    const exitLine = a.exitHandler ? 1 : 0;
    assert.equal(a.arrived + exitLine + lost, n + 1, `arrived ${a.arrived} + ${exitLine} + reported lost ${lost} = logged ${n + 1}`);
    assert.equal(lost, run.dropped + 1 - exitLine, "the drain reports exactly what the writer dropped");
    assert.match(drainLog, new RegExp(`${lost} records lost`), "and the drain says so on its stderr");
  } finally {
    removeRingFiles(ring);
    rmSync(dir, { recursive: true, force: true });
  }
});

for (const slow of [false, true]) {
  const what = slow ? "a slow target (each chunk written 150 ms late)" : "pino/file";
  test(`ringTransport: the drain is SIGKILLed while the program logs to ${what}: a new one picks up where it stopped; no line is lost, what arrives twice is one run (the take in flight and the page before it)`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), "urb-ringtransport-"));
    const ring = ringPath(`transport-drainkill-${slow ? "slow" : "file"}`);
    try {
      const log = join(dir, "app.log");
      const n = 8000; // about 4 s of logging at 100 lines per 50 ms: the writer outlives the killed drain
      const lineBytes = 200;
      const target = slow ? { target: new URL("./fixtures/slow-target.js", import.meta.url).pathname, delayMs: 150 } : {};
      const app = runApp("log-app", { transport: "ring", ring, log, n, end: "exit", lineBytes, paceMs: 50, ringOptions: ROOMY, ...target } satisfies LogAppConfig);
      let first = 0;
      for (let k = 0; k < 1000 && first === 0; k++) {
        await new Promise((r) => setTimeout(r, 10));
        try {
          first = Number(readFileSync(`${ring}.drain`, "utf8"));
        } catch {
          // not started yet
        }
      }
      assert.ok(first > 0, "a drain started");
      // Mid-stream: once lines are arriving (the drain has taken, and its target written, some).
      for (let k = 0; k < 1000 && jsonLines(log).length < 300; k++) await new Promise((r) => setTimeout(r, 10));
      process.kill(first, "SIGKILL");
      const run = await app;
      assert.ok(run.stderr.includes("LOGGED"), run.stderr);
      const drainLog = await drainFinished(ring);
      assert.match(drainLog, /took over from a drain that died/);
      const lines = jsonLines(log);
      const is = lines.filter((l) => typeof l.i === "number" && (l.i as number) < n).map((l) => l.i as number);
      const seen = new Set(is);
      const missing = Array.from({ length: n }, (_, i) => i).filter((i) => !seen.has(i));
      assert.deepEqual(missing.length === 0 ? [] : [missing[0], missing.length], [], `every line arrived (drain: ${drainLog}); missing: from, count`);
      assert.ok(arrival(lines, n).exitHandler, "the exit handler's line");
      // In file order each line is the next one, or (once: the new drain delivering again the
      // pages the killed one had not let go) an earlier one.
      let back = 0;
      for (let k = 1; k < is.length; k++) {
        const [prev, cur] = [is[k - 1] as number, is[k] as number];
        assert.ok(cur <= prev + 1, `no line skipped: ${cur} after ${prev}`);
        if (cur <= prev) back++;
      }
      const twice = is.length - n;
      // One run, the killed drain's unaccepted take and the page before it: its size depends on how
      // far the sink had fallen behind (400 lines, over two 32 KiB pages, seen once under CI), so
      // the run is checked for being one run, within what was logged, and reported.
      assert.ok(back <= 1, `what arrived twice is one run (steps back: ${back})`);
      assert.ok(twice >= 0 && twice < n, `delivered twice: ${twice} of ${n}`);
      t.diagnostic(`${twice} of ${n} lines delivered twice`);
      t.diagnostic(`drain killed (${what}): 0 of ${n} lines lost, ${twice} delivered twice`);
    } finally {
      removeRingFiles(ring);
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test("ringTransport: lines reach the file while the program lives on idle (the drain does not hold them until the writer exits)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "urb-ringtransport-"));
  const ring = ringPath("transport-idle");
  const log = join(dir, "app.log");
  const n = 50_000;
  // A burst, then the program idles until killed (end "kill"; here only after the check): every
  // other test waits for the drain to exit. (The drain once spun in promises after a burst, so the
  // target's pending file write never completed and the last lines stayed in its buffer until the
  // writer exited: seen in 1 of 3 bench sessions; this test did not reproduce it in 3 runs.)
  const config: LogAppConfig = { transport: "ring", ring, log, n, end: "kill", lineBytes: 130, ringOptions: ROOMY };
  const app = spawn(process.execPath, [new URL("./fixtures/log-app.js", import.meta.url).pathname, JSON.stringify(config)], { stdio: "ignore" });
  try {
    let lines = 0;
    for (let k = 0; k < 600 && lines < n; k++) {
      await new Promise((r) => setTimeout(r, 50));
      lines = existsSync(log) ? readFileSync(log, "utf8").split("\n").length - 1 : 0;
    }
    assert.equal(lines, n, "every line in the file within 30 s, the program still running");
    assert.equal(app.exitCode, null);
  } finally {
    app.kill("SIGKILL");
    await drainFinished(ring);
    removeRingFiles(ring);
    rmSync(dir, { recursive: true, force: true });
  }
});

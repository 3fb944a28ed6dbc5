/**
 * The core's cross-thread round trip (round-trip.ts: module workers writing, a reader merging) under
 * Bun and Deno, whose binaries come from their npm packages (devDependencies). Each runs the compiled
 * round-trip-cli.js, which imports the core from dist/src, and prints its report as JSON.
 *
 * Where a binary is missing (a platform without a binary package) the test is skipped with the
 * reason, except under CI, where a missing runtime means the install step broke: it fails.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { assertRoundTrip } from "./expect-report.js";
import type { RoundTripReport } from "./round-trip.js";

const repo = fileURLToPath(new URL("../../../", import.meta.url));
const dist = fileURLToPath(new URL("../../", import.meta.url));
const cli = fileURLToPath(new URL("./round-trip-cli.js", import.meta.url));
const inCi = process.env["CI"] === "true";

/** Offline and quiet: no update checks, no telemetry, no auto-install. */
const ENV = { ...process.env, DENO_NO_UPDATE_CHECK: "1", DO_NOT_TRACK: "1" };

const RUNTIMES = [
  { name: "Bun", bin: `${repo}node_modules/.bin/bun`, args: ["--no-install", cli], agent: /^Bun\/\d/ },
  { name: "Deno", bin: `${repo}node_modules/.bin/deno`, args: ["run", "--no-config", "--no-prompt", `--allow-read=${dist}`, cli], agent: /^Deno\/\d/ },
];

function run(bin: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(bin, args, { cwd: repo, env: ENV, timeout: 60_000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${bin} ${args.join(" ")} failed: ${err.message}\n${stderr}`)) : resolve({ stdout, stderr }),
    );
  });
}

for (const rt of RUNTIMES) {
  const missing = existsSync(rt.bin) ? undefined : `${rt.name} not installed at ${rt.bin} (npm ci installs it from the "${rt.name.toLowerCase()}" devDependency)`;
  test(`${rt.name}: module workers write, the reader merges (round trip of the compiled core)`, { skip: inCi ? false : (missing ?? false) }, async (t) => {
    assert.equal(missing, undefined, missing);
    const { stdout } = await run(rt.bin, rt.args);
    const line = stdout.trim().split("\n").at(-1) ?? "";
    const report = JSON.parse(line) as RoundTripReport;
    t.diagnostic(`${report.userAgent}: ${report.total.written} records in ${report.elapsedMs} ms, clock from ${report.clockBase}, min lead ${report.minLeadNs} ns`);
    assert.match(report.userAgent, rt.agent);
    assertRoundTrip(report);
    // Their process.hrtime counts from each thread's start: not a clock threads share (src/clock.ts).
    assert.equal(report.clockBase, "performance.timeOrigin");
  });
}

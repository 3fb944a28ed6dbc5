/**
 * The core's cross-thread round trip (round-trip.ts: module workers writing, a reader merging) in
 * headless Chromium: Debian's `chromium`, driven with playwright-core, the page served from dist/ on
 * 127.0.0.1 with the COOP/COEP headers that `SharedArrayBuffer` needs.
 *
 * Without /usr/bin/chromium the test is skipped with the reason (`apt-get install chromium`, which
 * .ci/run does), except under CI, where a missing browser means the install step broke: it fails.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type BrowserContext } from "playwright-core";
import { assertRoundTrip } from "./expect-report.js";
import type { RoundTripReport } from "./round-trip.js";
import { serveStatic } from "./static-server.js";

const CHROMIUM = "/usr/bin/chromium";
const dist = fileURLToPath(new URL("../../", import.meta.url));
const inCi = process.env["CI"] === "true";
const missing = existsSync(CHROMIUM) ? undefined : `${CHROMIUM} not found (Debian: apt-get install chromium; .ci/run installs it)`;

/**
 * Headless, and quiet on the network: without the background-networking flags Chromium keeps
 * trying to reach its update, sync and field-trial services, which on a closed network only
 * produces refused connections.
 */
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** The page itself is empty (its icon too, so that no request fails); the test imports round-trip.js into it. */
const PAGE = '<!doctype html><meta charset=utf-8><link rel=icon href="data:,"><title>unified-ring-buffer portability</title>';

test("Chromium: module workers write, the page reads them merged (round trip of the compiled core)", { skip: inCi ? false : (missing ?? false), timeout: 90_000 }, async (t) => {
  assert.equal(missing, undefined, missing);
  const server = await serveStatic(dist, PAGE);
  const profile = await mkdtemp(join(tmpdir(), "urb-chromium-"));
  let context: BrowserContext | undefined;
  try {
    // A new, empty profile every run.
    context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS });
    const page = context.pages()[0] ?? (await context.newPage());
    const pageErrors: string[] = [];
    page.on("pageerror", (e) => pageErrors.push(e.message));
    page.on("console", (m) => m.type() === "error" && pageErrors.push(`${m.text()} (${m.location().url})`));
    await page.goto(`${server.origin}/`);
    const report = (await page.evaluate(async (url: string) => {
      const m = (await import(url)) as typeof import("./round-trip.js");
      return m.runRoundTrip();
    }, "/test/portability/round-trip.js")) as RoundTripReport;
    t.diagnostic(`Chromium ${context.browser()?.version() ?? "(version unknown)"}: ${report.total.written} records in ${report.elapsedMs} ms, clock from ${report.clockBase}, min lead ${report.minLeadNs} ns`);
    assert.deepEqual(pageErrors, []);
    assert.equal(report.crossOriginIsolated, true);
    assert.match(report.userAgent, /HeadlessChrome\/\d/);
    assert.equal(report.clockBase, "performance.timeOrigin");
    assertRoundTrip(report);
  } finally {
    await context?.close();
    await server.close();
    await rm(profile, { recursive: true, force: true });
  }
});

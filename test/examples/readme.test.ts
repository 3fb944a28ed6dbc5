/**
 * The README's quick start, run as written: its code is taken from README.md's text, saved in an
 * empty directory whose node_modules has this package (its built dist), and run with node. It must
 * print the records the worker wrote, not only zero statistics.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const root = fileURLToPath(new URL("../../../", import.meta.url));

/** The first code block under the "## Quick start" heading of README.md. */
function quickStart(): string {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("## Quick start"));
  const block = /```(?:js|ts|javascript)\n([\s\S]*?)```/.exec(section.slice(0, section.indexOf("\n## ", 3)));
  assert.ok(block, "README.md has a code block under ## Quick start");
  return block[1] ?? "";
}

test("README quick start, run as written in a fresh directory, prints the records the worker wrote and the stats", async () => {
  const dir = mkdtempSync(join(tmpdir(), "urb-readme-"));
  try {
    mkdirSync(join(dir, "node_modules"));
    symlinkSync(root, join(dir, "node_modules", "unified-ring-buffer"), "dir");
    writeFileSync(join(dir, "quickstart.mjs"), quickStart());
    const { stdout } = await promisify(execFile)(process.execPath, ["quickstart.mjs"], { cwd: dir, timeout: 30_000 });
    assert.match(stdout, /^0 7 \d+ Uint8Array\(16\) \[/m, stdout);
    assert.match(stdout, /^0 8 \d+ Uint8Array\(5\) \[ 104, 101, 108, 108, 111 \]$/m, stdout);
    assert.match(stdout, /written: 2,\s+bytes: 21,\s+read: 2,\s+overrun: 0,\s+cleared: 0,\s+dropped: 0,\s+abandoned: 0,\s+inRing: 0/, stdout);
    // The comment names every field of stats().total.
    assert.match(quickStart(), /\{ written, bytes, read, overrun, cleared, dropped, abandoned, inRing \}/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

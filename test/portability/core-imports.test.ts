/**
 * The core (every compiled file under dist/src/ except the Node-only dist/src/node/, cli/ and
 * record/) must load in browsers, Deno and Bun: it may import only other core files. These tests
 * read every compiled core file's imports (static, re-exports and dynamic, parsed by the TypeScript
 * scanner) and fail on anything else: `node:` and bare Node builtins, packages, and the Node-only
 * entry (src/node/).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const distSrc = fileURLToPath(new URL("../../src/", import.meta.url));
/** The Node-only parts: `unified-ring-buffer/node`, the `urb` command line, `unified-ring-buffer/record`. */
const nodeOnly = ["node", "cli", "record"].map((d) => join(distSrc, d) + sep);

/** Every compiled core file: each .js file under dist/src/, outside the Node-only directories. */
function coreFiles(): string[] {
  return readdirSync(distSrc, { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".js"))
    .map((f) => join(distSrc, f))
    .filter((f) => !nodeOnly.some((d) => f.startsWith(d)));
}

/** Problems with the imports of one core file: each specifier must be relative and resolve to a core file. */
function importProblems(file: string, source: string, core: ReadonlySet<string>): string[] {
  const info = ts.preProcessFile(source, true, true);
  const problems: string[] = [];
  for (const { fileName: spec } of info.importedFiles) {
    const where = `${relative(distSrc, file)} imports "${spec}"`;
    if (!spec.startsWith("./") && !spec.startsWith("../")) problems.push(`${where}: not a core file (a Node builtin or a package)`);
    else if (!core.has(resolve(dirname(file), spec))) problems.push(`${where}: not a core file (src/node/ is Node-only; nothing outside src/)`);
  }
  return problems;
}

test("the compiled core imports nothing but core files (no node:, no Node builtin, no package, no src/node)", () => {
  const files = coreFiles();
  const core = new Set(files);
  assert.ok(files.length >= 15, `found only ${files.length} core files in ${distSrc}`);
  const problems = files.flatMap((f) => importProblems(f, readFileSync(f, "utf8"), core));
  assert.deepEqual(problems, []);
  // The scan sees imports at all: index.js re-exports ring.js.
  assert.equal(ts.preProcessFile(readFileSync(join(distSrc, "index.js"), "utf8"), true, true).importedFiles.some((i) => i.fileName === "./ring.js"), true);
});

test("the import check catches node:, bare builtins, packages, dynamic imports and src/node", () => {
  const file = join(distSrc, "ring.js");
  const core = new Set([join(distSrc, "layout.js")]);
  const source = [
    'import { layout } from "./layout.js";',
    'import fs from "node:fs";',
    'import { Worker } from "worker_threads";',
    'export { x } from "some-package";',
    'const m = await import("node:os");',
    'export * from "./node/index.js";',
  ].join("\n");
  assert.deepEqual(importProblems(file, source, core), [
    'ring.js imports "node:fs": not a core file (a Node builtin or a package)',
    'ring.js imports "worker_threads": not a core file (a Node builtin or a package)',
    'ring.js imports "some-package": not a core file (a Node builtin or a package)',
    'ring.js imports "node:os": not a core file (a Node builtin or a package)',
    'ring.js imports "./node/index.js": not a core file (src/node/ is Node-only; nothing outside src/)',
  ]);
});

test("the core loads where SharedArrayBuffer is absent (a page that is not cross-origin isolated)", async () => {
  const script = [
    "delete globalThis.SharedArrayBuffer;",
    `const core = await import(${JSON.stringify(new URL("../../src/index.js", import.meta.url).href)});`,
    "console.log(typeof core.createRing, typeof core.readGeometry);",
  ].join("\n");
  const stdout = await new Promise<string>((ok, fail) =>
    execFile(process.execPath, ["--input-type=module", "-e", script], { timeout: 30_000 }, (err, out, errOut) => (err ? fail(new Error(errOut || err.message)) : ok(out))),
  );
  assert.equal(stdout.trim(), "function function");
});

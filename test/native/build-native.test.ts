/**
 * scripts/build-native.mjs: the addon is built against the running Node's headers (never the
 * headers npm's `nodedir` names when they are another Node's), and a build that cannot succeed says
 * so in one line and does not fail the install.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { run } from "../cli/urb-process.js";

const SCRIPT = fileURLToPath(new URL("../../../scripts/build-native.mjs", import.meta.url));

interface Choice {
  nodedir: string | undefined;
  notes: string[];
}
type Choose = (env: Record<string, string | undefined>, execPath: string, versions: { node: string; modules: string }) => Choice;

/** A directory laid out like a Node install: bin/node and include/node/node_version.h of `version` / `modules`. */
function fakeNode(root: string, name: string, version: string, modules: string): string {
  const dir = join(root, name);
  mkdirSync(join(dir, "include", "node"), { recursive: true });
  mkdirSync(join(dir, "bin"), { recursive: true });
  const [major, minor, patch] = version.split(".");
  writeFileSync(
    join(dir, "include", "node", "node_version.h"),
    `#define NODE_MAJOR_VERSION ${major}\n#define NODE_MINOR_VERSION ${minor}\n#define NODE_PATCH_VERSION ${patch}\n` +
      `#ifdef NODE_EMBEDDER_MODULE_VERSION\n#define NODE_MODULE_VERSION NODE_EMBEDDER_MODULE_VERSION\n#else\n#define NODE_MODULE_VERSION ${modules}\n#endif\n`,
  );
  return dir;
}

test("nodedir: npm's nodedir of another Node is passed over for the headers beside the running node", async () => {
  const { chooseNodedir } = (await import(pathToFileURL(SCRIPT).href)) as { chooseNodedir: Choose };
  const root = mkdtempSync(join(tmpdir(), "urb-nodedir-"));
  try {
    const old = fakeNode(root, "node20", "20.20.2", "115");
    const running = fakeNode(root, "node24", "24.22.3", "137");
    const versions = { node: "24.22.3", modules: "137" };
    const mismatch = chooseNodedir({ npm_config_nodedir: old }, join(running, "bin", "node"), versions);
    assert.equal(mismatch.nodedir, running);
    assert.match(mismatch.notes.join("\n"), /has the headers of Node 20\.20\.2 \(ABI 115\), not of the running Node 24\.22\.3 \(ABI 137\)/);
    // A matching nodedir is used as npm says.
    assert.deepEqual(chooseNodedir({ npm_config_nodedir: running }, "/nowhere/bin/node", versions), { nodedir: running, notes: [] });
    // No headers of this Node anywhere: none (node-gyp's cache), never the wrong ones.
    assert.equal(chooseNodedir({ npm_config_nodedir: old }, "/nowhere/bin/node", versions).nodedir, undefined);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("build: with npm's nodedir naming another Node's headers, the addon is built for the running Node and loads", async () => {
  const root = mkdtempSync(join(tmpdir(), "urb-build-"));
  try {
    const other = fakeNode(root, "other", "99.0.0", "999");
    const out = join(root, "addon", "urb_native.node");
    const r = await run(process.execPath, [SCRIPT, "--out", out], { env: { ...process.env, npm_config_nodedir: other }, timeoutMs: 120_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, "", "a successful build prints nothing");
    assert.ok(existsSync(out));
    const load = await run(process.execPath, ["-e", `console.log(typeof require(${JSON.stringify(out)}).mapShared)`]);
    assert.equal(load.stdout.trim(), "function", load.stderr);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("build: a failing build says why in one line and exits 0 (the install goes on without file rings)", async () => {
  const root = mkdtempSync(join(tmpdir(), "urb-build-"));
  try {
    const out = join(root, "urb_native.node");
    const r = await run(process.execPath, [SCRIPT, "--out", out], { env: { ...process.env, CXX: "/bin/false", CC: "/bin/false" }, timeoutMs: 120_000 });
    assert.equal(r.code, 0);
    const lines = r.stderr.trim().split("\n");
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0] ?? "", /^unified-ring-buffer: native addon not built \(.+; full log in .+\); file rings .* are unavailable/);
    assert.equal(existsSync(out), false);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

#!/usr/bin/env node
/**
 * Builds the optional native addon (native/urb_native.cc -> build/Release/urb_native.node) with
 * npm's own node-gyp, against the installed Node headers. Run by `npm install` / `npm ci` (the
 * package's install script) and by `npm run build:native`.
 *
 * The addon is optional: only file rings (unified-ring-buffer/node createFileRing/openFileRing)
 * need it. So a failed build never fails the install: it prints one warning line saying why and
 * how to retry, keeps node-gyp's output in build/native-build.log, and exits 0.
 * Set URB_SKIP_NATIVE=1 to skip the build.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const warn = (why) =>
  console.warn(
    `unified-ring-buffer: native addon not built (${why}); file rings (createFileRing/openFileRing) are unavailable, ` +
      "everything else works. To build it: install python3, make and a C++ compiler, then run `npm rebuild unified-ring-buffer` " +
      "(in a checkout: `npm run build:native`).",
  );

/** npm's bundled node-gyp: npm names it in npm_config_node_gyp for install scripts; else look beside npm. */
function findNodeGyp() {
  const fromNpm = process.env.npm_config_node_gyp;
  if (fromNpm && existsSync(fromNpm)) return fromNpm;
  const candidates = [];
  if (process.env.npm_execpath) candidates.push(join(dirname(process.env.npm_execpath), "..", "node_modules", "node-gyp", "bin", "node-gyp.js"));
  candidates.push(join(dirname(process.execPath), "..", "lib", "node_modules", "npm", "node_modules", "node-gyp", "bin", "node-gyp.js"));
  for (const c of candidates) if (existsSync(c)) return c;
  try {
    return createRequire(import.meta.url).resolve("node-gyp/bin/node-gyp.js");
  } catch {
    return undefined;
  }
}

function main() {
  if (process.env.URB_SKIP_NATIVE === "1") {
    warn("URB_SKIP_NATIVE=1");
    return;
  }
  if (process.platform === "win32") {
    warn("Windows has no mmap/futex; file rings are for Linux (and other POSIX systems without cross-process wakeups)");
    return;
  }
  const gyp = findNodeGyp();
  if (gyp === undefined) {
    warn("npm's node-gyp was not found");
    return;
  }
  // Build against the headers of the running Node (never download them): npm passes its nodedir
  // setting in npm_config_nodedir; outside npm, use the headers installed beside this node binary.
  const args = [gyp, "rebuild"];
  const prefix = join(dirname(process.execPath), "..");
  if (!process.env.npm_config_nodedir && existsSync(join(prefix, "include", "node", "common.gypi"))) args.push(`--nodedir=${prefix}`);
  const r = spawnSync(process.execPath, args, { cwd: root, encoding: "utf8", env: process.env });
  const log = `${r.stdout ?? ""}${r.stderr ?? ""}${r.error ? String(r.error) : ""}`;
  mkdirSync(join(root, "build"), { recursive: true });
  writeFileSync(join(root, "build", "native-build.log"), log);
  if (r.status !== 0 || !existsSync(join(root, "build", "Release", "urb_native.node"))) {
    const lines = log.split("\n").map((l) => l.trim());
    const why = lines.find((l) => /error:|not found/i.test(l)) ?? lines.find((l) => /ERR! stack Error/.test(l)) ?? `node-gyp exited with ${r.status}`;
    warn(`${why.slice(0, 160)}; full log in build/native-build.log`);
  }
}

main();

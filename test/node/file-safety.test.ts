/**
 * File rings and trace outputs on a shared machine (issue 17): no writing through planted links,
 * 0600 for trace data, no ring of another user opened silently, a file shrinking under its mapping
 * detected at page switches instead of a SIGBUS, a typed error for an existing path, and writers
 * tagged with their pid so recovery knows who is dead.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { chownSync, chmodSync, closeSync, existsSync, ftruncateSync, lstatSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { createRing, RingFormatError } from "../../src/index.js";
import { FileRingExistsError, FileRingOwnerError, createFileRing, dumpRing, openFileRing, pipeToFile } from "../../src/node/index.js";
import { liveProducers } from "../../src/node/producers.js";
import { removeFile, ringPath } from "./children.js";

const OPTIONS = { lanes: 1, sharedLanes: 1, pageSize: 1024, pagesPerLane: 4, metadataBytes: 1024 } as const;

test("createFileRing on an existing path (or a link there) throws FileRingExistsError (code EEXIST) naming it, and leaves no temporary file", () => {
  const path = ringPath("exists");
  const dir = mkdtempSync(join(tmpdir(), "urb-link-"));
  try {
    createFileRing(path, OPTIONS);
    assert.throws(() => createFileRing(path, OPTIONS), (e: unknown) => {
      assert.ok(e instanceof FileRingExistsError);
      assert.equal(e.code, "EEXIST");
      assert.equal(e.path, path);
      assert.match(e.message, /^Cannot create file ring: .* already exists \(open it with openFileRing, or pass \{ replace: true \} to replace it\)$/);
      return true;
    });
    assert.deepEqual(readdirSync(dirname(path)).filter((f) => f.startsWith(basename(path)) && f.endsWith(".tmp")), []);
    // A link planted at the path: refused, and with replace the link itself is replaced, not its target.
    const target = join(dir, "victim");
    writeFileSync(target, "precious");
    const link = join(dir, "ring");
    symlinkSync(target, link);
    assert.throws(() => createFileRing(link, OPTIONS), FileRingExistsError);
    createFileRing(link, { ...OPTIONS, replace: true });
    assert.equal(readFileSync(target, "utf8"), "precious");
    assert.ok(lstatSync(link).isFile());
    assert.equal(statSync(link).mode & 0o777, 0o600);
  } finally {
    removeFile(path);
    rmSync(dir, { recursive: true, force: true });
  }
});

test("openFileRing refuses a ring file owned by another user unless { allowForeignOwner: true }", { skip: process.getuid?.() !== 0 && "needs root (chown)" }, () => {
  const path = ringPath("foreign");
  try {
    createFileRing(path, OPTIONS);
    chownSync(path, 65534, 65534);
    assert.throws(() => openFileRing(path), (e: unknown) => {
      assert.ok(e instanceof FileRingOwnerError);
      assert.equal(e.uid, 65534);
      assert.match(e.message, /is owned by user 65534, not by this process's user 0; .* pass \{ allowForeignOwner: true \}/);
      return true;
    });
    assert.equal(openFileRing(path, { allowForeignOwner: true }).geometry.lanes, 2);
    assert.throws(() => openFileRing(path, { allowForeignOwners: true } as never), { name: "TypeError", message: /unknown option "allowForeignOwners" \(did you mean "allowForeignOwner"\?\)/ });
    assert.throws(() => createFileRing(`${path}-2`, { lane: 1 } as never), { name: "TypeError", message: /Cannot create file ring: unknown option "lane"/ });
  } finally {
    removeFile(path);
  }
});

test("a ring file that shrinks under a writer and a reader: the next page switch throws RingFormatError, never a SIGBUS", () => {
  const path = ringPath("shrink");
  try {
    const ring = createFileRing(path, { ...OPTIONS, sharedLanes: 0 });
    const w = ring.writer();
    const payload = new Uint8Array(200);
    for (let i = 0; i < 3; i++) assert.equal(w.write(1, payload), true); // page 0 of lane 0
    // Another process truncates the file: the last page of the ring is gone (lane 0's first pages stay mapped).
    const fd = openSync(path, "r+");
    ftruncateSync(fd, ring.geometry.totalBytes - ring.geometry.pageSize);
    closeSync(fd);
    const shrank = { name: "RingFormatError", message: /file shrank to \d+ bytes under the mapping, the ring needs \d+/ };
    assert.throws(() => {
      for (let i = 0; i < 10; i++) w.write(1, payload); // the fifth write needs page 1
    }, shrank);
    assert.throws(() => ring.iterator().read(() => {}), shrank);
    assert.throws(() => openFileRing(path), RingFormatError, "and opening it again says what is wrong");
  } finally {
    removeFile(path);
  }
});

test("file-ring writers carry this process's pid by default; a SIGKILLed writer is then reported dead and repaired by urb recover", async () => {
  const path = ringPath("pid");
  const cwd = mkdtempSync(join(tmpdir(), "urb-recover-"));
  try {
    const ring = createFileRing(path, OPTIONS);
    const w = ring.writer();
    assert.deepEqual(liveProducers(ring).map((p) => p.tag), [process.pid]);
    w.close();
    const node = new URL("../../src/node/index.js", import.meta.url).href;
    const script = `const { openFileRing } = await import(${JSON.stringify(node)});
      const w = openFileRing(${JSON.stringify(path)}).writer({ lane: 0 });
      w.write(1, new Uint8Array(8));
      w.reserve(2, 8); // never committed
      process.kill(process.pid, "SIGKILL");`;
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: "inherit" });
    const signal = await new Promise((ok) => child.once("exit", (_code, sig) => ok(sig)));
    assert.equal(signal, "SIGKILL");
    const urb = fileURLToPathOf("../../src/cli/main.js");
    const r = await new Promise<{ code: number | null; out: string }>((ok) => {
      const p = spawn(process.execPath, [urb, "recover", path], { cwd, stdio: ["ignore", "pipe", "inherit"] });
      let out = "";
      p.stdout.setEncoding("utf8").on("data", (s: string) => (out += s));
      p.once("close", (code) => ok({ code, out }));
    });
    assert.equal(r.code, 0);
    assert.match(r.out, /1 reserved but never committed, skipped; 1 dead producer repaired\)/);
    assert.doesNotMatch(r.out, /still alive/);
    // Without -o, the trace goes to the current directory (not beside the ring in /dev/shm), 0600.
    const out = join(cwd, `${basename(path)}.urb`);
    assert.ok(existsSync(out), r.out);
    assert.ok(!existsSync(`${path}.urb`));
    assert.equal(statSync(out).mode & 0o777, 0o600);
  } finally {
    removeFile(path);
    rmSync(cwd, { recursive: true, force: true });
  }
});

test("dumpRing and pipeToFile: 0600 files, an existing file is made 0600, and a link to a file is refused, its target untouched", () => {
  const dir = mkdtempSync(join(tmpdir(), "urb-out-"));
  try {
    const ring = createRing({ lanes: 1, sharedLanes: 0 });
    ring.writer().write(1, new Uint8Array(4));
    const fresh = join(dir, "fresh.urb");
    dumpRing(ring, fresh);
    assert.equal(statSync(fresh).mode & 0o777, 0o600);
    const old = join(dir, "old.urb");
    writeFileSync(old, "x");
    chmodSync(old, 0o644);
    dumpRing(ring, old);
    assert.equal(statSync(old).mode & 0o777, 0o600);
    const target = join(dir, "victim");
    writeFileSync(target, "precious");
    chmodSync(target, 0o644);
    const link = join(dir, "link.urb");
    symlinkSync(target, link);
    const refused = { code: "ELOOP", message: /Cannot write .*link\.urb: it is a symbolic link to a file, and trace output is never written through a link/ };
    assert.throws(() => dumpRing(ring, link), refused);
    assert.throws(() => pipeToFile(ring, link), refused);
    assert.equal(readFileSync(target, "utf8"), "precious");
    assert.equal(statSync(target).mode & 0o777, 0o644);
    // A link to a device is written through, as the device it names.
    const devnull = join(dir, "null.urb");
    symlinkSync("/dev/null", devnull);
    dumpRing(ring, devnull);
    assert.equal(statSync("/dev/null").mode & 0o777, 0o666);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

function fileURLToPathOf(relative: string): string {
  return new URL(relative, import.meta.url).pathname;
}

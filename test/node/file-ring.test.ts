/**
 * File rings (src/node/file-ring.ts): creation (mode 0600, size, atomic publication), attach from
 * another object, thread and process, validation of hostile files (truncated, zero-filled,
 * randomly corrupted: typed errors, no crash, no hang), the mapping's lifetime, and what happens
 * without the native addon.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { tmpdir } from "node:os";
import { Worker } from "node:worker_threads";
import { once } from "node:events";
import fc from "fast-check";
import { RingFormatError, createRing, defineEvent, eventRegistry, ringBytes, t } from "../../src/index.js";
import { createFileRing, openFileRing } from "../../src/node/index.js";
import { removeFile, ringPath, startChild } from "./children.js";

const small = { lanes: 2, sharedLanes: 1, pageSize: 256, pagesPerLane: 4, maxProducers: 8, metadataBytes: 1024 } as const;

test("createFileRing() makes a 0600 file of exactly the ring's size, published whole, and openFileRing() attaches to it", () => {
  const path = ringPath("create");
  try {
    const ring = createFileRing(path, { ...small, mode: "discard" });
    const st = statSync(path);
    assert.equal(st.mode & 0o777, 0o600);
    assert.equal(st.size, ringBytes(small));
    assert.deepEqual(readdirSync(dirname(path)).filter((f) => f.startsWith(`${basename(path)}.`)), [], "no temporary file is left behind");
    const other = openFileRing(path);
    assert.deepEqual(other.geometry, ring.geometry);
    assert.equal(other.mode, "discard");
    ring.writer().write(3, new Uint8Array([1, 2, 3]));
    const got = other.consumer().drain();
    assert.deepEqual(got.map((r) => [r.type, [...r.payload]]), [[3, [1, 2, 3]]], "the second mapping sees the first one's record");
    assert.throws(() => createFileRing(path, small), { code: "EEXIST" });
    const fresh = createFileRing(path, { ...small, replace: true });
    assert.equal(fresh.stats().total.written, 0, "replace: a new, empty ring under the same name");
    assert.equal(ring.stats().total.written, 1, "the old mapping keeps the old ring");
    assert.throws(() => createFileRing(ringPath("bad"), { ...small, pageSize: 100 }), RangeError);
  } finally {
    removeFile(path);
  }
});

test("a file ring's buffer posted to a worker: attachFileRing() there writes into the same file", async () => {
  const path = ringPath("worker");
  try {
    const ring = createFileRing(path, small);
    const worker = new Worker(new URL("./fixtures/file-ring-worker.js", import.meta.url), { workerData: { buffer: ring.buffer, count: 20 } });
    // Listen for the exit before the message arrives: Node 26 can deliver both in one turn.
    const exited = once(worker, "exit");
    await once(worker, "message");
    await exited;
    const seen = openFileRing(path).iterator().drain();
    assert.deepEqual(seen.map((r) => r.payload[0]), Array.from({ length: 20 }, (_, i) => i));
  } finally {
    removeFile(path);
  }
});

test("the mapping lives while any SharedArrayBuffer over it does, in any thread, and is unmapped after the last one", { timeout: 60_000 }, async () => {
  const path = ringPath("gc");
  try {
    const child = startChild("gc-unmap", { path }, {}, ["--expose-gc"]);
    const { steps } = await child.next<{ steps: Record<string, boolean> }>((m) => m["type"] === "result");
    assert.deepEqual(steps, { afterCreate: true, afterMainDropped: true, afterAllDropped: false });
    assert.equal(await child.exited, 0);
  } finally {
    removeFile(path);
  }
});

test("openFileRing() refuses what is not a ring file with a typed error", () => {
  const dir = mkdtempSync(join(tmpdir(), "urb-open-"));
  try {
    assert.throws(() => openFileRing(join(dir, "missing")), { code: "ENOENT" });
    assert.throws(() => openFileRing(dir), { code: "EISDIR" });
    const fifo = join(dir, "fifo");
    execFileSync("mkfifo", [fifo]);
    assert.throws(() => openFileRing(fifo), { name: "RingFormatError", message: `Cannot open file ring: ${fifo} is not a regular file` });
    const empty = join(dir, "empty");
    writeFileSync(empty, new Uint8Array(0));
    assert.throws(() => openFileRing(empty), { name: "RingFormatError", message: "Cannot attach ring: buffer has 0 bytes, less than the 256-byte header" });
    const zeros = join(dir, "zeros");
    writeFileSync(zeros, new Uint8Array(ringBytes(small)));
    assert.throws(() => openFileRing(zeros), {
      name: "RingFormatError",
      message: `Cannot attach ring: bad magic 0x0 at byte 0, expected 0x31425255 ("URB1"); this is not a ring (file ${zeros})`,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** A ring image with records on every lane and a typed event schema, to corrupt. */
function sampleImage(): Uint8Array {
  const ring = createRing({ ...small, mode: "overwrite" });
  const ev = defineEvent(ring, "tick", { n: t.u32, label: t.string(16) });
  const own = ring.writer();
  const shared = ring.writer({ lane: "shared" });
  for (let i = 0; i < 30; i++) {
    ev.write(own, { n: i, label: `own ${i}` });
    shared.write(5, new Uint8Array([i, i + 1, i + 2]));
  }
  return new Uint8Array(ring.buffer).slice();
}

/** Open and read everything: the only exception allowed is RingFormatError. Returns what happened. */
function openAndReadAll(path: string): "opened" | "refused" {
  let ring;
  try {
    ring = openFileRing(path);
  } catch (e) {
    if (e instanceof RingFormatError) return "refused";
    throw e;
  }
  try {
    const reg = eventRegistry(ring);
    const it = ring.iterator();
    for (let calls = 0; calls < 1000 && it.read((r) => void reg.decode(r), 512) > 0; calls++) {
      // bounded: a corrupt ring must not make this loop forever
    }
    ring.stats();
  } catch (e) {
    if (!(e instanceof RingFormatError)) throw e;
  }
  return "opened";
}

test("truncated files are refused: every length short of the ring", () => {
  const image = sampleImage();
  const path = ringPath("truncated");
  try {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: image.length - 1 }), (len) => {
        writeFileSync(path, image.subarray(0, len));
        assert.throws(() => openFileRing(path), RingFormatError);
      }),
      { numRuns: 60 },
    );
    writeFileSync(path, image.subarray(0, image.length - 8));
    assert.throws(() => openFileRing(path), {
      name: "RingFormatError",
      message: `Cannot attach ring: buffer has ${image.length - 8} bytes but the header describes a ring of ${image.length} bytes (truncated?) (file ${path})`,
    });
    writeFileSync(path, image);
    assert.equal(openAndReadAll(path), "opened", "the intact image opens");
  } finally {
    removeFile(path);
  }
});

test("randomly corrupted files: a typed error or a readable ring, never a crash, another error or a hang", () => {
  const image = sampleImage();
  const path = ringPath("corrupt");
  const outcomes = { opened: 0, refused: 0 };
  try {
    fc.assert(
      fc.property(
        fc.array(fc.record({ at: fc.nat({ max: image.length - 1 }), byte: fc.integer({ min: 0, max: 255 }) }), { minLength: 1, maxLength: 12 }),
        fc.array(fc.record({ word: fc.nat({ max: (256 >> 2) - 1 }), value: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }) }), { maxLength: 3 }),
        (bytes, headerWords) => {
          const bad = image.slice();
          for (const { at, byte } of bytes) bad[at] = byte;
          const view = new DataView(bad.buffer);
          for (const { word, value } of headerWords) view.setInt32(word * 4, value, true);
          writeFileSync(path, bad);
          outcomes[openAndReadAll(path)]++;
        },
      ),
      { numRuns: 150 },
    );
  } finally {
    removeFile(path);
  }
  assert.ok(outcomes.refused > 0 && outcomes.opened > 0, `both outcomes happen: ${JSON.stringify(outcomes)}`);
});

test("without the native addon the file-ring calls say why and how to build it; everything else works", { timeout: 60_000 }, async () => {
  const path = ringPath("no-addon");
  const missing = "/nonexistent/urb_native.node";
  const child = startChild("no-addon", { path }, { URB_NATIVE_ADDON: missing });
  const r = await child.next<{ errors: { name: string; message: string; isNativeAddonError: boolean }[]; available: boolean; types: number[]; readable: boolean }>(
    (m) => m["type"] === "result",
  );
  const expected =
    `Cannot use file rings: the native addon did not load from ${missing} (Cannot find module '${missing}'). ` +
    "Build it with `npm rebuild unified-ring-buffer` (in a checkout of the package: `npm run build:native`); " +
    "building needs python3, make and a C++ compiler (g++ or clang++).";
  assert.deepEqual(r.errors, [
    { name: "NativeAddonError", message: expected, isNativeAddonError: true },
    { name: "NativeAddonError", message: expected, isNativeAddonError: true },
  ]);
  assert.equal(r.available, false);
  assert.deepEqual(r.types, [5], "the core ring works");
  assert.equal(r.readable, true);
  assert.throws(() => readFileSync(path), { code: "ENOENT" }, "no file was made");
  assert.equal(await child.exited, 0);
});

/**
 * The Python reference reader (tools/python/urb_read.py, standard library only, written from
 * docs/FORMAT.md) decodes ring files written by Node exactly as the TypeScript reader does: the
 * same records, lanes, timestamps, loss markers and, for typed events, the same field values
 * decoded with the schemas in the ring's metadata. Compared lane by lane and merged by time.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { type RingBuffer, defineEvent, eventRegistry, t } from "../../src/index.js";
import { createFileRing, openFileRing } from "../../src/node/index.js";
import { removeFile, ringPath } from "./children.js";

const SCRIPT = fileURLToPath(new URL("../../../tools/python/urb_read.py", import.meta.url));
const python = spawnSync("python3", ["--version"]).status === 0;

type Entry = Record<string, unknown>;

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
function jsonNumber(v: number): number | string {
  if (Number.isNaN(v)) return "NaN";
  if (!Number.isFinite(v)) return v > 0 ? "Infinity" : "-Infinity";
  return v;
}
function jsonValue(v: unknown): unknown {
  if (typeof v === "bigint") return String(v);
  if (typeof v === "number") return jsonNumber(v);
  if (v instanceof Uint8Array) return hex(v);
  return v;
}

/** What the TypeScript reader delivers (an iterator over `lanes`), in the Python reader's JSON shape. */
function tsEntries(ring: RingBuffer, lanes?: number[]): Entry[] {
  const reg = eventRegistry(ring);
  const out: Entry[] = [];
  const it = ring.iterator(lanes === undefined ? {} : { lanes });
  it.read((r) => {
    const d = reg.decode(r);
    const processName = reg.processNames().get(r.pid); // FORMAT.md 12.6
    const who = { pid: r.pid, threadId: r.threadId, threadName: r.threadName, ...(processName === undefined ? {} : { processName }) }; // FORMAT.md 8.5
    if (d.kind === "lost") out.push({ lane: d.lane, kind: "lost", time: jsonNumber(d.timestamp), lost: jsonNumber(d.lost), cause: d.cause, ...who });
    else if (d.kind === "event") {
      const fields = Object.fromEntries(Object.entries(d.fields).map(([k, v]) => [k, jsonValue(v)]));
      out.push({ lane: d.lane, kind: "event", type: d.id, name: d.name, time: jsonNumber(d.timestamp), fields, truncated: [...d.truncated], ...who });
    } else {
      out.push({ lane: d.lane, kind: d.type < 4096 ? "data" : "raw", type: d.type, time: jsonNumber(d.timestamp), payload: hex(d.payload), ...who });
    }
  });
  it.close();
  return out;
}

/** What urb_read.py prints with --json (warnings of raw records checked, then dropped). */
function pyEntries(path: string, args: string[] = []): Entry[] {
  const out = execFileSync("python3", [SCRIPT, path, "--json", ...args], { encoding: "utf8", maxBuffer: 64 << 20 });
  return out
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => {
      const e = JSON.parse(l) as Entry;
      if (e["kind"] === "raw") {
        assert.equal(typeof e["warning"], "string");
        delete e["warning"];
      }
      return e;
    });
}

function compare(path: string, ring: RingBuffer): number {
  let total = 0;
  for (let lane = 0; lane < ring.geometry.lanes; lane++) {
    const ts = tsEntries(ring, [lane]);
    assert.deepStrictEqual(pyEntries(path, ["--lane", String(lane)]), ts, `lane ${lane}: Python and TypeScript agree`);
    total += ts.length;
  }
  assert.deepStrictEqual(pyEntries(path, ["--merge"]), tsEntries(ring), "merged by time, both agree");
  return total;
}

const ENUM_BIG = Array.from({ length: 300 }, (_, i) => `v${i}`);

function writeTyped(ring: RingBuffer, rounds: number): void {
  const all = defineEvent(ring, "all_types", {
    a: t.i8, b: t.u8, c: t.i16, d: t.u16, e: t.i32, f: t.u32, g: t.i64, h: t.u64, i: t.f32, j: t.f64, k: t.bool,
    arr: t.array(5), small: t.enum(["GET", "POST", "PUT"]), big: t.enum(ENUM_BIG), s: t.string(12), bin: t.bytes(6),
  });
  const note = defineEvent(ring, "note", { text: t.string(40), level: t.u8 });
  const specials = [0, -0, 1.5, -2.25, Number.NaN, Infinity, -Infinity, 1e-300, 123456789.123];
  const own = ring.writer();
  const shared = ring.writer({ lane: "shared" });
  for (let n = 0; n < rounds; n++) {
    const w = n % 3 === 2 ? shared : own;
    all.write(w, {
      a: -128 + (n % 256), b: n % 256, c: -32768 + n, d: 65535 - n, e: -(2 ** 31) + n, f: 2 ** 32 - 1 - n,
      g: -(2n ** 63n) + BigInt(n), h: 2n ** 64n - 1n - BigInt(n), i: specials[n % specials.length] as number, j: (specials[(n + 3) % specials.length] as number) * n,
      k: n % 2 === 0, arr: new Uint8Array([n, n + 1, 255]), small: n % 3, big: ENUM_BIG[(n * 7) % 300] as string,
      s: n % 4 === 0 ? `héllo wörld ✓ ${n}` : `s${n}`, bin: new Uint8Array(n % 9).fill(n & 0xff),
    });
    note.write(w, { text: `note ${n} ${"∑".repeat(n % 20)}`, level: n % 7 });
    w.write(n % 4096, new Uint8Array([n & 0xff, 1, 2, 3].slice(0, 1 + (n % 4))));
    const at = w.reserve(9, 8); // a discarded reservation: neither reader lists it
    if (at >= 0) w.discard(at);
  }
  // A record of a schema id with a payload too short for its schema: both list it raw.
  own.write(4096, new Uint8Array([1, 2, 3]));
}

test("urb_read.py decodes a ring file written by Node as the TypeScript reader does (typed events, raw records, overwritten pages)", { skip: !python && "python3 not found" }, () => {
  const path = ringPath("py-overwrite");
  try {
    const ring = createFileRing(path, { lanes: 2, sharedLanes: 1, pageSize: 1024, pagesPerLane: 4, mode: "overwrite", metadataBytes: 8192 });
    writeTyped(ring, 300);
    eventRegistry(ring).nameProcess(process.pid, "node py-reader ∑"); // both readers name the writer's process
    assert.ok(ring.stats().total.overrun > 0, "pages were overwritten: the readers start at the tail");
    const n = compare(path, openFileRing(path));
    assert.ok(n > 60, `compared ${n} records`); // fewer than a ring of 1 KiB pages held before IDENTITY records (87 now)
  } finally {
    removeFile(path);
  }
});

test("urb_read.py: drops reported in-band (LOST records) and TIME records for deltas beyond 32 bits", { skip: !python && "python3 not found" }, () => {
  const path = ringPath("py-discard");
  let now = 0;
  const clock = () => now;
  try {
    const ring = createFileRing(path, { lanes: 1, sharedLanes: 1, pageSize: 512, pagesPerLane: 4, mode: "discard", clock, metadataBytes: 1024 });
    const ev = defineEvent(ring, "tick", { n: t.u32 });
    const own = ring.writer();
    const shared = ring.writer({ lane: "shared" });
    for (let n = 0; n < 200; n++) {
      now += n % 10 === 0 ? 2 ** 33 + 0.5 : 1000; // every tenth record is more than 2^32 units after its page's base: a TIME record
      ev.write(own, { n });
      shared.write(1, new Uint8Array([n & 0xff]));
    }
    const st = ring.stats();
    assert.ok(st.total.dropped > 0, "the lanes filled up: records were dropped");
    ring.consumer().drain(60); // free some pages, then write again: the next records carry the LOST counts
    for (let n = 0; n < 10; n++) {
      now += 1000;
      ev.write(own, { n: 1000 + n });
      shared.write(1, new Uint8Array([n]));
    }
    const attached = openFileRing(path, { clock });
    compare(path, attached);
    const kinds = tsEntries(attached).map((e) => e["kind"]);
    assert.ok(kinds.includes("lost") && kinds.includes("event") && kinds.includes("data"));
  } finally {
    removeFile(path);
  }
});

test("urb_read.py starts each lane at its tail, as the TypeScript iterator does: after a partial consume and after a clear", { skip: !python && "python3 not found" }, () => {
  const path = ringPath("py-tail");
  try {
    const ring = createFileRing(path, { lanes: 1, sharedLanes: 1, pageSize: 512, pagesPerLane: 4, mode: "discard", metadataBytes: 0 });
    const own = ring.writer();
    const shared = ring.writer({ lane: "shared" });
    for (let n = 0; n < 30; n++) {
      own.write(1, new Uint8Array([n]));
      shared.write(2, new Uint8Array([n, n]));
    }
    const c = ring.consumer({ lanes: [0] });
    assert.equal(c.read(() => {}, 7), 7); // takes a run: the tail stands inside a page
    c.close();
    assert.equal(ring.clear({ lanes: [1] }), 30);
    for (let n = 30; n < 35; n++) shared.write(2, new Uint8Array([n, n]));
    const attached = openFileRing(path);
    const n = compare(path, attached);
    const sharedEntries = tsEntries(attached, [1]);
    assert.deepEqual(sharedEntries.map((e) => e["payload"]), ["1e1e", "1f1f", "2020", "2121", "2222"], "the shared lane shows only what came after the clear");
    assert.ok(n > 5 && n < 30 + 5, `compared ${n} records`);
  } finally {
    removeFile(path);
  }
});

test("urb_read.py refuses files that are not rings, with exit status 2 and the reason", { skip: !python && "python3 not found" }, () => {
  const path = ringPath("py-bad");
  try {
    writeFileSync(path, new Uint8Array(4096));
    const r = spawnSync("python3", [SCRIPT, path], { encoding: "utf8" });
    assert.equal(r.status, 2);
    assert.equal(r.stderr, `${path}: not a valid ring: bad magic 0x0 at byte 0: not a ring\n`);
    writeFileSync(path, new Uint8Array(0));
    assert.equal(spawnSync("python3", [SCRIPT, path], { encoding: "utf8" }).stderr, `${path}: not a valid ring: 0 bytes, less than the 256-byte ring header\n`);
  } finally {
    removeFile(path);
  }
});

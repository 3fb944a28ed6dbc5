import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { Worker } from "node:worker_threads";
import {
  CapacityError,
  RingFormatError,
  SCHEMA_ID_BASE,
  SCHEMA_ID_LAST,
  SchemaError,
  attachRing,
  createRing,
  defineEvent,
  eventRegistry,
  formatSchema,
  t,
  type FieldsSpec,
} from "../../src/index.js";

const small = { lanes: 1, sharedLanes: 1, pagesPerLane: 4, clock: "counter" } as const;
const http = { method: t.enum(["GET", "POST"]), status: t.u16, durationNs: t.u64, url: t.string(64) };

test("the same name with the same fields returns the same id, in this and in a freshly attached registry", () => {
  const ring = createRing(small);
  const a = defineEvent(ring, "http_request", http);
  const b = defineEvent(ring, "http_request", { ...http });
  assert.equal(a.id, SCHEMA_ID_BASE);
  assert.equal(b.id, a.id);
  const other = defineEvent(ring, "other", { x: t.u8 });
  assert.equal(other.id, SCHEMA_ID_BASE + 1);
  const again = attachRing(ring.buffer); // a second RingBuffer object: its own registry, scanning memory
  assert.equal(defineEvent(again, "http_request", http).id, a.id);
  assert.equal(eventRegistry(again).schemaByName("other")?.id, other.id);
  assert.equal(eventRegistry(again).used, eventRegistry(ring).used, "no entry was added by the repeats");
});

test("the same name with different fields is a SchemaError showing both", () => {
  const ring = createRing(small);
  defineEvent(ring, "http_request", http);
  for (const fields of [{ ...http, status: t.u32 }, { ...http, url: t.string(65) }, { status: t.u16, method: http.method, durationNs: t.u64, url: t.string(64) }]) {
    assert.throws(
      () => defineEvent(attachRing(ring.buffer), "http_request", fields as FieldsSpec),
      (e: unknown) => e instanceof SchemaError && /already defined \(id 4096\) with different fields/.test(e.message) && e.event === "http_request",
    );
  }
});

const badTypes: [unknown, RegExp][] = [
  [{ type: "string", max: 0 }, /string maximum length must be an integer from 1 to 32767, received 0/],
  [{ type: "bytes", max: 40000 }, /bytes maximum length must be an integer from 1 to 32767/],
  [{ type: "bytes", max: 1.5 }, /bytes maximum length/],
  [{ type: "array", length: 0 }, /array length must be an integer from 1/],
  [{ type: "enum", names: [] }, /enum names must be an array of 1 to/],
  [{ type: "enum", names: ["a", "a"] }, /enum name "a" appears twice/],
  [{ type: "enum", names: ["a", ""] }, /enum names must be non-empty strings/],
  ["u128", /unknown field type "u128"/],
  [null, /unknown field type null/],
  [{ type: "string", max: 4000 }, /more than the ring's largest payload/],
];

test("bad schemas are refused with messages that name the event and the field", () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(fc.stringMatching(/^[a-z][a-z0-9]{0,5}$/), { minLength: 1, maxLength: 6 }),
      fc.nat(),
      fc.constantFrom(...badTypes),
      (names, pick, [bad, why]) => {
        const ring = createRing({ ...small, pageSize: 1024 });
        const badName = names[pick % names.length] as string;
        const fields: Record<string, unknown> = {};
        for (const n of names) fields[n] = n === badName ? bad : t.u32;
        assert.throws(
          () => defineEvent(ring, "ev", fields as FieldsSpec),
          (e: unknown) =>
            e instanceof SchemaError && e.field === badName && e.message.includes(`Cannot define event "ev": field "${badName}": `) && why.test(e.message),
        );
        assert.equal(eventRegistry(ring).used, 0, "nothing was written to the metadata area");
      },
    ),
    { numRuns: 100 },
  );
  const ring = createRing(small);
  assert.throws(() => defineEvent(ring, "ev", { "1x": t.u8 }), (e: unknown) => e instanceof SchemaError && e.field === "1x" && /identifier/.test(e.message));
  assert.throws(() => defineEvent(ring, "ev", { "a b": t.u8 }), (e: unknown) => e instanceof SchemaError && e.field === "a b");
  assert.throws(() => defineEvent(ring, "", {}), (e: unknown) => e instanceof SchemaError && /event name/.test(e.message));
  assert.throws(() => defineEvent(ring, "x".repeat(256), {}), /at most 255 bytes/);
  assert.throws(() => defineEvent(ring, "ev", [t.u8] as unknown as FieldsSpec), /fields must be an object/);
  // Many enum names switch the index to u16; an empty event is allowed.
  const e = defineEvent(ring, "wide", { e: t.enum(Array.from({ length: 300 }, (_, i) => `v${i}`)) });
  assert.equal(e.schema.fields[0]?.size, 2);
  assert.equal(defineEvent(ring, "empty", {}).schema.fixedBytes, 0);
});

test("no metadata area, a full area and exhausted ids are clear errors at definition time", () => {
  const none = createRing({ ...small, metadataBytes: 0 });
  assert.throws(() => defineEvent(none, "a", { x: t.u8 }), (e: unknown) => e instanceof CapacityError && /create the ring with metadataBytes/.test(e.message));

  const tiny = createRing({ ...small, metadataBytes: 64 });
  const first = defineEvent(tiny, "a", { x: t.u8 }); // 24-byte entry
  defineEvent(tiny, "b", { x: t.u8 });
  assert.throws(() => defineEvent(tiny, "c_long_name", { x: t.u8, y: t.u8 }), (e: unknown) => e instanceof CapacityError && /metadata area is full \(48 of 64 bytes used/.test(e.message));
  assert.equal(defineEvent(tiny, "a", { x: t.u8 }).id, first.id, "existing definitions still resolve");
  const w = tiny.writer();
  assert.ok(first.write(w, { x: 7 }), "writes are unaffected");

  const big = createRing({ ...small, metadataBytes: 200_000 });
  const reg = eventRegistry(big);
  for (let i = 0; i <= SCHEMA_ID_LAST - SCHEMA_ID_BASE; i++) reg.define(`e${i}`, {});
  assert.throws(() => reg.define("one_more", {}), (e: unknown) => e instanceof CapacityError && /schema ids \(4096\.\.8191\) are taken/.test(e.message));
  assert.equal(eventRegistry(attachRing(big.buffer)).schemas().length, SCHEMA_ID_LAST - SCHEMA_ID_BASE + 1);
});

test("unknown ids, raw types, short and malformed records decode as raw records with a warning", () => {
  const ring = createRing(small);
  const reg = eventRegistry(ring);
  const ev = reg.define("pair", { a: t.u32, s: t.string(8), e: t.enum(["x", "y"]) });
  const w = ring.writer();
  w.write(7, new Uint8Array([1, 2]));
  w.write(SCHEMA_ID_BASE + 50, new Uint8Array([3]));
  w.write(ev.id, new Uint8Array([1, 2])); // shorter than the fixed fields
  w.write(ev.id, new Uint8Array([0, 0, 0, 0, 0])); // no length prefix for s
  w.write(ev.id, new Uint8Array([0, 0, 0, 0, 0, 9, 0])); // s claims 9 bytes (max 8, none there)
  w.write(ev.id, new Uint8Array([0, 0, 0, 0, 5, 0, 0])); // enum index 5 of 2
  ev.write(w, { a: 1, s: "ok", e: "y" });
  const out = ring.consumer().drain().map((r) => reg.decode(r));
  const warnings = out.map((d) => (d.kind === "raw" ? d.warning : ""));
  assert.match(warnings[0] ?? "", /record type 7 is below the schema range/);
  assert.match(warnings[1] ?? "", /unknown event id 4146/);
  assert.match(warnings[2] ?? "", /record of 2 bytes is too short for event "pair" \(fixed fields need 5\)/);
  assert.match(warnings[3] ?? "", /field "s" has no length prefix/);
  assert.match(warnings[4] ?? "", /field "s" claims 9 bytes \(maximum 8/);
  assert.match(warnings[5] ?? "", /enum index 5, but there are 2 names/);
  assert.deepEqual(out[1]?.kind === "raw" ? [...out[1].payload] : [], [3]);
  assert.deepEqual(out[6], { kind: "event", id: ev.id, name: "pair", lane: 0, timestamp: out[6]?.timestamp, fields: { a: 1, s: "ok", e: "y" }, truncated: [] });
});

test("corrupt metadata is a RingFormatError with the byte offset; decode turns it into a raw record with a warning", () => {
  const ring = createRing(small);
  const reg = eventRegistry(ring);
  const ev = reg.define("a", { x: t.u8 });
  const at = ring.geometry.metadataOffset + reg.used;
  ring.core.i32[at >> 2] = (2 << 30) | 0x7fff8; // a COMMITTED entry far larger than the area
  assert.throws(() => eventRegistry(attachRing(ring.buffer)), (e: unknown) => e instanceof RingFormatError && e.byteOffset === at);
  const w = ring.writer();
  w.write(SCHEMA_ID_BASE + 1, new Uint8Array(1));
  ev.write(w, { x: 3 });
  const out = ring.consumer().drain().map((r) => reg.decode(r));
  assert.match(out[0]?.kind === "raw" ? out[0].warning : "", /cannot read the metadata area: .*entry at byte/);
  assert.equal(out[1]?.kind, "event");
  // A bad id inside an entry body.
  const ring2 = createRing(small);
  eventRegistry(ring2).define("a", { x: t.u8 });
  ring2.core.u8[ring2.geometry.metadataOffset + 4] = 9;
  assert.throws(() => eventRegistry(attachRing(ring2.buffer)), (e: unknown) => e instanceof RingFormatError && e.byteOffset === ring2.geometry.metadataOffset + 4 && /id is 4105, expected 4096/.test(e.message));
});

test("the textual form shows every field with its type, offset and size", () => {
  const ring = createRing(small);
  const ev = defineEvent(ring, "http_request", { ...http, tag: t.array(3), body: t.bytes(16), ok: t.bool });
  const text = formatSchema(ev.schema);
  assert.equal(
    text,
    [
      "name: http_request",
      "ID: 4096",
      "format:",
      "\tfield:enum8 method;\toffset:0;\tsize:1;\tvalues: GET=0 POST=1;",
      "\tfield:u16 status;\toffset:2;\tsize:2;",
      "\tfield:u64 durationNs;\toffset:8;\tsize:8;",
      "\tfield:string url;\toffset:20;\tsize:2+0..64;",
      "\tfield:u8[3] tag;\toffset:16;\tsize:3;",
      "\tfield:bytes body;\toffset:next;\tsize:2+0..16;",
      "\tfield:bool ok;\toffset:19;\tsize:1;",
      "payload: 20 fixed bytes (little-endian, natural alignment), then 2 variable field(s) in order (u16 length, bit 15 = truncated, then the bytes); at most 104 bytes",
      "",
    ].join("\n"),
  );
  assert.equal(eventRegistry(ring).describe(), text);
});

function runWorker(data: object): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL("../fixtures/schema-worker.js", import.meta.url), { workerData: data });
    worker.once("message", (m) => {
      resolve(m);
      void worker.terminate();
    });
    worker.once("error", reject);
  });
}

test("a worker that defines nothing decodes events defined and written on the main thread", async () => {
  const ring = createRing(small);
  const ev = defineEvent(ring, "http_request", http);
  const other = defineEvent(ring, "tick", { n: t.i32, big: t.i64 });
  const w = ring.writer();
  ev.write(w, { method: "POST", status: 201, durationNs: 1500n, url: "/x".repeat(40) });
  other.writeArgs(w, -3, -(2 ** 50));
  w.write(5, new Uint8Array([1]));
  const { out, text } = (await runWorker({ role: "decode", buffer: ring.buffer })) as { out: unknown[]; text: string };
  assert.deepEqual(
    out.map((d) => {
      const x = d as { kind: string; name?: string; fields?: unknown; truncated?: unknown; warning?: string };
      return x.kind === "event" ? [x.name, x.fields, x.truncated] : [x.kind, x.warning];
    }),
    [
      ["http_request", { method: "POST", status: 201, durationNs: 1500n, url: "/x".repeat(32) }, ["url"]],
      ["tick", { n: -3, big: -(2n ** 50n) }, []],
      ["raw", "record type 5 is below the schema range (4096..8191): a raw record"],
    ],
  );
  assert.equal(text, eventRegistry(ring).describe());
});

test("threads defining concurrently end with one id per (name, fields); a conflicting definition fails", async () => {
  for (let round = 0; round < 5; round++) {
    const ring = createRing(small);
    const barrier = new SharedArrayBuffer(8);
    const gate = new Int32Array(barrier);
    const jobs = [
      ...Array.from({ length: 3 }, () => ({ name: "same", fields: http })),
      ...Array.from({ length: 2 }, (_, i) => ({ name: `solo${i}`, fields: { x: t.u8 } })),
      { name: "clash", fields: { a: t.u8 } },
      { name: "clash", fields: { a: t.u16 } },
    ];
    const results = jobs.map((j) => runWorker({ role: "define", buffer: ring.buffer, barrier, ...j }));
    while (Atomics.load(gate, 0) < jobs.length) await new Promise((r) => setTimeout(r, 1));
    Atomics.store(gate, 1, 1); // go
    const got = (await Promise.all(results)) as { id?: number; error?: string }[];
    const same = got.slice(0, 3).map((g) => g.id);
    assert.ok(same[0] !== undefined && same.every((id) => id === same[0]), `one id for "same": ${JSON.stringify(got)}`);
    const solo = got.slice(3, 5).map((g) => g.id);
    assert.notEqual(solo[0], solo[1]);
    const clash = got.slice(5);
    assert.equal(clash.filter((g) => g.id !== undefined).length, 1, JSON.stringify(clash));
    assert.match(clash.find((g) => g.error !== undefined)?.error ?? "", /SchemaError: .*already defined/);
    const reg = eventRegistry(ring);
    assert.equal(reg.schemaByName("same")?.id, same[0]);
    assert.equal(reg.schemaByName("clash")?.id, clash.find((g) => g.id !== undefined)?.id);
    assert.equal(defineEvent(ring, "same", http).id, same[0]);
  }
});

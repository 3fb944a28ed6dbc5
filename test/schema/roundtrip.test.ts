import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { createRing, eventRegistry, t, type FieldType, type FieldsSpec, type RingWriter } from "../../src/index.js";
import { createEventType } from "../../src/schema/codec.js";

type Gen = { spec: FieldType; value: fc.Arbitrary<unknown>; expect: (v: unknown) => { value: unknown; truncated: boolean } };

const same = (v: unknown) => ({ value: v, truncated: false });
const int = (min: number, max: number): Gen["value"] => fc.integer({ min, max });

function utf8Prefix(s: string, max: number): { value: string; truncated: boolean } {
  const enc = new TextEncoder();
  let out = "";
  let n = 0;
  for (const ch of s) {
    const l = enc.encode(ch).length;
    if (n + l > max) return { value: out, truncated: true };
    out += ch;
    n += l;
  }
  return { value: out, truncated: false };
}

const fieldGen: fc.Arbitrary<Gen> = fc.oneof(
  fc.constant<Gen>({ spec: t.i8, value: int(-128, 127), expect: same }),
  fc.constant<Gen>({ spec: t.u8, value: int(0, 255), expect: same }),
  fc.constant<Gen>({ spec: t.i16, value: int(-32768, 32767), expect: same }),
  fc.constant<Gen>({ spec: t.u16, value: int(0, 65535), expect: same }),
  fc.constant<Gen>({ spec: t.i32, value: int(-(2 ** 31), 2 ** 31 - 1), expect: same }),
  fc.constant<Gen>({ spec: t.u32, value: fc.integer({ min: 0, max: 2 ** 31 - 1 }).chain((x) => fc.constantFrom(x, x * 2 + 1)), expect: same }),
  fc.constant<Gen>({
    spec: t.i64,
    value: fc.oneof(fc.bigInt(-(2n ** 63n), 2n ** 63n - 1n), fc.maxSafeInteger()),
    expect: (v) => same(BigInt(v as number | bigint)),
  }),
  fc.constant<Gen>({
    spec: t.u64,
    value: fc.oneof(fc.bigInt(0n, 2n ** 64n - 1n), fc.maxSafeNat()),
    expect: (v) => same(BigInt(v as number | bigint)),
  }),
  fc.constant<Gen>({ spec: t.f32, value: fc.float(), expect: same }),
  fc.constant<Gen>({ spec: t.f64, value: fc.double(), expect: same }),
  fc.constant<Gen>({ spec: t.bool, value: fc.boolean(), expect: same }),
  fc.integer({ min: 1, max: 24 }).map<Gen>((n) => ({
    spec: t.array(n),
    value: fc.uint8Array({ maxLength: n }),
    expect: (v) => {
      const out = new Uint8Array(n);
      out.set(v as Uint8Array);
      return same(out);
    },
  })),
  fc.integer({ min: 1, max: 48 }).map<Gen>((max) => ({
    spec: t.string(max),
    value: fc.string({ unit: fc.oneof(fc.constantFrom("é", "ß", "😀", "中", "\u0000", "\u{10FFFF}"), fc.string({ minLength: 1, maxLength: 1 })), maxLength: 60 }),
    expect: (v) => utf8Prefix(v as string, max),
  })),
  fc.integer({ min: 1, max: 48 }).map<Gen>((max) => ({
    spec: t.bytes(max),
    value: fc.uint8Array({ maxLength: 70 }),
    expect: (v) => {
      const b = v as Uint8Array;
      return { value: b.slice(0, max), truncated: b.length > max };
    },
  })),
  fc.oneof(fc.uniqueArray(fc.stringMatching(/^[A-Za-z][A-Za-z0-9_]{0,6}$/), { minLength: 1, maxLength: 6 }), fc.constant(Array.from({ length: 300 }, (_, i) => `n${i}`))).map<Gen>(
    (names) => ({
      spec: t.enum(names),
      value: fc.integer({ min: 0, max: names.length - 1 }).chain((i) => fc.constantFrom<unknown>(i, names[i])),
      expect: (v) => same(typeof v === "number" ? names[v] : v),
    }),
  ),
);

const schemaGen = fc
  .uniqueArray(fc.stringMatching(/^[a-z_][a-z0-9_]{0,8}$/), { minLength: 0, maxLength: 10 })
  .chain((names) => fc.tuple(fc.constant(names), fc.array(fieldGen, { minLength: names.length, maxLength: names.length })))
  .chain(([names, gens]) =>
    fc.tuple(
      fc.constant(names),
      fc.constant(gens),
      fc.array(fc.tuple(...gens.map((g) => g.value)), { minLength: 1, maxLength: 4 }),
      fc.boolean(),
      fc.boolean(),
    ),
  );

test("any schema and any values round-trip exactly, truncation is flagged (generated and fallback writers, own and shared lanes)", () => {
  let n = 0;
  fc.assert(
    fc.property(schemaGen, ([names, gens, rows, positional, shared]) => {
      const ring = createRing({ lanes: 1, sharedLanes: 1, pagesPerLane: 4, clock: "counter", mode: "discard" });
      const spec: Record<string, FieldType> = {};
      names.forEach((nm, i) => (spec[nm] = (gens[i] as Gen).spec));
      const reg = eventRegistry(ring);
      const gen = reg.define(`ev${n++}`, spec as FieldsSpec);
      const fallback = createEventType(gen.schema, { codegen: false });
      assert.equal(gen.generated, true);
      assert.equal(fallback.generated, false);
      const w: RingWriter = shared ? ring.writer({ lane: "shared" }) : ring.writer();
      for (const row of rows) {
        for (const ty of [gen, fallback]) {
          if (positional) assert.ok((ty.writeArgs as (w: RingWriter, ...a: unknown[]) => boolean)(w, ...row));
          else {
            const obj: Record<string, unknown> = {};
            names.forEach((nm, i) => (obj[nm] = row[i]));
            assert.ok(ty.write(w, obj as never));
          }
        }
      }
      const recs = ring.consumer().drain();
      assert.equal(recs.length, rows.length * 2);
      recs.forEach((r, i) => {
        if (i % 2 === 1) assert.deepEqual(r.payload, recs[i - 1]?.payload, "generated and fallback writers produce the same bytes");
        const d = reg.decode(r);
        assert.equal(d.kind, "event", d.kind === "raw" ? d.warning : "");
        if (d.kind !== "event") return;
        assert.equal(d.name, gen.name);
        const row = rows[i >> 1] as unknown[];
        const truncated: string[] = [];
        names.forEach((nm, k) => {
          const e = (gens[k] as Gen).expect(row[k]);
          assert.deepEqual(d.fields[nm], e.value, `field ${nm}`);
          if (e.truncated) truncated.push(nm);
        });
        assert.deepEqual([...d.truncated].sort(), truncated.sort());
      });
    }),
    { numRuns: 150 },
  );
});

test("64-bit fields: numbers are exact up to 2^53, bigints modulo 2^64; the view reads number or bigint", () => {
  const ring = createRing({ lanes: 1, sharedLanes: 0, clock: "counter" });
  const reg = eventRegistry(ring);
  const ev = reg.define("big", { a: t.i64, b: t.u64 });
  const w = ring.writer();
  ev.write(w, { a: -(2 ** 53 - 1), b: 2 ** 53 - 1 });
  ev.write(w, { a: -1n, b: 2n ** 64n - 1n });
  ev.write(w, { a: 2n ** 63n, b: -1n }); // wrap modulo 2^64
  const out: [number, number, bigint, bigint][] = [];
  ring.consumer().read((r) => {
    const v = reg.view(r);
    assert.ok(typeof v !== "string", String(v));
    out.push([v.number(0), v.number(1), v.bigint(0), v.bigint(1)]);
  });
  assert.deepEqual(out, [
    [-(2 ** 53 - 1), 2 ** 53 - 1, -(2n ** 53n - 1n), 2n ** 53n - 1n],
    [-1, 2 ** 64, -1n, 2n ** 64n - 1n],
    [-(2 ** 63), 2 ** 64, -(2n ** 63n), 2n ** 64n - 1n],
  ]);
});

test("the view reads fields by index without building objects; write returns false and writes nothing when dropped", () => {
  const ring = createRing({ lanes: 1, sharedLanes: 0, pageSize: 256, pagesPerLane: 4, clock: "counter", mode: "discard" });
  const reg = eventRegistry(ring);
  const ev = reg.define("req", { method: t.enum(["GET", "POST"]), status: t.u16, url: t.string(16), ok: t.bool });
  const w = ring.writer();
  let written = 0;
  while (ev.writeArgs(w, "POST", 201, "/a/b", true)) written++;
  assert.ok(written > 0);
  assert.equal(ev.write(w, { method: 0, status: 1, url: "", ok: false }), false);
  const r = ring.consumer();
  let seen = 0;
  r.read((rec) => {
    if (rec.kind !== "data") return;
    const v = reg.view(rec);
    assert.ok(typeof v !== "string");
    assert.equal(v.string(v.index("method")), "POST");
    assert.equal(v.number(v.index("method")), 1);
    assert.equal(v.number(1), 201);
    assert.equal(v.string(2), "/a/b");
    assert.equal(v.bool(3), true);
    assert.equal(v.truncated(2), false);
    seen++;
  });
  assert.equal(seen, written);
});

test("bad values are refused before anything is reserved, naming the field", () => {
  const ring = createRing({ lanes: 1, sharedLanes: 0, clock: "counter" });
  const ev = eventRegistry(ring).define("v", { m: t.enum(["a"]), s: t.string(4), b: t.bytes(4), a: t.array(2), n: t.u32 });
  const w = ring.writer();
  const ok = { m: "a" as const, s: "x", b: new Uint8Array(1), a: new Uint8Array(2), n: 1 };
  assert.throws(() => ev.write(w, { ...ok, m: "z" as "a" }), /field "m": unknown enum name/);
  assert.throws(() => ev.write(w, { ...ok, m: 1 }), /field "m": enum index/);
  assert.throws(() => ev.write(w, { ...ok, s: 5 as unknown as string }), (e: Error) => e instanceof TypeError && /field "s": expected a string/.test(e.message));
  assert.throws(() => ev.write(w, { ...ok, b: [1] as unknown as Uint8Array }), /field "b": expected a Uint8Array/);
  assert.throws(() => ev.write(w, { ...ok, a: new Uint8Array(3) }), /field "a": array longer than 2 bytes/);
  assert.throws(() => ev.write(w, { ...ok, n: 5n as unknown as number }), TypeError); // after reserve: the record is discarded
  assert.ok(ev.write(w, ok));
  const recs = ring.consumer().drain();
  assert.equal(recs.length, 1, "only the good write is visible");
});

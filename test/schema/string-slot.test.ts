import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { createRing, eventRegistry, t } from "../../src/index.js";
import { StringSlot, createEventType } from "../../src/schema/codec.js";
import { VAR_LENGTH_MASK, VAR_TRUNCATED } from "../../src/schema/metadata-layout.js";

const reference = new TextEncoder();

/**
 * The promised truncation rule, written independently of TextEncoder.encodeInto: the longest prefix
 * of whole code points (a lone surrogate counts as one, encoded as U+FFFD) whose UTF-8 fits.
 */
function expectedPrefix(s: string, max: number): { bytes: Uint8Array; truncated: boolean } {
  let prefix = "";
  let n = 0;
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    const len = c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4; // a lone surrogate: 3 (EF BF BD)
    if (n + len > max) return { bytes: reference.encode(prefix), truncated: true };
    prefix += ch;
    n += len;
  }
  return { bytes: reference.encode(prefix), truncated: false };
}

/** Mostly ASCII (the fast path), with every kind of UTF-16 unit mixed in: lone surrogates included. */
const unit = fc.oneof(
  { weight: 6, arbitrary: fc.string({ unit: "binary-ascii", minLength: 1, maxLength: 1 }) },
  { weight: 1, arbitrary: fc.constantFrom("é", "ß", "中", "😀", "\u{10FFFF}", "\uFFFD", "\u0000", "\u007F", "\u0080", "\u07FF", "\u0800") },
  { weight: 1, arbitrary: fc.constantFrom("\uD800", "\uDBFF", "\uDC00", "\uDFFF") },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)) },
  { weight: 1, arbitrary: fc.string({ unit: "binary", minLength: 1, maxLength: 1 }) },
);
const text = fc.string({ unit, maxLength: 70 });

test("StringSlot.encode writes exactly TextEncoder.encodeInto's bytes and flags truncation, for any string and maximum", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 80 }), fc.array(fc.tuple(text, fc.nat(3)), { minLength: 1, maxLength: 12 }), (max, steps) => {
      const slot = new StringSlot(max);
      const seen: string[] = [];
      for (const [fresh, pick] of steps) {
        // Repeat an earlier string now and then, sometimes as an equal but separate string: the slot
        // remembers its last string, and the repeat must still give the right bytes.
        const old = seen[seen.length - 1 - pick];
        const s = pick > 0 && old !== undefined ? (pick === 1 ? old : old.split("").join("")) : fresh;
        seen.push(s);
        const word = slot.encode(s);
        const n = word & VAR_LENGTH_MASK;
        const want = new Uint8Array(max);
        const r = reference.encodeInto(s, want);
        assert.deepEqual(slot.bytes.subarray(0, n), want.subarray(0, r.written), JSON.stringify(s));
        assert.equal((word & VAR_TRUNCATED) !== 0, r.read < s.length);
        const rule = expectedPrefix(s, max);
        assert.deepEqual(slot.bytes.subarray(0, n), rule.bytes, "cut at a code point boundary");
        assert.equal((word & VAR_TRUNCATED) !== 0, rule.truncated);
      }
    }),
    { numRuns: 400 },
  );
});

test("StringSlot.encode at the edges of the ASCII fast path: lengths around 24 units, one non-ASCII unit anywhere, a string longer than the maximum", () => {
  for (let len = 0; len <= 40; len++) {
    for (const max of [len - 1, len, len + 1, 3 * len]) {
      if (max < 1) continue;
      const ascii = "abcdefghijklmnopqrstuvwxyz0123456789/-_.:".slice(0, len).padEnd(len, "x");
      const variants = [ascii];
      for (let at = 0; at < len; at += 7) variants.push(ascii.slice(0, at) + "\uD83D" + ascii.slice(at + 1), ascii.slice(0, at) + "ü" + ascii.slice(at + 1));
      const slot = new StringSlot(max);
      for (const s of variants) {
        const word = slot.encode(s);
        const rule = expectedPrefix(s, max);
        assert.deepEqual(slot.bytes.subarray(0, word & VAR_LENGTH_MASK), rule.bytes, `${JSON.stringify(s)} in ${max}`);
        assert.equal((word & VAR_TRUNCATED) !== 0, rule.truncated, `${JSON.stringify(s)} in ${max}`);
      }
    }
  }
});

test("StringSlot.copyTo copies exactly the encoded bytes to any (unaligned) offset of a shared buffer and nothing more", () => {
  fc.assert(
    fc.property(text, fc.integer({ min: 1, max: 80 }), fc.nat(37), (s, max, at) => {
      const slot = new StringSlot(max);
      const n = slot.encode(s) & VAR_LENGTH_MASK;
      const sab = new SharedArrayBuffer(128);
      const u8 = new Uint8Array(sab).fill(0xa5);
      slot.copyTo(new DataView(sab), at, n);
      assert.deepEqual(u8.subarray(at, at + n), slot.bytes.subarray(0, n));
      assert.ok(u8.subarray(0, at).every((b) => b === 0xa5), "bytes before untouched");
      assert.ok(u8.subarray(at + n).every((b) => b === 0xa5), "bytes after untouched");
    }),
    { numRuns: 300 },
  );
});

test("typed writers (generated and fallback) store TextEncoder's bytes of any string, lone surrogates and repeats included", () => {
  let k = 0;
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 64 }), fc.array(fc.tuple(text, text, fc.boolean()), { minLength: 1, maxLength: 8 }), (max, rows) => {
      const ring = createRing({ lanes: 1, sharedLanes: 0, pagesPerLane: 4, clock: "counter", mode: "discard" });
      const reg = eventRegistry(ring);
      const fields = { a: t.string(max), n: t.u8, b: t.string(max) };
      const gen = reg.define(`s${k++}`, fields);
      const fallback = createEventType<typeof fields>(gen.schema, { codegen: false });
      const w = ring.writer();
      const values: [string, string][] = [];
      for (const [a, b, repeat] of rows) {
        const prev = values[values.length - 1];
        const v: [string, string] = repeat && prev !== undefined ? [prev[0], prev[1].split("").join("")] : [a, b];
        values.push(v);
        assert.ok(gen.writeArgs(w, v[0], 7, v[1]));
        assert.ok(fallback.write(w, { a: v[0], n: 7, b: v[1] }));
      }
      let i = 0;
      ring.consumer().read((r) => {
        if (r.kind !== "data") return;
        const view = reg.view(r);
        assert.ok(typeof view !== "string", String(view));
        const v = values[i++ >> 1] as [string, string];
        for (const [field, s] of [[0, v[0]], [2, v[1]]] as const) {
          const want = new Uint8Array(max);
          const res = reference.encodeInto(s, want);
          assert.deepEqual(view.bytesOf(field), want.slice(0, res.written));
          assert.equal(view.truncated(field), res.read < s.length);
        }
        assert.equal(view.number(1), 7);
      });
      assert.equal(i, values.length * 2);
    }),
    { numRuns: 150 },
  );
});

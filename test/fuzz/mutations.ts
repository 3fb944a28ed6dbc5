/**
 * fast-check arbitraries for bad input: a valid seed (corpus.ts) with a few corruptions applied.
 * Corruptions aim where decoders make decisions: u32 fields set to values at and around their
 * limits (0, 1, the page size, lengths that point out of bounds, counters a lap ahead or behind so
 * that a reader would revisit pages, 2^31, 2^53's high word, all ones), f64 counts and times set to
 * NaN, infinities, negatives and huge numbers, length bytes of schema entries maxed out, bytes
 * flipped anywhere, whole pages or chunks copied over others (the same page twice, pages out of
 * order), random bytes behind a valid header, truncation, and images that are random from the start.
 */
import fc from "fast-check";
import type { Seed } from "./corpus.js";

export type Mutation =
  | { op: "word"; idx: number; value: WordValue }
  | { op: "double"; idx: number; value: number }
  | { op: "byte"; idx: number; value: number }
  | { op: "flip"; pos: number; bit: number }
  | { op: "splice"; from: number; to: number }
  | { op: "randomUnit"; unit: number; keep: number; seed: number }
  | { op: "truncate"; keep: number }
  | { op: "append"; bytes: Uint8Array };

/** A new value for a u32 field: absolute, or relative to the old value or the geometry. */
export type WordValue =
  | { kind: "const"; v: number }
  | { kind: "delta"; d: number }
  | { kind: "laps"; k: number }
  | { kind: "pageSize"; k: number; d: number }
  | { kind: "xor"; bit: number }
  | { kind: "random"; v: number };

const INTERESTING_U32 = [
  0, 1, 2, 3, 4, 7, 8, 15, 16, 47, 48, 49, 56, 63, 64, 255, 256, 0x3fff, 0x4000, 0xffff, 0x10000, 0x1fffff, 0x200000, 0x3fffffff,
  0x40000000, 0x7fffffff, 0x80000000, 0xbfffffff, 0xc0000000, 0xfffffff8, 0xfffffffe, 0xffffffff,
  // record words: BUSY / COMMITTED / DISCARDED with the largest length, internal LOST/TIME with short lengths
  0x7fffc000, 0xbfffc000, 0xffffc000, 0x40000000 | (0xffff << 14), 0x80002001, 0x80002002, 0x80000000 | (4 << 14) | 0x2002, 0x80000000 | (4 << 14) | 0x2001,
];

const INTERESTING_F64 = [Number.NaN, Infinity, -Infinity, -1, -0, 0.5, 1e300, -1e300, 2 ** 53, 2 ** 53 + 2, 2 ** 32, 1e15, Number.MIN_VALUE];

const wordValue: fc.Arbitrary<WordValue> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...INTERESTING_U32).map((v) => ({ kind: "const" as const, v })) },
  { weight: 3, arbitrary: fc.integer({ min: -16, max: 16 }).map((d) => ({ kind: "delta" as const, d: d * 8 })) },
  { weight: 2, arbitrary: fc.integer({ min: -3, max: 3 }).map((k) => ({ kind: "laps" as const, k })) },
  { weight: 2, arbitrary: fc.record({ k: fc.integer({ min: 0, max: 3 }), d: fc.integer({ min: -2, max: 2 }) }).map((x) => ({ kind: "pageSize" as const, ...x })) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 31 }).map((bit) => ({ kind: "xor" as const, bit })) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffffffff }).map((v) => ({ kind: "random" as const, v })) },
);

const doubleValue = fc.oneof(fc.constantFrom(...INTERESTING_F64), fc.double(), fc.integer({ min: -1000, max: 1e9 }));

export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 10, arbitrary: fc.record({ op: fc.constant("word" as const), idx: fc.nat(), value: wordValue }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant("double" as const), idx: fc.nat(), value: doubleValue }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant("byte" as const), idx: fc.nat(), value: fc.oneof(fc.constantFrom(0, 1, 0x7f, 0x80, 0xff), fc.nat(255)) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("flip" as const), pos: fc.nat(), bit: fc.nat(7) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("splice" as const), from: fc.nat(), to: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("randomUnit" as const), unit: fc.nat(), keep: fc.constantFrom(0, 8, 48, 56), seed: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("truncate" as const), keep: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("append" as const), bytes: fc.uint8Array({ maxLength: 96 }) }) },
);

/** A fuzz case: which seed, and what to do to it (or: bytes that are random from the start). */
export type FuzzCase = { seed: number; mutations: Mutation[] } | { seed: number; random: Uint8Array; keepHeader: number };

export const fuzzCase: fc.Arbitrary<FuzzCase> = fc.oneof(
  { weight: 12, arbitrary: fc.record({ seed: fc.nat(), mutations: fc.array(mutation, { minLength: 1, maxLength: 6 }) }) },
  { weight: 1, arbitrary: fc.record({ seed: fc.nat(), random: fc.uint8Array({ minLength: 0, maxLength: 4096 }), keepHeader: fc.constantFrom(0, 64, 256, 352) }) },
);

function rand32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** The bytes of a fuzz case. */
export function materialize(seeds: readonly Seed[], c: FuzzCase): Uint8Array<ArrayBuffer> {
  const seed = seeds[c.seed % seeds.length] as Seed;
  if ("random" in c) {
    // Random bytes behind (a prefix of) a valid header: as long as the random part, or the seed if longer.
    const keep = Math.min(c.keepHeader, seed.bytes.length);
    const out = new Uint8Array(Math.max(keep + c.random.length, keep));
    out.set(seed.bytes.subarray(0, keep));
    out.set(c.random, keep);
    return out;
  }
  let b = seed.bytes.slice();
  for (const m of c.mutations) b = apply(seed, b, m);
  return b;
}

function apply(seed: Seed, b: Uint8Array<ArrayBuffer>, m: Mutation): Uint8Array<ArrayBuffer> {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  switch (m.op) {
    case "word": {
      const at = seed.words[m.idx % seed.words.length];
      if (at === undefined || at + 4 > b.length) return b;
      const old = dv.getUint32(at, true);
      const v = m.value;
      const ps = seed.pageSize;
      const next =
        v.kind === "const" || v.kind === "random"
          ? v.v
          : v.kind === "delta"
            ? old + v.d
            : v.kind === "laps"
              ? old + v.k * seed.lanePages
              : v.kind === "pageSize"
                ? v.k * ps + v.d * 8
                : old ^ (1 << v.bit);
      dv.setUint32(at, next >>> 0, true);
      return b;
    }
    case "double": {
      const at = seed.doubles[m.idx % seed.doubles.length];
      if (at === undefined || at + 8 > b.length) return b;
      dv.setFloat64(at, m.value, true);
      return b;
    }
    case "byte": {
      const at = seed.bytesAt.length > 0 && m.idx % 3 !== 0 ? (seed.bytesAt[m.idx % seed.bytesAt.length] as number) : m.idx % Math.max(1, b.length);
      if (at < b.length) b[at] = m.value;
      return b;
    }
    case "flip": {
      if (b.length > 0) {
        const at = m.pos % b.length;
        b[at] = (b[at] as number) ^ (1 << m.bit);
      }
      return b;
    }
    case "splice": {
      const u = seed.units;
      const from = u[m.from % Math.max(1, u.length)];
      const to = u[m.to % Math.max(1, u.length)];
      if (from === undefined || to === undefined) return b;
      const n = Math.min(from.length, to.length, b.length - from.at, b.length - to.at);
      if (n > 0) b.copyWithin(to.at, from.at, from.at + n);
      return b;
    }
    case "randomUnit": {
      const u = seed.units[m.unit % Math.max(1, seed.units.length)];
      if (u === undefined) return b;
      const r = rand32(m.seed);
      for (let i = u.at + m.keep; i < u.at + u.length && i < b.length; i++) b[i] = r() & 0xff;
      return b;
    }
    case "truncate":
      return b.slice(0, m.keep % (b.length + 1));
    case "append": {
      const out = new Uint8Array(b.length + m.bytes.length);
      out.set(b);
      out.set(m.bytes, b.length);
      return out;
    }
  }
}

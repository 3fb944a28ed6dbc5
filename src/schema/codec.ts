/**
 * Typed writers (generated per schema) and payload decoding (plain objects and a reusable view).
 *
 * Writers. {@link createEventType} generates, with `new Function`, one straight-line function per
 * schema and form (object and positional) that computes the size, reserves, stores every field at a
 * constant offset through the writer's DataView, and commits. Numeric fields (64-bit numbers
 * included: split into two 32-bit halves arithmetically) allocate nothing. A string is encoded into
 * its field's preallocated scratch buffer before the reservation (its length sizes the record) and
 * copied four bytes at a time once reserved; a string equal to the field's previous one is not
 * encoded again (see {@link StringSlot}). Where `new Function` is forbidden (a browser page with a
 * Content-Security-Policy without 'unsafe-eval'), it throws and the same semantics run in a
 * closure-based interpreter (slower; its positional form also allocates its rest-argument array).
 */
import type { RingWriter } from "../writer.js";
import * as M from "./metadata-layout.js";
import { showValue } from "../errors.js";
import type { EventSchema, FieldSchema, FieldsSpec, ReadValues, WriteValue, WriteValues } from "./types.js";

/** Options of event type creation. */
export interface EventTypeOptions {
  /** Generate specialized code with `new Function` (default true; falls back automatically when it throws). */
  codegen?: boolean;
  /**
   * Also refuse, in the object form of `write`, keys that are not fields of the schema (a misspelled
   * field name). Off by default: finding them walks the object's keys on every write, which the
   * other checks do not (a misspelled numeric field is caught anyway, as the missing field it leaves).
   */
  strict?: boolean;
}

/** A typed event: writes records of one schema. */
export interface EventType<F extends FieldsSpec = FieldsSpec> {
  readonly id: number;
  readonly name: string;
  readonly schema: EventSchema;
  /** True when the writers are generated code, false for the closure fallback. */
  readonly generated: boolean;
  /**
   * Write one event. Returns false (and writes nothing) when the ring dropped the record. Strings and
   * bytes longer than their maximum are truncated and flagged in the record. Throws TypeError or
   * RangeError naming the field, before reserving anything, for a value of the wrong kind (a
   * non-string string, a non-Uint8Array bytes/array, an unknown enum name or index, an array too long,
   * a missing field, a number field given anything but a number, a bool field given anything but a
   * boolean, a bigint outside i64/u64 fields, NaN or an infinity in an integer field). These checks
   * are always on (they cost nothing measurable: one `typeof` per field); keys that are not fields
   * are refused only with `{ strict: true }` (see {@link EventTypeOptions.strict}).
   * Integers are converted as typed arrays do (modulo 2^bits); 64-bit fields take a number (exact up
   * to 2^53) or a bigint (modulo 2^64).
   *
   * @example
   * ```ts
   * const Req = defineEvent(ring, "req", { status: "u16", ms: "f64" });
   * Req.write(w, { status: 200, ms: 1.5 });
   * Req.write(w, { status: "200", ms: 1.5 }); // TypeError: ... field "status": expected a number, received 200
   * ```
   */
  write(w: RingWriter, values: WriteValues<F>): boolean;
  /** Positional form: values in declaration order. */
  writeArgs(w: RingWriter, ...values: WriteValue<F[keyof F]>[]): boolean;
}

/** Values of a decoded field. */
export type FieldValue = number | bigint | boolean | string | Uint8Array;

const textEncoder = new TextEncoder();

/**
 * Strings up to this many UTF-16 units try a char-code copy first; longer ones go straight to
 * `TextEncoder.encodeInto`. Measured on Node 20 (x64), typed writes of distinct ASCII strings: the
 * copy saves about 25 ns at 8 characters and 15 ns at 24; at 32 the two are within noise of each
 * other, and at 64 the encoder takes half the time (`charCodeAt` costs 1.5 to 2.5 ns a character in
 * optimized code; the encoder a fraction of that plus 60 to 80 ns for the call through Node's wrapper).
 */
const CHAR_COPY_MAX_UNITS = 24;

/** Copy `s` into `bytes` if it is all ASCII and fits; returns its length, or -1 (bytes then undefined). */
function copyAscii(s: string, bytes: Uint8Array): number {
  const n = s.length;
  if (n > bytes.length) return -1;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) return -1;
    bytes[i] = c;
  }
  return n;
}

/**
 * `TextEncoder.encodeInto` as a length prefix word. A function of its own so that V8 inlines the
 * encoder call here and drops its result object: inside a caller that mostly takes another path,
 * the call is too infrequent to be inlined and the object is allocated (seen with
 * --trace-turbo-inlining on Node 20).
 */
function encodeNative(s: string, bytes: Uint8Array): number {
  const r = textEncoder.encodeInto(s, bytes);
  if (r.read < s.length) return r.written < bytes.length ? encodeRest(s, bytes, r.read, r.written) : r.written | M.VAR_TRUNCATED;
  return r.written;
}

/**
 * A string that did not fit whole, with room left: go on encoding from where the encoder stopped,
 * until the next code point does not fit. Node 26.12's `encodeInto` stops short of a full buffer
 * (35 of 37 bytes for 35 ASCII characters, "ü" and "/"; Node 20 to 24 write 37), which would cut
 * strings earlier than the format's rule (as many whole code points as fit). Only truncated strings
 * come here; they may allocate.
 */
function encodeRest(s: string, bytes: Uint8Array, read: number, written: number): number {
  while (read < s.length && written < bytes.length) {
    const r = textEncoder.encodeInto(s.slice(read), bytes.subarray(written));
    if (r.read === 0) break;
    read += r.read;
    written += r.written;
  }
  return read < s.length ? written | M.VAR_TRUNCATED : written;
}

/**
 * The encoder of one string field: a scratch buffer of the field's maximum length, which the
 * writer copies into the record once it is reserved, and the last string encoded into it.
 *
 * Bytes: exactly `TextEncoder.encodeInto(value, scratch)`, i.e. UTF-8 with each lone surrogate as
 * U+FFFD, cut at the last whole code point that fits (never inside a UTF-8 sequence or a surrogate
 * pair); the value counts as truncated when the encoder did not read all of it.
 *
 * Repeated strings (span names, scopes, routes, constant messages) are the common case, and the
 * scratch still holds the last one's bytes: a value equal to the last one (`===`: a pointer test,
 * else a native compare of the characters) skips encoding. Only strings of at most `max` UTF-16
 * units are remembered, so a slot never keeps more than 2 * `max` bytes of string alive.
 *
 * Allocation: none on the char-copy path; the encoder's `{ read, written }` result is read at once
 * in {@link encodeNative}, where V8 removes it by escape analysis (3 million typed writes of
 * distinct 64-character strings, ASCII or not, ran without a single GC); other engines may
 * allocate that small object.
 */
export class StringSlot {
  readonly bytes: Uint8Array;
  /** `bytes` as a DataView, for the 4-byte copy. */
  readonly view: DataView;
  /**
   * The last string encoded into `bytes`, and its length prefix word ("" is 0 bytes, not
   * truncated). Public so that generated writers test for a repeat without a call; only
   * {@link StringSlot.encode} writes them.
   */
  last = "";
  word = 0;

  constructor(maxBytes: number) {
    this.bytes = new Uint8Array(maxBytes);
    this.view = new DataView(this.bytes.buffer);
  }

  /**
   * Encode `s` into `bytes`; returns its length prefix word: the byte count, with
   * {@link M.VAR_TRUNCATED} set when `s` did not fit whole.
   */
  encode(s: string): number {
    if (s === this.last) return this.word;
    const bytes = this.bytes;
    const n = s.length;
    let word = n <= CHAR_COPY_MAX_UNITS && n <= bytes.length ? copyAscii(s, bytes) : -1;
    if (word < 0) word = encodeNative(s, bytes);
    // Remember `s`, or else forget the previous string, whose bytes were just overwritten ("" needs
    // no bytes, so it stays correct whatever the scratch holds).
    const keep = n <= bytes.length;
    this.last = keep ? s : "";
    this.word = keep ? word : 0;
    return word;
  }

  /**
   * Copy the first `n` encoded bytes to `dst` at byte offset `at`: four bytes per DataView access
   * (unaligned is fine), then the rest one by one (about 3x faster than a byte loop from 32 bytes).
   */
  copyTo(dst: DataView, at: number, n: number): void {
    const src = this.view;
    let i = 0;
    for (const end = n - 3; i < end; i += 4) dst.setInt32(at + i, src.getInt32(i, true), true);
    for (; i < n; i++) dst.setUint8(at + i, src.getUint8(i));
  }
}

const TWO32 = 4294967296;

/** The error for a value a number field cannot take (called only when the fast check failed). */
function numberError(s: EventSchema, f: FieldSchema, v: unknown): Error {
  if (typeof v === "bigint") return fieldError(s, f, `expected a number (bigints only go into i64/u64 fields)`, v);
  if (typeof v !== "number") return fieldError(s, f, v === undefined ? "expected a number (the field is missing)" : "expected a number", v);
  return fieldError(s, f, `a ${f.type} field takes only finite numbers`, v);
}

function fieldError(s: EventSchema, f: FieldSchema, msg: string, v: unknown): Error {
  const shown = v instanceof Uint8Array ? `Uint8Array(${v.length})` : showValue(v);
  const text = `Cannot write event ${JSON.stringify(s.name)}: field ${JSON.stringify(f.name)}: ${msg}, received ${shown}`;
  return msg.startsWith("expected") ? new TypeError(text) : new RangeError(text);
}

const SETTER: Record<string, [string, number]> = {
  i8: ["setInt8", 1], u8: ["setUint8", 1], i16: ["setInt16", 2], u16: ["setUint16", 2], i32: ["setInt32", 4],
  u32: ["setUint32", 4], f32: ["setFloat32", 4], f64: ["setFloat64", 8],
};

/** Generate the source of a writer body; `val(k)` is the expression of field k's value. */
function writerSource(s: EventSchema, val: (k: number) => string): string {
  const L: string[] = [];
  L.push(`let size = ${s.fixedBytes};`);
  s.fields.forEach((f, k) => {
    L.push(`const v${k} = ${val(k)};`);
    if (f.type === "enum") {
      L.push(`let e${k} = v${k};`);
      L.push(`if (typeof e${k} !== "number") { e${k} = enumMaps[${k}].get(e${k}); if (e${k} === undefined) throw err(${k}, "unknown enum name", v${k}); }`);
      L.push(`else if (!(e${k} >= 0 && e${k} < ${f.param} && (e${k} | 0) === e${k})) throw err(${k}, "enum index must be an integer from 0 to ${f.param - 1}", v${k});`);
    } else if (f.type === "string") {
      L.push(`if (typeof v${k} !== "string") throw err(${k}, "expected a string", v${k});`);
      L.push(`const x${k} = v${k} === slot${k}.last ? slot${k}.word : slot${k}.encode(v${k}), n${k} = x${k} & ${M.VAR_LENGTH_MASK}, t${k} = x${k} & ${M.VAR_TRUNCATED}; size += ${M.VAR_PREFIX_BYTES} + n${k};`);
    } else if (f.type === "bytes") {
      L.push(`if (!(v${k} instanceof Uint8Array)) throw err(${k}, "expected a Uint8Array", v${k});`);
      L.push(`let n${k} = v${k}.length, t${k} = 0; if (n${k} > ${f.param}) { n${k} = ${f.param}; t${k} = ${M.VAR_TRUNCATED}; } size += ${M.VAR_PREFIX_BYTES} + n${k};`);
    } else if (f.type === "array") {
      L.push(`if (!(v${k} instanceof Uint8Array)) throw err(${k}, "expected a Uint8Array", v${k});`);
      L.push(`if (v${k}.length > ${f.param}) throw err(${k}, "array longer than ${f.param} bytes", v${k});`);
    } else if (f.type === "f32" || f.type === "f64") {
      L.push(`if (typeof v${k} !== "number") throw numErr(${k}, v${k});`);
    } else if (f.type === "i64" || f.type === "u64") {
      L.push(`if (typeof v${k} !== "bigint" && (typeof v${k} !== "number" || v${k} - v${k} !== 0)) throw numErr(${k}, v${k});`);
    } else if (f.type === "bool") {
      L.push(`if (typeof v${k} !== "boolean") throw err(${k}, v${k} === undefined ? "expected a boolean (the field is missing)" : "expected a boolean", v${k});`);
    } else {
      // An integer field: a finite number (v - v is 0 for finite numbers only).
      L.push(`if (typeof v${k} !== "number" || v${k} - v${k} !== 0) throw numErr(${k}, v${k});`);
    }
  });
  L.push(`const at = w.reserve(${s.id}, size);`);
  L.push(`if (at < 0) return false;`);
  L.push(`try {`);
  L.push(`const dv = w.view, u8 = w.bytes;`);
  // Zero the padding of the fixed section (deterministic bytes).
  let pos = 0;
  const fixed = s.fields.filter((f) => f.offset >= 0).sort((a, b) => a.offset - b.offset);
  for (const f of fixed) {
    for (; pos < f.offset; pos++) L.push(`u8[at + ${pos}] = 0;`);
    pos = f.offset + f.size;
  }
  s.fields.forEach((f, k) => {
    const o = `at + ${f.offset}`;
    const st = SETTER[f.type];
    if (st) L.push(`dv.${st[0]}(${o}, v${k}${st[1] > 1 ? ", true" : ""});`);
    else if (f.type === "bool") L.push(`u8[${o}] = v${k} ? 1 : 0;`);
    else if (f.type === "enum") L.push(f.size === 1 ? `u8[${o}] = e${k};` : `dv.setUint16(${o}, e${k}, true);`);
    else if (f.type === "i64" || f.type === "u64") {
      L.push(`if (typeof v${k} === "bigint") dv.${f.type === "i64" ? "setBigInt64" : "setBigUint64"}(${o}, v${k}, true);`);
      L.push(`else { const x = +v${k}; const hi = Math.floor(x / ${TWO32}); dv.setUint32(${o}, x - hi * ${TWO32}, true); dv.setUint32(${o} + 4, hi, true); }`);
    } else if (f.type === "array") {
      L.push(`{ const a = v${k}, n = a.length; for (let i = 0; i < n; i++) u8[${o} + i] = a[i]; for (let i = n; i < ${f.param}; i++) u8[${o} + i] = 0; }`);
    }
  });
  L.push(`let p = at + ${s.fixedBytes};`);
  s.fields.forEach((f, k) => {
    if (f.varIndex < 0) return;
    L.push(`dv.setUint16(p, n${k} | t${k}, true); p += ${M.VAR_PREFIX_BYTES};`);
    // The copy of StringSlot.copyTo, inline: a call per field costs more than the bytes of short strings.
    if (f.type === "string") L.push(`{ const b = slot${k}.view; let i = 0; for (; i < n${k} - 3; i += 4) dv.setInt32(p + i, b.getInt32(i, true), true); for (; i < n${k}; i++) u8[p + i] = b.getUint8(i); } p += n${k};`);
    else L.push(`{ const b = v${k}; for (let i = 0; i < n${k}; i++) u8[p + i] = b[i]; } p += n${k};`);
  });
  L.push(`} catch (e) { w.discard(at); throw e; }`);
  L.push(`w.commit(at);`);
  L.push(`return true;`);
  return L.join("\n");
}

interface Ctx {
  /** The encoder of each string field (undefined for other fields). */
  slots: (StringSlot | undefined)[];
  enumMaps: (Map<unknown, number> | undefined)[];
  err: (k: number, msg: string, v: unknown) => Error;
  numErr: (k: number, v: unknown) => Error;
  /** Throws for a key of `v` that is not a field (the strict option); undefined when not strict. */
  checkKeys: ((v: Record<string, unknown>) => void) | undefined;
}

function makeCtx(s: EventSchema, strict: boolean): Ctx {
  const names = new Set(s.fields.map((f) => f.name));
  return {
    slots: s.fields.map((f) => (f.type === "string" ? new StringSlot(f.param) : undefined)),
    enumMaps: s.fields.map((f) => (f.type === "enum" ? new Map(f.names.map((n, i) => [n as unknown, i])) : undefined)),
    err: (k, msg, v) => fieldError(s, s.fields[k] as FieldSchema, msg, v),
    numErr: (k, v) => numberError(s, s.fields[k] as FieldSchema, v),
    checkKeys: strict
      ? (v) => {
          if (typeof v !== "object" || v === null) return; // the field checks name what is wrong
          for (const key in v) {
            if (!names.has(key)) {
              throw new TypeError(`Cannot write event ${JSON.stringify(s.name)}: ${JSON.stringify(key)} is not one of its fields (${[...names].join(", ")}) (strict)`);
            }
          }
        }
      : undefined,
  };
}

/** Refuse a values argument that is not an object before reading its fields (null would throw a bare TypeError). */
function valuesError(s: EventSchema, v: unknown): TypeError {
  return new TypeError(`Cannot write event ${JSON.stringify(s.name)}: values must be an object with its fields (${s.fields.map((f) => f.name).join(", ")}), received ${showValue(v)}`);
}

type WriteFn = (w: RingWriter, v: Record<string, unknown>) => boolean;
type ArgsFn = (w: RingWriter, ...args: unknown[]) => boolean;

function generate(s: EventSchema, ctx: Ctx): { write: WriteFn; writeArgs: ArgsFn } {
  const objSrc =
    `if (typeof v !== "object" || v === null) throw valuesErr(v);\n${ctx.checkKeys ? "checkKeys(v);\n" : ""}` +
    writerSource(s, (k) => `v[${JSON.stringify((s.fields[k] as FieldSchema).name)}]`);
  const args = s.fields.map((_, k) => `a${k}`);
  const argSrc = writerSource(s, (k) => `a${k}`);
  // Each string field's slot as its own constant of the closure (no array load per write).
  const slotConsts = s.fields.flatMap((f, k) => (f.type === "string" ? [`const slot${k} = slots[${k}];`] : []));
  const factory = new Function(
    "slots",
    "enumMaps",
    "err",
    "numErr",
    "checkKeys",
    "valuesErr",
    `"use strict";\n${slotConsts.join("\n")}\nreturn [function write(w, v) {\n${objSrc}\n}, function writeArgs(${["w", ...args].join(", ")}) {\n${argSrc}\n}];`,
  ) as (...a: unknown[]) => [WriteFn, ArgsFn];
  const [write, writeArgs] = factory(ctx.slots, ctx.enumMaps, ctx.err, ctx.numErr, ctx.checkKeys, (v: unknown) => valuesError(s, v));
  return { write, writeArgs };
}

/** The closure-based interpreter: same bytes and errors as the generated code. */
function interpret(s: EventSchema, ctx: Ctx): { write: WriteFn; writeArgs: ArgsFn } {
  const fields = s.fields;
  const n = fields.length;
  const vals: unknown[] = new Array(n);
  const lens = new Int32Array(n);
  const flags = new Int32Array(n);
  const enums = new Int32Array(n);
  const fixed = fields.filter((f) => f.offset >= 0).sort((a, b) => a.offset - b.offset);
  const core = (w: RingWriter): boolean => {
    let size = s.fixedBytes;
    for (let k = 0; k < n; k++) {
      const f = fields[k] as FieldSchema;
      const v = vals[k];
      if (f.type === "enum") {
        let e: unknown = v;
        if (typeof e !== "number") {
          e = ctx.enumMaps[k]?.get(e);
          if (e === undefined) throw ctx.err(k, "unknown enum name", v);
        } else if (!(e >= 0 && e < f.param && (e | 0) === e)) throw ctx.err(k, `enum index must be an integer from 0 to ${f.param - 1}`, v);
        enums[k] = e as number;
      } else if (f.type === "string") {
        if (typeof v !== "string") throw ctx.err(k, "expected a string", v);
        const word = (ctx.slots[k] as StringSlot).encode(v);
        lens[k] = word & M.VAR_LENGTH_MASK;
        flags[k] = word & M.VAR_TRUNCATED;
        size += M.VAR_PREFIX_BYTES + (lens[k] ?? 0);
      } else if (f.type === "bytes") {
        if (!(v instanceof Uint8Array)) throw ctx.err(k, "expected a Uint8Array", v);
        lens[k] = v.length > f.param ? f.param : v.length;
        flags[k] = v.length > f.param ? M.VAR_TRUNCATED : 0;
        size += M.VAR_PREFIX_BYTES + (lens[k] ?? 0);
      } else if (f.type === "array") {
        if (!(v instanceof Uint8Array)) throw ctx.err(k, "expected a Uint8Array", v);
        if (v.length > f.param) throw ctx.err(k, `array longer than ${f.param} bytes`, v);
      } else if (f.type === "f32" || f.type === "f64") {
        if (typeof v !== "number") throw ctx.numErr(k, v);
      } else if (f.type === "i64" || f.type === "u64") {
        if (typeof v !== "bigint" && (typeof v !== "number" || v - v !== 0)) throw ctx.numErr(k, v);
      } else if (f.type === "bool") {
        if (typeof v !== "boolean") throw ctx.err(k, v === undefined ? "expected a boolean (the field is missing)" : "expected a boolean", v);
      } else if (typeof v !== "number" || v - v !== 0) {
        throw ctx.numErr(k, v);
      }
    }
    const at = w.reserve(s.id, size);
    if (at < 0) return false;
    try {
      const dv = w.view;
      const u8 = w.bytes;
      let pos = 0;
      for (const f of fixed) {
        for (; pos < f.offset; pos++) u8[at + pos] = 0;
        pos = f.offset + f.size;
      }
      let p = at + s.fixedBytes;
      for (let k = 0; k < n; k++) {
        const f = fields[k] as FieldSchema;
        const o = at + f.offset;
        const v = vals[k] as never;
        switch (f.type) {
          case "i8": dv.setInt8(o, v); break;
          case "u8": dv.setUint8(o, v); break;
          case "i16": dv.setInt16(o, v, true); break;
          case "u16": dv.setUint16(o, v, true); break;
          case "i32": dv.setInt32(o, v, true); break;
          case "u32": dv.setUint32(o, v, true); break;
          case "f32": dv.setFloat32(o, v, true); break;
          case "f64": dv.setFloat64(o, v, true); break;
          case "bool": u8[o] = v ? 1 : 0; break;
          case "enum":
            if (f.size === 1) u8[o] = enums[k] ?? 0;
            else dv.setUint16(o, enums[k] ?? 0, true);
            break;
          case "i64":
          case "u64":
            if (typeof v === "bigint") {
              if (f.type === "i64") dv.setBigInt64(o, v, true);
              else dv.setBigUint64(o, v, true);
            } else {
              const x = +v;
              const hi = Math.floor(x / TWO32);
              dv.setUint32(o, x - hi * TWO32, true);
              dv.setUint32(o + 4, hi, true);
            }
            break;
          case "array": {
            const a = v as Uint8Array;
            for (let i = 0; i < a.length; i++) u8[o + i] = a[i] ?? 0;
            for (let i = a.length; i < f.param; i++) u8[o + i] = 0;
            break;
          }
          case "string":
          case "bytes": {
            const len = lens[k] ?? 0;
            dv.setUint16(p, len | (flags[k] ?? 0), true);
            p += M.VAR_PREFIX_BYTES;
            if (f.type === "string") (ctx.slots[k] as StringSlot).copyTo(dv, p, len);
            else for (let i = 0; i < len; i++) u8[p + i] = (v as Uint8Array)[i] ?? 0;
            p += len;
            break;
          }
        }
      }
    } catch (e) {
      w.discard(at);
      throw e;
    }
    w.commit(at);
    return true;
  };
  const clear = () => vals.fill(undefined);
  return {
    write: (w, v) => {
      if (typeof v !== "object" || v === null) throw valuesError(s, v);
      ctx.checkKeys?.(v);
      for (let k = 0; k < n; k++) vals[k] = v[(fields[k] as FieldSchema).name];
      try {
        return core(w);
      } finally {
        clear();
      }
    },
    writeArgs: (w, ...args) => {
      for (let k = 0; k < n; k++) vals[k] = args[k];
      try {
        return core(w);
      } finally {
        clear();
      }
    },
  };
}

/** Make the typed writer of a registered schema. */
export function createEventType<F extends FieldsSpec>(s: EventSchema, options: EventTypeOptions = {}): EventType<F> {
  const ctx = makeCtx(s, options.strict === true);
  let fns: { write: WriteFn; writeArgs: ArgsFn } | undefined;
  let generated = false;
  if (options.codegen !== false) {
    try {
      fns = generate(s, ctx);
      generated = true;
    } catch {
      fns = undefined; // e.g. CSP forbids eval: use the interpreter
    }
  }
  fns ??= interpret(s, ctx);
  return Object.freeze({
    id: s.id,
    name: s.name,
    schema: s,
    generated,
    write: fns.write as unknown as EventType<F>["write"],
    writeArgs: fns.writeArgs as unknown as EventType<F>["writeArgs"],
  });
}

// ---------------------------------------------------------------------------------------------
// Decoding.

const decoder = new TextDecoder("utf-8");
const views = new WeakMap<Uint8Array, DataView>();
function dataView(u8: Uint8Array): DataView {
  let dv = views.get(u8);
  if (dv === undefined) {
    dv = new DataView(u8.buffer, u8.byteOffset, u8.byteLength);
    views.set(u8, dv);
  }
  return dv;
}

/**
 * A reusable, allocation-free view of one event payload: the fast decoding path. Bind it with
 * {@link EventView.bind} (or get it bound from `EventRegistry.view`), then read fields by index
 * (declaration order; {@link EventView.index} maps names). Valid until the next bind or the next
 * call into the reader that produced the bytes.
 */
export class EventView {
  schema: EventSchema | undefined = undefined;
  bytes: Uint8Array = new Uint8Array(0);
  offset = 0;
  length = 0;
  #dv: DataView = new DataView(new ArrayBuffer(0));
  #varOff = new Int32Array(M.MAX_FIELDS);
  #varLen = new Int32Array(M.MAX_FIELDS);
  #varFlag = new Int32Array(M.MAX_FIELDS);
  #index = new WeakMap<EventSchema, Map<string, number>>();

  /** Bind to a payload. Returns undefined on success, else a warning saying why the payload does not fit the schema. */
  bind(s: EventSchema, bytes: Uint8Array, offset: number, length: number): string | undefined {
    this.schema = undefined;
    if (offset < 0 || length < 0 || offset + length > bytes.length) return `payload bounds ${offset}+${length} are outside the ${bytes.length}-byte buffer`;
    if (length < s.fixedBytes) return `record of ${length} bytes is too short for event ${JSON.stringify(s.name)} (fixed fields need ${s.fixedBytes})`;
    const dv = dataView(bytes);
    let p = offset + s.fixedBytes;
    const end = offset + length;
    for (const f of s.fields) {
      if (f.varIndex >= 0) {
        if (p + M.VAR_PREFIX_BYTES > end) return `record of ${length} bytes is too short for event ${JSON.stringify(s.name)}: field ${JSON.stringify(f.name)} has no length prefix`;
        const word = dv.getUint16(p, true);
        const len = word & M.VAR_LENGTH_MASK;
        p += M.VAR_PREFIX_BYTES;
        if (len > f.param || p + len > end) {
          return `record of ${length} bytes does not fit event ${JSON.stringify(s.name)}: field ${JSON.stringify(f.name)} claims ${len} bytes (maximum ${f.param}, ${end - p} left)`;
        }
        this.#varOff[f.varIndex] = p - offset;
        this.#varLen[f.varIndex] = len;
        this.#varFlag[f.varIndex] = word & M.VAR_TRUNCATED;
        p += len;
      } else if (f.type === "enum") {
        const e = f.size === 1 ? dv.getUint8(offset + f.offset) : dv.getUint16(offset + f.offset, true);
        if (e >= f.param) return `field ${JSON.stringify(f.name)} of event ${JSON.stringify(s.name)} has enum index ${e}, but there are ${f.param} names`;
      }
    }
    this.schema = s;
    this.bytes = bytes;
    this.offset = offset;
    this.length = length;
    this.#dv = dv;
    return undefined;
  }

  #field(i: number): FieldSchema {
    const f = this.schema?.fields[i];
    if (f === undefined) throw new RangeError(`Cannot read field ${i}: ${this.schema === undefined ? "the view is not bound" : `event ${JSON.stringify(this.schema.name)} has ${this.schema.fields.length} fields`}`);
    return f;
  }

  /** Index of the field called `name`, or -1. */
  index(name: string): number {
    const s = this.schema;
    if (s === undefined) return -1;
    let m = this.#index.get(s);
    if (m === undefined) {
      m = new Map(s.fields.map((f, i) => [f.name, i]));
      this.#index.set(s, m);
    }
    return m.get(name) ?? -1;
  }

  /** A numeric, bool (0/1) or enum (index) field as a number; 64-bit fields as the nearest double. */
  number(i: number): number {
    const f = this.#field(i);
    const dv = this.#dv;
    const o = this.offset + f.offset;
    switch (f.type) {
      case "i8": return dv.getInt8(o);
      case "u8": return dv.getUint8(o);
      case "i16": return dv.getInt16(o, true);
      case "u16": return dv.getUint16(o, true);
      case "i32": return dv.getInt32(o, true);
      case "u32": return dv.getUint32(o, true);
      case "f32": return dv.getFloat32(o, true);
      case "f64": return dv.getFloat64(o, true);
      case "bool": return dv.getUint8(o) !== 0 ? 1 : 0;
      case "enum": return f.size === 1 ? dv.getUint8(o) : dv.getUint16(o, true);
      case "i64": return dv.getInt32(o + 4, true) * TWO32 + dv.getUint32(o, true);
      case "u64": return dv.getUint32(o + 4, true) * TWO32 + dv.getUint32(o, true);
      default: throw new TypeError(`Cannot read field ${JSON.stringify(f.name)} as a number: it is a ${f.type}`);
    }
  }

  /** A 64-bit field as a bigint (exact); other numeric fields converted. */
  bigint(i: number): bigint {
    const f = this.#field(i);
    const o = this.offset + f.offset;
    if (f.type === "i64") return this.#dv.getBigInt64(o, true);
    if (f.type === "u64") return this.#dv.getBigUint64(o, true);
    if (f.type === "f32" || f.type === "f64") throw new TypeError(`Cannot read field ${JSON.stringify(f.name)} as a bigint: it is a ${f.type}`);
    return BigInt(this.number(i));
  }

  bool(i: number): boolean {
    return this.number(i) !== 0;
  }

  /** A string field (decoded), an enum field's name. */
  string(i: number): string {
    const f = this.#field(i);
    if (f.type === "enum") return f.names[this.number(i)] ?? "";
    if (f.type !== "string") throw new TypeError(`Cannot read field ${JSON.stringify(f.name)} as a string: it is a ${f.type}`);
    const a = this.offset + (this.#varOff[f.varIndex] ?? 0);
    const len = this.#varLen[f.varIndex] ?? 0;
    // TextDecoder refuses views of shared memory: copy those first.
    const src = this.bytes.buffer instanceof SharedArrayBuffer ? this.bytes.slice(a, a + len) : this.bytes.subarray(a, a + len);
    return decoder.decode(src);
  }

  /** A copy of an array, bytes or string field's bytes. */
  bytesOf(i: number): Uint8Array {
    const f = this.#field(i);
    if (f.type === "array") return this.bytes.slice(this.offset + f.offset, this.offset + f.offset + f.size);
    if (f.varIndex < 0) throw new TypeError(`Cannot read field ${JSON.stringify(f.name)} as bytes: it is a ${f.type}`);
    const a = this.offset + (this.#varOff[f.varIndex] ?? 0);
    return this.bytes.slice(a, a + (this.#varLen[f.varIndex] ?? 0));
  }

  /** Was a string or bytes field truncated when written? */
  truncated(i: number): boolean {
    const f = this.#field(i);
    return f.varIndex >= 0 && (this.#varFlag[f.varIndex] ?? 0) !== 0;
  }

  /** Field i as its plain value (64-bit as bigint, enum as name). */
  value(i: number): FieldValue {
    const f = this.#field(i);
    switch (f.type) {
      case "i64":
      case "u64": return this.bigint(i);
      case "bool": return this.bool(i);
      case "enum":
      case "string": return this.string(i);
      case "array":
      case "bytes": return this.bytesOf(i);
      default: return this.number(i);
    }
  }

  /** All fields as a plain object, and the names of truncated fields. */
  toObject(): { fields: Record<string, FieldValue>; truncated: string[] } {
    const s = this.schema;
    const fields: Record<string, FieldValue> = {};
    const truncated: string[] = [];
    if (s === undefined) return { fields, truncated };
    s.fields.forEach((f, i) => {
      fields[f.name] = this.value(i);
      if (this.truncated(i)) truncated.push(f.name);
    });
    return { fields, truncated };
  }
}

export type { ReadValues };

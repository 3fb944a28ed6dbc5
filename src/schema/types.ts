/**
 * Field types of typed events, the `t` builders, schema validation and the payload layout
 * (offsets of fixed fields). Pure functions: no ring, no Atomics.
 */
import * as M from "./metadata-layout.js";

export type IntTypeName = "i8" | "u8" | "i16" | "u16" | "i32" | "u32";
export type BigTypeName = "i64" | "u64";
export type ScalarTypeName = IntTypeName | BigTypeName | "f32" | "f64" | "bool";
export type FieldTypeName = ScalarTypeName | "array" | "enum" | "string" | "bytes";

/** A field type: a scalar name, or a descriptor made by {@link t}. */
export type FieldType =
  | ScalarTypeName
  | { readonly type: ScalarTypeName }
  | { readonly type: "array"; readonly length: number }
  | { readonly type: "string" | "bytes"; readonly max: number }
  | { readonly type: "enum"; readonly names: readonly string[] };

/** Field types by name, in declaration order (object key order; names must be identifiers). */
export type FieldsSpec = Readonly<Record<string, FieldType>>;

/**
 * Builders of field types.
 *
 * @example
 * ```ts
 * defineEvent(ring, "http_request", { method: t.enum(["GET", "POST"]), status: t.u16, durationNs: t.u64, url: t.string(256) });
 * ```
 */
export const t = {
  i8: "i8",
  u8: "u8",
  i16: "i16",
  u16: "u16",
  i32: "i32",
  u32: "u32",
  /** 64-bit: write a number (exact up to 2^53) or a bigint; decodes to bigint. */
  i64: "i64",
  u64: "u64",
  f32: "f32",
  f64: "f64",
  bool: "bool",
  /** Fixed-size byte array of `length` bytes (a shorter value is zero-filled; a longer one is refused with a RangeError before anything is reserved). */
  array: (length: number) => ({ type: "array", length }) as const,
  /** UTF-8 string of at most `max` bytes (longer values are truncated at a character boundary and flagged). */
  string: (max: number) => ({ type: "string", max }) as const,
  /** Bytes of at most `max` length (longer values are truncated and flagged). */
  bytes: (max: number) => ({ type: "bytes", max }) as const,
  /** One of `names`; write the name or its index, decodes to the name. */
  enum: <const N extends readonly string[]>(names: N) => ({ type: "enum", names }) as const,
} as const;

/** The value a field accepts when writing. */
export type WriteValue<T> = T extends "i64" | "u64" | { type: "i64" | "u64" }
  ? number | bigint
  : T extends ScalarTypeName | { type: ScalarTypeName }
    ? T extends "bool" | { type: "bool" }
      ? boolean
      : number
    : T extends { type: "enum"; names: readonly (infer N)[] }
      ? N | number
      : T extends { type: "string" }
        ? string
        : Uint8Array;

/** The value a field decodes to. */
export type ReadValue<T> = T extends "i64" | "u64" | { type: "i64" | "u64" }
  ? bigint
  : T extends ScalarTypeName | { type: ScalarTypeName }
    ? T extends "bool" | { type: "bool" }
      ? boolean
      : number
    : T extends { type: "enum"; names: readonly (infer N)[] }
      ? N
      : T extends { type: "string" }
        ? string
        : Uint8Array;

export type WriteValues<F extends FieldsSpec> = { [K in keyof F]: WriteValue<F[K]> };
export type ReadValues<F extends FieldsSpec> = { [K in keyof F]: ReadValue<F[K]> };

/** One field of a validated schema. */
export interface FieldSchema {
  readonly name: string;
  readonly type: FieldTypeName;
  /** Type code (T_* in metadata-layout.ts). */
  readonly code: number;
  /** Offset in the fixed section, or -1 for a variable field. */
  readonly offset: number;
  /** Bytes in the fixed section (0 for a variable field). */
  readonly size: number;
  /** Array length, string/bytes maximum, or enum name count; else 0. */
  readonly param: number;
  /** Enum names (empty for other types). */
  readonly names: readonly string[];
  /** Index among the variable fields, or -1. */
  readonly varIndex: number;
}

/** A validated event schema with its payload layout. */
export interface EventSchema {
  /** Event type id in records (SCHEMA_ID_BASE..8191); -1 before registration. */
  readonly id: number;
  readonly name: string;
  readonly fields: readonly FieldSchema[];
  /** Bytes of the fixed section (declaration order, natural alignment, no trailing padding). */
  readonly fixedBytes: number;
  /** Largest payload: fixedBytes + sum over variable fields of (2 + max). */
  readonly maxBytes: number;
  readonly varCount: number;
}

/** A schema that was refused, naming the event and (when it is about one) the field. */
export class SchemaError extends Error {
  override readonly name = "SchemaError";
  readonly event: string;
  readonly field: string | undefined;
  constructor(message: string, event: string, field?: string) {
    super(message);
    this.event = event;
    this.field = field;
  }
}

const CODES: Record<FieldTypeName, number> = {
  i8: M.T_I8, u8: M.T_U8, i16: M.T_I16, u16: M.T_U16, i32: M.T_I32, u32: M.T_U32, i64: M.T_I64, u64: M.T_U64,
  f32: M.T_F32, f64: M.T_F64, bool: M.T_BOOL, array: M.T_ARRAY, enum: M.T_ENUM, string: M.T_STRING, bytes: M.T_BYTES,
};
const NAMES: FieldTypeName[] = [];
for (const [n, c] of Object.entries(CODES)) NAMES[c] = n as FieldTypeName;
const SCALAR_SIZE: Partial<Record<FieldTypeName, number>> = {
  i8: 1, u8: 1, i16: 2, u16: 2, i32: 4, u32: 4, i64: 8, u64: 8, f32: 4, f64: 8, bool: 1,
};

/** The type name of a code, or undefined. */
export function typeNameOf(code: number): FieldTypeName | undefined {
  return NAMES[code];
}

const EVENT_NAME = /^[A-Za-z_][A-Za-z0-9_.:-]*$/;
const FIELD_NAME = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const encoder = new TextEncoder();

/** UTF-8 byte length of a string. */
export function utf8Length(s: string): number {
  return encoder.encode(s).length;
}

/**
 * Validate `fields` and lay out the payload. Throws {@link SchemaError} naming the event and the
 * field. `maxPayload` is the ring's largest record payload: a schema whose largest payload does
 * not fit is refused (values are truncated to their maxima, so a write can never overflow).
 */
export function buildSchema(name: unknown, fields: unknown, maxPayload: number, id = -1): EventSchema {
  const ev = typeof name === "string" ? name : String(name);
  const fail = (msg: string, field?: string): never => {
    throw new SchemaError(`Cannot define event ${JSON.stringify(ev)}: ${field === undefined ? "" : `field ${JSON.stringify(field)}: `}${msg}`, ev, field);
  };
  if (typeof name !== "string" || !EVENT_NAME.test(name)) {
    fail(`the event name must be a non-empty string of letters, digits, "_", ".", ":", "-" starting with a letter or "_", received ${typeof name === "string" ? JSON.stringify(name) : typeof name}`);
  }
  if (utf8Length(ev) > M.MAX_NAME_BYTES) fail(`the event name must be at most ${M.MAX_NAME_BYTES} bytes long`);
  if (fields === null || typeof fields !== "object" || Array.isArray(fields)) {
    fail(`fields must be an object mapping field names to types, received ${Array.isArray(fields) ? "an array" : fields === null ? "null" : typeof fields}`);
  }
  const entries = Object.entries(fields as Record<string, unknown>);
  if (entries.length > M.MAX_FIELDS) fail(`an event has at most ${M.MAX_FIELDS} fields, received ${entries.length}`);
  const out: FieldSchema[] = [];
  let fixed = 0;
  let maxBytes = 0;
  let varCount = 0;
  const pending: { name: string; type: FieldTypeName; param: number; names: readonly string[] }[] = [];
  for (const [fname, spec] of entries) {
    if (!FIELD_NAME.test(fname)) fail("a field name must be an identifier (letters, digits, _ and $, not starting with a digit)", fname);
    if (utf8Length(fname) > M.MAX_NAME_BYTES) fail(`a field name must be at most ${M.MAX_NAME_BYTES} bytes long`, fname);
    const type: unknown = typeof spec === "string" ? spec : spec !== null && typeof spec === "object" ? (spec as { type?: unknown }).type : undefined;
    if (typeof type !== "string" || !(type in CODES)) {
      const shown = typeof type === "string" ? JSON.stringify(type) : spec === null || typeof spec !== "object" ? String(spec) : "an object without a type";
      fail(`unknown field type ${shown}; expected one of ${Object.keys(CODES).join(", ")} (use the t.* builders)`, fname);
    }
    const tn = type as FieldTypeName;
    const s = spec as Record<string, unknown>;
    let param = 0;
    let names: readonly string[] = [];
    const intIn = (what: string, v: unknown, min: number, max: number): number => {
      if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
        fail(`${what} must be an integer from ${min} to ${max}, received ${String(v)}`, fname);
      }
      return v as number;
    };
    if (tn === "array") param = intIn("array length", s.length, 1, M.MAX_ARRAY_BYTES);
    else if (tn === "string" || tn === "bytes") param = intIn(`${tn} maximum length`, s.max, 1, M.MAX_VAR_LENGTH);
    else if (tn === "enum") {
      const ns = s.names;
      if (!Array.isArray(ns) || ns.length < 1 || ns.length > M.MAX_ENUM_NAMES) {
        fail(`enum names must be an array of 1 to ${M.MAX_ENUM_NAMES} strings`, fname);
      }
      const seen = new Set<string>();
      for (const n of ns as unknown[]) {
        if (typeof n !== "string" || n.length === 0 || utf8Length(n) > M.MAX_NAME_BYTES) {
          fail(`enum names must be non-empty strings of at most ${M.MAX_NAME_BYTES} bytes, received ${JSON.stringify(n)}`, fname);
        }
        if (seen.has(n as string)) fail(`enum name ${JSON.stringify(n)} appears twice`, fname);
        seen.add(n as string);
      }
      names = Object.freeze([...(ns as string[])]);
      param = names.length;
    }
    pending.push({ name: fname, type: tn, param, names });
  }
  // Fixed fields in declaration order, each at the next offset aligned to its size (natural alignment).
  for (const p of pending) {
    let size = SCALAR_SIZE[p.type] ?? 0;
    if (p.type === "array") size = p.param;
    else if (p.type === "enum") size = p.param > M.ENUM_U8_LIMIT ? 2 : 1;
    if (size === 0) continue;
    const align = p.type === "array" ? 1 : size;
    fixed = (fixed + align - 1) & ~(align - 1);
    out.push({ name: p.name, type: p.type, code: CODES[p.type], offset: fixed, size, param: p.param, names: p.names, varIndex: -1 });
    fixed += size;
    if (fixed > maxPayload) fail(`the fixed fields need ${fixed} bytes, more than the ring's largest payload (${maxPayload} bytes)`, p.name);
  }
  maxBytes = fixed;
  for (const p of pending) {
    if (p.type !== "string" && p.type !== "bytes") continue;
    out.push({ name: p.name, type: p.type, code: CODES[p.type], offset: -1, size: 0, param: p.param, names: p.names, varIndex: varCount++ });
    maxBytes += M.VAR_PREFIX_BYTES + p.param;
    if (maxBytes > maxPayload) {
      fail(`the largest payload would be ${maxBytes} bytes, more than the ring's largest payload (${maxPayload} bytes); lower its maximum length`, p.name);
    }
  }
  // Restore declaration order (variable fields were laid out after the fixed ones).
  const order = new Map(pending.map((p, i) => [p.name, i]));
  out.sort((a, b) => (order.get(a.name) ?? 0) - (order.get(b.name) ?? 0));
  return Object.freeze({ id, name: ev, fields: Object.freeze(out.map((f) => Object.freeze(f))), fixedBytes: fixed, maxBytes, varCount });
}

/** The same schema with its id set. */
export function withId(s: EventSchema, id: number): EventSchema {
  return Object.freeze({ ...s, id });
}

/**
 * Encoding of a schema entry (docs/FORMAT.md 12.2) and its validating parser. The parser reads
 * untrusted memory: every length is bounds-checked and a bad entry is a RingFormatError with the
 * byte offset (in the ring) of the offending field.
 */
import { RingFormatError } from "../errors.js";
import * as M from "./metadata-layout.js";
import { type EventSchema, type FieldsSpec, type FieldType, buildSchema, typeNameOf } from "./types.js";

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * The entry bytes of `s` (header word0 and id left 0, written by the registry), padded to 8.
 * Deterministic: two schemas are identical iff their entries are equal from S_FIXED_BYTES on.
 */
export function encodeEntry(s: EventSchema): Uint8Array {
  const parts: number[] = [];
  const u8 = (v: number) => parts.push(v & 0xff);
  const u16 = (v: number) => parts.push(v & 0xff, (v >>> 8) & 0xff);
  const str = (v: string) => {
    const b = encoder.encode(v);
    for (const x of b) parts.push(x);
    return b.length;
  };
  for (let i = 0; i < M.ENTRY_HEADER_BYTES; i++) parts.push(0);
  parts[M.E_KIND] = M.ENTRY_KIND_SCHEMA;
  parts[M.E_VERSION] = M.ENTRY_VERSION;
  u16(s.fixedBytes);
  u16(s.fields.length);
  u16(s.maxBytes);
  const nameLenAt = parts.length;
  u8(0);
  u8(0);
  parts[nameLenAt] = str(s.name);
  for (const f of s.fields) {
    u8(f.code);
    const fl = parts.length;
    u8(0);
    u16(f.param);
    u16(f.offset < 0 ? M.F_VARIABLE : f.offset);
    parts[fl] = str(f.name);
    for (const n of f.names) {
      const at = parts.length;
      u8(0);
      parts[at] = str(n);
    }
  }
  while (parts.length % M.ENTRY_ALIGN !== 0) parts.push(0);
  return Uint8Array.from(parts);
}

/**
 * Parse the committed schema entry at ring offset `at` of `size` bytes. `maxPayload` bounds the
 * schema like at definition. Throws RingFormatError naming the byte offset of what is wrong.
 */
export function parseEntry(u8: Uint8Array, at: number, size: number, expectedId: number, maxPayload: number): EventSchema {
  const end = at + size;
  const bad = (what: string, off: number, expected?: string, actual?: string): never => {
    throw new RingFormatError(`Cannot read event schema entry at byte ${at}: ${what} (byte ${off})`, off, expected, actual);
  };
  const need = (off: number, n: number) => {
    if (off + n > end) bad(`field runs past the end of the entry (${size} bytes)`, off, `<= ${end}`, String(off + n));
  };
  const rd8 = (off: number) => {
    need(off, 1);
    return u8[off] ?? 0;
  };
  const rd16 = (off: number) => {
    need(off, 2);
    return (u8[off] ?? 0) | ((u8[off + 1] ?? 0) << 8);
  };
  const rdStr = (off: number, n: number) => {
    need(off, n);
    try {
      return decoder.decode(u8.slice(off, off + n));
    } catch {
      return bad("name is not valid UTF-8", off);
    }
  };
  const id = rd16(at + M.E_ID);
  if (id !== expectedId) bad(`id is ${id}, expected ${expectedId} (SCHEMA_ID_BASE + entry index)`, at + M.E_ID, String(expectedId), String(id));
  const ver = rd8(at + M.E_VERSION);
  if (ver !== M.ENTRY_VERSION) bad(`entry version is ${ver}, expected ${M.ENTRY_VERSION}`, at + M.E_VERSION, String(M.ENTRY_VERSION), String(ver));
  const fixedBytes = rd16(at + M.S_FIXED_BYTES);
  const count = rd16(at + M.S_FIELD_COUNT);
  const maxBytes = rd16(at + M.S_MAX_BYTES);
  const nameLen = rd8(at + M.S_NAME_LEN);
  const name = rdStr(at + M.S_NAME, nameLen);
  let p = at + M.S_NAME + nameLen;
  const spec: Record<string, FieldType> = {};
  const offsets: { off: number; at: number }[] = [];
  for (let i = 0; i < count; i++) {
    const code = rd8(p + M.F_TYPE);
    const tn = typeNameOf(code);
    if (tn === undefined) bad(`field ${i} has unknown type code ${code}`, p + M.F_TYPE, `1..${M.T_MAX}`, String(code));
    const fl = rd8(p + M.F_NAME_LEN);
    const param = rd16(p + M.F_PARAM);
    offsets.push({ off: rd16(p + M.F_OFFSET), at: p + M.F_OFFSET });
    const fname = rdStr(p + M.F_NAME, fl);
    if (Object.prototype.hasOwnProperty.call(spec, fname)) bad(`field name ${JSON.stringify(fname)} appears twice`, p + M.F_NAME);
    p += M.F_NAME + fl;
    let ft: FieldType;
    if (tn === "array") ft = { type: "array", length: param };
    else if (tn === "string" || tn === "bytes") ft = { type: tn, max: param };
    else if (tn === "enum") {
      const names: string[] = [];
      for (let k = 0; k < param; k++) {
        const nl = rd8(p);
        names.push(rdStr(p + 1, nl));
        p += 1 + nl;
      }
      ft = { type: "enum", names };
    } else ft = tn as FieldType;
    spec[fname] = ft;
  }
  let s: EventSchema;
  try {
    s = buildSchema(name, spec as FieldsSpec, maxPayload, id);
  } catch (e) {
    return bad(`invalid schema: ${e instanceof Error ? e.message : String(e)}`, at + M.S_NAME);
  }
  // The stored layout must be the one this implementation computes (readers agree byte for byte).
  if (s.fixedBytes !== fixedBytes) bad(`fixed size is ${fixedBytes}, the fields give ${s.fixedBytes}`, at + M.S_FIXED_BYTES, String(s.fixedBytes), String(fixedBytes));
  if (s.maxBytes !== maxBytes) bad(`maximum size is ${maxBytes}, the fields give ${s.maxBytes}`, at + M.S_MAX_BYTES, String(s.maxBytes), String(maxBytes));
  s.fields.forEach((f, i) => {
    const o = offsets[i];
    const want = f.offset < 0 ? M.F_VARIABLE : f.offset;
    if (o !== undefined && o.off !== want) bad(`field ${JSON.stringify(f.name)} offset is ${o.off}, expected ${want}`, o.at, String(want), String(o.off));
  });
  return s;
}

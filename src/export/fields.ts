/**
 * An event's fields as JSON or as `name=value` text, read straight from a bound `EventView` (no
 * intermediate object per record): shared by `urb dump` and the exporters.
 *
 * JSON: 64-bit integers are numbers when exact (|n| <= 2^53), else strings; NaN and infinities are
 * strings; bytes and fixed arrays are lowercase hex strings.
 */
import type { EventView } from "../schema/codec.js";
import type { EventSchema } from "../schema/types.js";

/** Most bytes of a bytes/array field shown in text before it is cut (`...(300 bytes)`). */
export const TEXT_BYTES_SHOWN = 32;

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** Lowercase hex of `b`, cut to its first `max` bytes. */
export function hex(b: Uint8Array, max = Infinity): string {
  let s = "";
  const n = Math.min(b.length, max);
  for (let i = 0; i < n; i++) s += HEX[b[i] as number];
  return s;
}

/**
 * A number as text. Integers go through toFixed(0), not String(): String() keeps each result in
 * V8's number-to-string cache, whose entries outlive a young-generation collection, so a stream
 * of distinct numbers (timestamps, counters) fills the old generation with garbage and the
 * exporter's memory grows to tens of MB between full collections; toFixed leaves nothing behind.
 */
export function numberText(n: number): string {
  return Number.isInteger(n) && Math.abs(n) < 1e21 ? n.toFixed(0) : String(n);
}

/** A number as a JSON value (NaN and infinities as strings, which JSON cannot spell; -0 keeps its sign). */
export function jsonNumber(n: number): string {
  if (n === 0 && 1 / n < 0) return "-0";
  return Number.isFinite(n) ? numberText(n) : JSON.stringify(String(n));
}

/** The names of the bound view's string and bytes fields that were truncated when written, as a JSON array; "" when none. */
export function truncatedJson(view: EventView, s: EventSchema): string {
  let out = "";
  for (let i = 0; i < s.fields.length; i++) {
    if (view.truncated(i)) out += (out === "" ? "[" : ",") + JSON.stringify(s.fields[i]?.name);
  }
  return out === "" ? "" : out + "]";
}

/** Field `i` of the bound view as a JSON value. */
export function fieldJson(view: EventView, s: EventSchema, i: number): string {
  const f = s.fields[i];
  switch (f?.type) {
    case "i64":
    case "u64": {
      const b = view.bigint(i);
      return b >= -9007199254740992n && b <= 9007199254740992n ? String(b) : `"${String(b)}"`;
    }
    case "bool": return view.bool(i) ? "true" : "false";
    case "enum":
    case "string": return JSON.stringify(view.string(i));
    case "array":
    case "bytes": return `"${hex(view.bytesOf(i))}"`;
    default: return jsonNumber(view.number(i));
  }
}

/** Per schema, each field's `"name":` (with the comma before it after the first): made once. */
const keyCache = new WeakMap<EventSchema, string[]>();

function jsonKeys(s: EventSchema): string[] {
  let keys = keyCache.get(s);
  if (keys === undefined) {
    keys = s.fields.map((f, i) => `${i > 0 ? "," : ""}${JSON.stringify(f.name)}:`);
    keyCache.set(s, keys);
  }
  return keys;
}

/** All fields of the bound view as a JSON object: `{"status":200,"url":"/"}`. */
export function fieldsJson(view: EventView, s: EventSchema): string {
  const keys = jsonKeys(s);
  let out = "{";
  for (let i = 0; i < keys.length; i++) out += (keys[i] as string) + fieldJson(view, s, i);
  return out + "}";
}

/** All fields of the bound view as text: `status=200 url="/"` (truncated strings marked `...`). */
export function fieldsText(view: EventView, s: EventSchema): string {
  let out = "";
  for (let i = 0; i < s.fields.length; i++) {
    const f = s.fields[i] as { name: string; type: string };
    if (i > 0) out += " ";
    out += f.name + "=";
    switch (f.type) {
      case "i64":
      case "u64": out += String(view.bigint(i)); break;
      case "bool": out += view.bool(i) ? "true" : "false"; break;
      case "enum": out += view.string(i); break;
      case "string": out += JSON.stringify(view.string(i)); break;
      case "array":
      case "bytes": {
        const b = view.bytesOf(i);
        out += hex(b, TEXT_BYTES_SHOWN) + (b.length > TEXT_BYTES_SHOWN ? `...(${b.length} bytes)` : "");
        break;
      }
      default: out += numberText(view.number(i));
    }
    if (view.truncated(i)) out += "...(truncated)";
  }
  return out;
}

/**
 * The textual form of a schema, in the spirit of ftrace's `events/<name>/format` files: what a
 * person needs to read a ring's events by eye or to write a decoder in another language.
 *
 * ```
 * name: http_request
 * ID: 4096
 * format:
 * 	field:enum8 method;	offset:0;	size:1;	values: GET=0 POST=1;
 * 	field:u16 status;	offset:2;	size:2;
 * 	field:u64 durationNs;	offset:8;	size:8;
 * 	field:string url;	offset:16;	size:2+0..256;
 * payload: 16 fixed bytes, then variable fields (u16 length, bit 15 = truncated, then the bytes); at most 274 bytes
 * ```
 */
import type { EventSchema, FieldSchema } from "./types.js";

function typeText(f: FieldSchema): string {
  if (f.type === "enum") return f.size === 1 ? "enum8" : "enum16";
  if (f.type === "array") return `u8[${f.param}]`;
  return f.type;
}

/** One schema as text (several lines, ending with a newline). */
export function formatSchema(s: EventSchema): string {
  const lines = [`name: ${s.name}`, `ID: ${s.id}`, "format:"];
  let firstVar = true;
  for (const f of s.fields) {
    let line: string;
    if (f.offset >= 0) {
      line = `\tfield:${typeText(f)} ${f.name};\toffset:${f.offset};\tsize:${f.size};`;
      if (f.type === "enum") line += `\tvalues: ${f.names.map((n, i) => `${JSON.stringify(n).slice(1, -1)}=${i}`).join(" ")};`;
    } else {
      // Only the first variable field has a constant offset; each later one follows the previous one's bytes.
      line = `\tfield:${f.type} ${f.name};\toffset:${firstVar ? String(s.fixedBytes) : "next"};\tsize:2+0..${f.param};`;
      firstVar = false;
    }
    lines.push(line);
  }
  lines.push(
    `payload: ${s.fixedBytes} fixed bytes (little-endian, natural alignment)` +
      (s.varCount > 0 ? `, then ${s.varCount} variable field(s) in order (u16 length, bit 15 = truncated, then the bytes)` : "") +
      `; at most ${s.maxBytes} bytes`,
  );
  return lines.join("\n") + "\n";
}

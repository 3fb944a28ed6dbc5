/**
 * Span attributes as bounded JSON text: the first `maxCount` attributes whose text fits in
 * `maxBytes` UTF-8 bytes. The common case (few, short attributes) is one native `JSON.stringify`
 * and two length tests; only a span with many attributes, or text that might not fit, takes the
 * attribute-by-attribute path.
 */
import type { Attributes } from "@opentelemetry/api";

/** UTF-8 length of a string (no allocation). */
function utf8Bytes(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      n += 4; // a surrogate pair: one 4-byte character
      i++;
    } else n += 3;
  }
  return n;
}

/** The encoded text and how many attributes it left out. */
export interface EncodedAttributes {
  text: string;
  dropped: number;
}

/** Any character that is not ASCII (one UTF-8 byte per UTF-16 unit otherwise). */
const NON_ASCII = /[^\x00-\x7f]/;

/** Does `s` fit in `maxBytes` UTF-8 bytes? Each UTF-16 unit is 1 to 3 bytes; ASCII is 1. */
function fitsUtf8(s: string, maxBytes: number): boolean {
  return s.length <= maxBytes && (s.length * 3 <= maxBytes || !NON_ASCII.test(s) || utf8Bytes(s) <= maxBytes);
}

/**
 * The JSON text of `c` attributes is at least `5c + 1` characters (`{` `"":0` and a comma between
 * two, `}`), so text shorter than `5 (maxCount + 1) + 1` holds at most `maxCount` attributes and
 * needs no counting (a `for in` over the SDK's attribute object costs more than the stringify).
 */
const MIN_ATTRIBUTE_CHARS = 5;

/**
 * Encode `attrs` into `out` (reused by the caller: no allocation for the result). Attributes whose
 * value is undefined are skipped, as JSON does; no attribute gives "".
 */
export function encodeAttributes(attrs: Attributes, maxCount: number, maxBytes: number, out: EncodedAttributes): void {
  const s = JSON.stringify(attrs);
  if (s.length <= 2) {
    out.text = ""; // "{}": nothing, or only undefined values
    out.dropped = 0;
    return;
  }
  if (fitsUtf8(s, maxBytes)) {
    let few = s.length < MIN_ATTRIBUTE_CHARS * (maxCount + 1) + 1;
    if (!few) {
      let count = 0;
      for (const k in attrs) if (attrs[k] !== undefined) count++;
      few = count <= maxCount;
    }
    if (few) {
      out.text = s;
      out.dropped = 0;
      return;
    }
  }
  let text = "{";
  let bytes = 2; // "{" and "}"
  let kept = 0;
  let dropped = 0;
  for (const k in attrs) {
    const v = attrs[k];
    if (v === undefined) continue;
    const piece = JSON.stringify(k) + ":" + JSON.stringify(v);
    const n = utf8Bytes(piece) + (kept > 0 ? 1 : 0);
    if (kept >= maxCount || bytes + n > maxBytes) {
      dropped++;
      continue;
    }
    text += kept > 0 ? "," + piece : piece;
    bytes += n;
    kept++;
  }
  out.text = kept > 0 ? text + "}" : "";
  out.dropped = dropped;
}

/** Attributes from their stored text; text that is not a JSON object gives `{}`. */
export function decodeAttributes(text: string): Attributes {
  if (text === "") return {};
  try {
    const v: unknown = JSON.parse(text);
    return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Attributes) : {};
  } catch {
    return {};
  }
}

/**
 * Span attributes as bounded JSON text: the first `maxCount` attributes whose text fits in
 * `maxBytes` UTF-8 bytes. The common case (few, short attributes) is one native `JSON.stringify`;
 * only a span with more attributes, or text that might not fit, takes the attribute-by-attribute path.
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

/**
 * Encode `attrs` into `out` (reused by the caller: no allocation for the result). Attributes whose
 * value is undefined are skipped, as JSON does.
 */
export function encodeAttributes(attrs: Attributes, maxCount: number, maxBytes: number, out: EncodedAttributes): void {
  let count = 0;
  for (const _ in attrs) count++;
  if (count === 0) {
    out.text = "";
    out.dropped = 0;
    return;
  }
  if (count <= maxCount) {
    const s = JSON.stringify(attrs);
    // Each UTF-16 unit is at most 3 UTF-8 bytes: text this short fits whatever it holds.
    if (s.length * 3 <= maxBytes || (s.length <= maxBytes && utf8Bytes(s) <= maxBytes)) {
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

/**
 * A small protocol buffers wire-format *decoder* for the tests (independent of the writer in
 * src/export/protobuf.ts): a message is a list of fields { field, wire, value }, where value is a
 * bigint (varint, 64-bit), a number (32-bit) or the bytes of a length-delimited field. Throws on
 * malformed input (a truncated varint or length, an unknown wire type).
 */

export interface ProtoField {
  field: number;
  wire: number;
  varint: bigint;
  bytes: Uint8Array;
}

export function decodeMessage(b: Uint8Array): ProtoField[] {
  const out: ProtoField[] = [];
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let at = 0;
  const varint = (): bigint => {
    let v = 0n;
    for (let shift = 0n; ; shift += 7n) {
      if (at >= b.length) throw new Error(`truncated varint at ${at}`);
      if (shift > 63n) throw new Error(`varint longer than 10 bytes at ${at}`);
      const byte = b[at++] as number;
      v |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return v;
    }
  };
  while (at < b.length) {
    const key = Number(varint());
    const field = key >>> 3;
    const wire = key & 7;
    if (field === 0) throw new Error(`field number 0 at ${at}`);
    if (wire === 0) out.push({ field, wire, varint: varint(), bytes: new Uint8Array(0) });
    else if (wire === 1) {
      if (at + 8 > b.length) throw new Error(`truncated fixed64 at ${at}`);
      out.push({ field, wire, varint: dv.getBigUint64(at, true), bytes: b.subarray(at, at + 8) });
      at += 8;
    } else if (wire === 2) {
      const n = Number(varint());
      if (at + n > b.length) throw new Error(`length ${n} at ${at} runs past the end (${b.length})`);
      out.push({ field, wire, varint: 0n, bytes: b.subarray(at, at + n) });
      at += n;
    } else if (wire === 5) {
      if (at + 4 > b.length) throw new Error(`truncated fixed32 at ${at}`);
      out.push({ field, wire, varint: BigInt(dv.getUint32(at, true)), bytes: b.subarray(at, at + 4) });
      at += 4;
    } else throw new Error(`wire type ${wire} at ${at}`);
  }
  return out;
}

/** The first field `n` of a message, or undefined. */
export function get(fields: ProtoField[], n: number): ProtoField | undefined {
  return fields.find((f) => f.field === n);
}

export function all(fields: ProtoField[], n: number): ProtoField[] {
  return fields.filter((f) => f.field === n);
}

export function text(f: ProtoField | undefined): string | undefined {
  return f === undefined ? undefined : new TextDecoder().decode(f.bytes);
}

export function double(f: ProtoField | undefined): number | undefined {
  return f === undefined ? undefined : new DataView(f.bytes.buffer, f.bytes.byteOffset, 8).getFloat64(0, true);
}

/**
 * A minimal protocol buffers *writer* (wire format only: varint, 64-bit, length-delimited), enough
 * to write Perfetto's TracePacket stream without a dependency or generated code. Messages nest
 * with begin()/end(): the length is written in place when the message ends (the body is moved
 * right when its length needs more than one byte), so every length is canonical.
 *
 * Wire format: https://protobuf.dev/programming-guides/encoding/
 */

const WIRE_VARINT = 0;
const WIRE_I64 = 1;
const WIRE_LEN = 2;

export class ProtoWriter {
  #buf = new Uint8Array(1 << 12);
  #dv = new DataView(this.#buf.buffer);
  #len = 0;
  /** Start offsets of the open messages' bodies. */
  readonly #open: number[] = [];
  readonly #enc = new TextEncoder();

  /** Bytes written so far. */
  get length(): number {
    return this.#len;
  }

  /** The bytes written (a view, valid until the next write or reset). */
  view(): Uint8Array {
    if (this.#open.length > 0) throw new Error(`ProtoWriter: ${this.#open.length} message(s) still open`);
    return this.#buf.subarray(0, this.#len);
  }

  reset(): void {
    this.#len = 0;
    this.#open.length = 0;
  }

  /** A varint field (uint32/uint64/int32 >= 0/enum/bool): `n` a non-negative integer up to 2^53. */
  uint(field: number, n: number): void {
    this.#key(field, WIRE_VARINT);
    this.#varint(n);
  }

  /** An int64/int32 field: negative values take 10 bytes (two's complement), as the wire format says. */
  int(field: number, n: number): void {
    if (n >= 0) return this.uint(field, n);
    this.bigUint(field, BigInt.asUintN(64, BigInt(Math.trunc(n))));
  }

  /** A varint field from a bigint (uint64 beyond 2^53, or int64 as two's complement). */
  bigUint(field: number, b: bigint): void {
    this.#key(field, WIRE_VARINT);
    let v = BigInt.asUintN(64, b);
    this.#room(10);
    while (v >= 0x80n) {
      this.#buf[this.#len++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.#buf[this.#len++] = Number(v);
  }

  bool(field: number, b: boolean): void {
    this.uint(field, b ? 1 : 0);
  }

  /** A double field (wire type 1, little-endian). */
  double(field: number, x: number): void {
    this.#key(field, WIRE_I64);
    this.#room(8);
    this.#dv.setFloat64(this.#len, x, true);
    this.#len += 8;
  }

  /** A string field (UTF-8). */
  string(field: number, s: string): void {
    this.#key(field, WIRE_LEN);
    // Encode after a one-byte length guess, then move the bytes if the length needs more.
    this.#room(s.length * 3 + 10);
    const start = this.#len + 1;
    const n = this.#enc.encodeInto(s, this.#buf.subarray(start)).written;
    this.#placeLength(start, n);
  }

  /** Open an embedded message field; close it with {@link end}. */
  begin(field: number): void {
    this.#key(field, WIRE_LEN);
    this.#room(1);
    this.#len += 1; // one byte for the length, grown at end() if needed
    this.#open.push(this.#len);
  }

  /** Close the innermost open message, writing its length. */
  end(): void {
    const start = this.#open.pop();
    if (start === undefined) throw new Error("ProtoWriter: end() without begin()");
    this.#placeLength(start, this.#len - start);
  }

  /** Write length `n` in the byte before `start`, moving the `n` body bytes right if it takes more than one byte. */
  #placeLength(start: number, n: number): void {
    const size = varintSize(n);
    if (size > 1) {
      this.#room(size - 1 + (start + n - this.#len));
      this.#buf.copyWithin(start + size - 1, start, start + n);
      // Open messages started before `start`, so their offsets are unaffected.
    }
    let at = start - 1;
    let v = n;
    while (v >= 0x80) {
      this.#buf[at++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.#buf[at] = v;
    this.#len = start + size - 1 + n;
  }

  #key(field: number, wire: number): void {
    this.#room(5);
    this.#varint(field * 8 + wire);
  }

  #varint(n: number): void {
    this.#room(10);
    let v = n;
    while (v >= 0x80) {
      // Division, not >>>: values go up to 2^53, past 32-bit bitwise operators.
      this.#buf[this.#len++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.#buf[this.#len++] = v;
  }

  #room(extra: number): void {
    if (this.#len + extra <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < this.#len + extra) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.#buf.subarray(0, this.#len));
    this.#buf = next;
    this.#dv = new DataView(next.buffer);
  }
}

/** Bytes of the varint encoding of `n` (a non-negative integer up to 2^53). */
export function varintSize(n: number): number {
  let size = 1;
  for (let v = n; v >= 0x80; v = Math.floor(v / 0x80)) size++;
  return size;
}

/**
 * CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320), the checksum of zlib, PNG and gzip, so any
 * language's standard library can check a trace file's chunks (Python: `zlib.crc32`).
 * Slicing-by-4 tables: about 1 GB/s in V8, used for the small chunks (headers, metadata), optional
 * for pages. Where the runtime has a native CRC-32 of the same definition (Node's `zlib.crc32`,
 * Node 20.15+ and 22.2+, about 3x faster here on a page), `unified-ring-buffer/node` installs it with
 * {@link useNativeCrc32} (core imports no runtime module) and it takes the long inputs.
 */
const TABLES = makeTables();

/**
 * A native CRC-32 of the same definition: the CRC-32 of `data` continuing from `value` (0 to
 * start), as zlib's `crc32(data, value)`.
 */
export type NativeCrc32 = (data: Uint8Array, value: number) => number;

/** Shortest input handed to the native CRC-32: below it a call into the runtime costs more than the table loop. */
const NATIVE_MIN_BYTES = 256;
let nativeCrc32: NativeCrc32 | undefined;

/**
 * Let {@link crc32} hand inputs of 256 bytes and more to `impl` (undefined: the tables only).
 * `unified-ring-buffer/node` does it with `zlib.crc32` where Node has it.
 *
 * @example
 * ```ts
 * import { crc32 as zlibCrc32 } from "node:zlib";
 * useNativeCrc32((data, value) => zlibCrc32(data, value));
 * ```
 */
export function useNativeCrc32(impl: NativeCrc32 | undefined): void {
  nativeCrc32 = impl;
}

function makeTables(): Int32Array {
  const t = new Int32Array(4 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  for (let n = 0; n < 256; n++) {
    let c = t[n] as number;
    for (let k = 1; k < 4; k++) {
      c = (t[c & 0xff] as number) ^ (c >>> 8);
      t[k * 256 + n] = c;
    }
  }
  return t;
}

/**
 * CRC-32 of `bytes[start, end)`, continuing from `crc` (0 to start).
 *
 * @example
 * ```ts
 * crc32(new TextEncoder().encode("123456789")) === 0xcbf43926;
 * ```
 */
export function crc32(bytes: Uint8Array, start = 0, end = bytes.length, crc = 0): number {
  if (nativeCrc32 !== undefined && end - start >= NATIVE_MIN_BYTES) {
    return nativeCrc32(start === 0 && end === bytes.length ? bytes : bytes.subarray(start, end), crc) >>> 0;
  }
  const t = TABLES;
  let c = ~crc;
  let i = start;
  for (; i + 4 <= end; i += 4) {
    c ^= (bytes[i] as number) | ((bytes[i + 1] as number) << 8) | ((bytes[i + 2] as number) << 16) | ((bytes[i + 3] as number) << 24);
    c =
      (t[768 + (c & 0xff)] as number) ^
      (t[512 + ((c >>> 8) & 0xff)] as number) ^
      (t[256 + ((c >>> 16) & 0xff)] as number) ^
      (t[c >>> 24] as number);
  }
  for (; i < end; i++) c = (t[(c ^ (bytes[i] as number)) & 0xff] as number) ^ (c >>> 8);
  return ~c >>> 0;
}

/**
 * Where a trace file's bytes come from. The reader only ever asks for a range at a time, so a file
 * of any size is read with bounded memory: Node reads it with `pread` (`openTraceFile` in
 * `unified-ring-buffer/node`), a browser from an in-memory copy or a fetched buffer.
 */

/** Random-access bytes. */
export interface ByteSource {
  /** Total bytes. */
  readonly size: number;
  /** Copy up to `length` bytes at `position` into `dest[0, length)`; returns the bytes copied. */
  read(position: number, dest: Uint8Array, length: number): number;
}

/**
 * A source over bytes in memory (a snapshot image, a fetched file).
 *
 * @example
 * ```ts
 * const trace = openTrace(bytesSource(snapshotRing(ring)));
 * ```
 */
export function bytesSource(bytes: Uint8Array): ByteSource {
  return {
    size: bytes.length,
    read(position: number, dest: Uint8Array, length: number): number {
      const n = Math.max(0, Math.min(length, bytes.length - position));
      dest.set(bytes.subarray(position, position + n));
      return n;
    },
  };
}

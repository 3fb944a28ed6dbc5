/**
 * Error classes. Misuse throws built-ins (RangeError for sizes and ranges, TypeError for shapes);
 * the classes below are domain conditions a caller may want to catch.
 */

/**
 * Memory or a file is not a valid ring: wrong magic, version, geometry, or a record header that
 * points out of its page. Carries where the problem is.
 *
 * @example
 * ```ts
 * try { attachRing(new SharedArrayBuffer(64)); } catch (e) { if (e instanceof RingFormatError) console.log(e.byteOffset); }
 * ```
 */
export class RingFormatError extends Error {
  override readonly name = "RingFormatError";
  /** Byte offset in the ring (or file) of the offending field. */
  readonly byteOffset: number;
  readonly expected: string | undefined;
  readonly actual: string | undefined;
  constructor(message: string, byteOffset: number, expected?: string, actual?: string) {
    super(message);
    this.byteOffset = byteOffset;
    this.expected = expected;
    this.actual = actual;
  }
}

/** Every lane or producer slot of the ring is taken. */
export class CapacityError extends Error {
  override readonly name = "CapacityError";
}

/** commit() or discard() of a reservation that is not open (already committed, discarded, or never made). */
export class RecordStateError extends Error {
  override readonly name = "RecordStateError";
}

/** A second consumer tried to claim a lane that already has one. */
export class ConsumerClaimError extends Error {
  override readonly name = "ConsumerClaimError";
}

/** A reader or writer was used after close(). */
export class RingClosedError extends Error {
  override readonly name = "RingClosedError";
}

/**
 * A trace file is damaged or is not a trace file: truncated, a chunk that does not frame, a bad
 * checksum, a page whose records do not parse. `byteOffset` is where in the file the damage
 * starts; everything before it was read.
 *
 * @example
 * ```ts
 * const trace = openTraceFile("cut.urb");
 * for (const r of trace.records()) use(r);
 * for (const w of trace.warnings) console.warn(`${w.message} (byte ${w.byteOffset})`);
 * ```
 */
export class TraceFileError extends Error {
  override readonly name = "TraceFileError";
  /** Byte offset in the file where the damage starts. */
  readonly byteOffset: number;
  constructor(message: string, byteOffset: number) {
    super(message);
    this.byteOffset = byteOffset;
  }
}

/**
 * The optional native addon that file rings need (`unified-ring-buffer/node`) is not available:
 * not built (no compiler at install time), built for another Node, or an unsupported platform.
 * The message says why it failed to load and how to build it; `cause` is the load error.
 *
 * @example
 * ```ts
 * try { createFileRing("/dev/shm/app.urb"); } catch (e) { if (e instanceof NativeAddonError) useInProcessRing(); }
 * ```
 */
export class NativeAddonError extends Error {
  override readonly name = "NativeAddonError";
}

/**
 * `createFileRing` found a file (or a link) at its path and was not asked to replace it. `code` is
 * "EEXIST", as for the fs error it stands for.
 *
 * @example
 * ```ts
 * try { createFileRing(path); } catch (e) { if (e instanceof FileRingExistsError) ring = openFileRing(path); }
 * ```
 */
export class FileRingExistsError extends Error {
  override readonly name = "FileRingExistsError";
  readonly code = "EEXIST";
  /** The path that exists. */
  readonly path: string;
  constructor(message: string, path: string) {
    super(message);
    this.path = path;
  }
}

/**
 * `openFileRing` found the ring file owned by another user (see `allowForeignOwner`). `code` is
 * "EPERM".
 */
export class FileRingOwnerError extends Error {
  override readonly name = "FileRingOwnerError";
  readonly code = "EPERM";
  /** The owner's user id. */
  readonly uid: number;
  constructor(message: string, uid: number) {
    super(message);
    this.uid = uid;
  }
}

/** A value as an error message shows it (strings quoted and cut, bigints with their n, arrays by length). */
export function showValue(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v.length > 40 ? v.slice(0, 40) + "..." : v);
  if (typeof v === "bigint") return `${v}n`;
  if (ArrayBuffer.isView(v)) return `${v.constructor.name}(${v.byteLength} bytes)`;
  if (v instanceof ArrayBuffer) return `ArrayBuffer(${v.byteLength} bytes)`;
  if (typeof v === "object" && v !== null) return Array.isArray(v) ? `an array of ${v.length}` : `an object (${Object.keys(v).slice(0, 4).join(", ") || "no keys"})`;
  return String(v);
}

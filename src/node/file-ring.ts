/**
 * Rings in files: the ring's bytes are the file's bytes (docs/FORMAT.md, the ring image as it is),
 * mapped MAP_SHARED into every process that opens it, so the same Atomics code that works between
 * threads works between processes (the mapping is a real SharedArrayBuffer, made by the native
 * addon). In `/dev/shm` (tmpfs) the file is memory; on a disk it also survives the processes, and
 * after a crash it holds the last events (see recover.ts).
 *
 * Creating: the ring is built in a temporary file beside the target (mode 0600) and linked into
 * place only when complete, so an opener never sees a half-written header. Opening: the whole
 * header is validated against the file's size (src/ring.ts#readGeometry(): magic, version, every
 * geometry field, the lane kinds) before anything else is read; a wrong, truncated, zero-filled or
 * hostile file is a {@link RingFormatError}, never an out-of-bounds access.
 *
 * Every RingBuffer object made here carries a futex wake channel (futex.ts): its readers sleep in
 * a shared futex and its writers wake sleepers in every process (only when someone sleeps).
 *
 * Known limit: the mapping is trusted to stay as large as the ring. A process that truncates the
 * file under live mappings makes their next access a SIGBUS (as for any shared mapping); create
 * file rings in a directory only cooperating processes can write (the 0600 mode helps).
 */
import { closeSync, fchmodSync, fstatSync, ftruncateSync, linkSync, openSync, readSync, renameSync, unlinkSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { RingFormatError } from "../errors.js";
import { MAX_TOTAL_BYTES, RING_HEADER_BYTES } from "../layout.js";
import { type AttachOptions, type RingBuffer, type RingOptions, attachRing, createRing, readGeometry, ringBytes } from "../ring.js";
import { futexWakeChannel } from "./futex.js";
import { nativeAddon } from "./native.js";
import "./identity.js"; // writers of file rings (several processes) say which process they are

/** Options of {@link createFileRing}: the ring's options, and how the file is made. */
export interface FileRingOptions extends RingOptions {
  /** Replace an existing file at `path` (atomically: openers of the old file keep the old ring). Default false: an existing file is an error. */
  replace?: boolean;
  /** Permission bits of the new file. Default 0o600 (only this user). */
  fileMode?: number;
}

/**
 * Create a ring in a new file at `path` and map it. Prefer a path in `/dev/shm` (memory, fastest);
 * any path works and then also keeps the ring after the processes are gone. Other processes
 * attach with {@link openFileRing}. Throws NativeAddonError if the addon is not built, an `EEXIST`
 * error if the file exists (unless `replace`), RangeError/TypeError for bad ring options.
 *
 * @example
 * ```ts
 * import { createFileRing } from "unified-ring-buffer/node";
 * const ring = createFileRing("/dev/shm/myapp.urb", { lanes: 4, mode: "overwrite" });
 * const w = ring.writer({ tag: process.pid }); // tag writers with their pid: recovery finds dead ones
 * w.write(1, new TextEncoder().encode("hello"));
 * ```
 */
export function createFileRing(path: string, options: FileRingOptions = {}): RingBuffer {
  const addon = nativeAddon();
  const { replace = false, fileMode = 0o600, ...ringOptions } = options;
  const bytes = ringBytes(ringOptions); // validates the options before touching the file system
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`;
  let fd = openSync(tmp, "wx+", 0o600);
  let published = false;
  try {
    fchmodSync(fd, fileMode); // exactly this mode, whatever the umask
    ftruncateSync(fd, bytes);
    const buffer = addon.mapShared(fd, bytes);
    closeSync(fd);
    fd = -1;
    const ring = createRing(ringOptions, buffer); // writes the header, magic last
    if (replace) {
      renameSync(tmp, path);
    } else {
      linkSync(tmp, path); // fails with EEXIST rather than replace a file
      unlinkSync(tmp);
    }
    published = true;
    ring.setWakeChannel(futexWakeChannel(addon, buffer));
    ring.defaultTag = process.pid; // FORMAT.md 1.2: recovery and drains tell dead writers by it
    return ring;
  } finally {
    if (fd >= 0) closeSync(fd);
    if (!published) {
      try {
        unlinkSync(tmp);
      } catch {
        // already gone
      }
    }
  }
}

/**
 * Map the ring file at `path` (made by {@link createFileRing}, in any process) and attach to it,
 * after validating its whole header against the file's size. A file that is not a ring, is
 * truncated, zero-filled or corrupt throws {@link RingFormatError} saying what is wrong and at
 * which byte; NativeAddonError if the addon is not built; the `fs` error if the file cannot be
 * opened for reading and writing.
 *
 * @example
 * ```ts
 * import { openFileRing } from "unified-ring-buffer/node";
 * const ring = openFileRing("/dev/shm/myapp.urb");
 * for await (const r of ring.consumer()) console.log(r.type, r.timestamp); // woken by other processes' commits
 * ```
 */
export function openFileRing(path: string, options: AttachOptions = {}): RingBuffer {
  const addon = nativeAddon();
  const fd = openSync(path, "r+");
  let buffer: SharedArrayBuffer;
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) {
      throw new RingFormatError(`Cannot open file ring: ${path} is not a regular file`, 0, "a regular file", fileKind(st));
    }
    if (st.size < RING_HEADER_BYTES) {
      // Too short to map usefully: let the validation say so about the bytes that are there.
      const head = new Uint8Array(st.size);
      if (st.size > 0) readSync(fd, head, 0, st.size, 0);
      readGeometry(head.buffer);
      throw new RingFormatError(`Cannot open file ring: ${path} has ${st.size} bytes, less than a ring header`, 0);
    }
    // Map what the file holds (at most the largest ring); readGeometry() then checks the header's
    // size against it, so nothing past the file's end is ever touched.
    buffer = addon.mapShared(fd, Math.min(st.size, MAX_TOTAL_BYTES));
  } finally {
    closeSync(fd);
  }
  return attachWithChannel(buffer, options, path);
}

/**
 * Attach to a file ring's buffer that this thread received from another one (e.g. `postMessage`
 * of `ring.buffer` to a worker), with the cross-process wake channel that {@link openFileRing}
 * installs. (Plain `attachRing` works too, but its writers would not wake readers sleeping in
 * other processes.)
 *
 * @example
 * ```ts
 * // in a worker that got the buffer of a file ring
 * const ring = attachFileRing(workerData.buffer);
 * ```
 */
export function attachFileRing(buffer: SharedArrayBuffer, options: AttachOptions = {}): RingBuffer {
  return attachWithChannel(buffer, options, undefined);
}

/** attachRing() plus the futex wake channel; format errors name the file when there is one. */
function attachWithChannel(buffer: SharedArrayBuffer, options: AttachOptions, path: string | undefined): RingBuffer {
  const addon = nativeAddon();
  let ring: RingBuffer;
  try {
    ring = attachRing(buffer, options);
  } catch (e) {
    if (e instanceof RingFormatError && path !== undefined) {
      throw new RingFormatError(`${e.message} (file ${path})`, e.byteOffset, e.expected, e.actual);
    }
    throw e;
  }
  ring.setWakeChannel(futexWakeChannel(addon, buffer));
  ring.defaultTag = process.pid; // FORMAT.md 1.2: recovery and drains tell dead writers by it
  return ring;
}

function fileKind(st: import("node:fs").Stats): string {
  if (st.isDirectory()) return "a directory";
  if (st.isFIFO()) return "a FIFO";
  if (st.isCharacterDevice()) return "a character device";
  if (st.isBlockDevice()) return "a block device";
  if (st.isSocket()) return "a socket";
  return "not a regular file";
}

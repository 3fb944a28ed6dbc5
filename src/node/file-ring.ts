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
 * Files are made 0600 through a fresh temporary name opened with O_EXCL (which never follows a
 * symbolic link) and linked into place, so a link planted at the path is refused (EEXIST), or, with
 * `replace`, replaced itself: nothing is ever written through it. `openFileRing` refuses a file
 * owned by another user (as root, a ring another user can truncate under the mapping) unless
 * `allowForeignOwner`.
 *
 * A file that shrinks under a mapping: an access past the file's end is a SIGBUS (as for any shared
 * mapping), which JavaScript cannot catch. The size is checked when the ring is opened and then each
 * time a writer or reader of a RingBuffer object made here moves to another page (one fstat per page
 * switch, through the addon): the shrink then throws {@link RingFormatError} instead. Limits: a truncation between that
 * check and the accesses within the page still faults, and a buffer passed to another thread and
 * attached there with plain `attachRing` is not checked (`attachFileRing` is not either: it has no
 * file). Create file rings in a directory only cooperating processes can write.
 */
import { closeSync, constants, fchmodSync, fstatSync, ftruncateSync, linkSync, openSync, readSync, renameSync, unlinkSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { FileRingExistsError, FileRingOwnerError, RingFormatError } from "../errors.js";
import { checkOptions, optionKeys } from "../options.js";
import { MAX_TOTAL_BYTES, RING_HEADER_BYTES } from "../layout.js";
import { type AttachOptions, type RingBuffer, type RingOptions, attachRing, createRing, readGeometry, ringBytes } from "../ring.js";
import { futexWakeChannel } from "./futex.js";
import { type NativeAddon, nativeAddon } from "./native.js";
import "./identity.js"; // writers of file rings (several processes) say which process they are

/** Options of {@link createFileRing}: the ring's options, and how the file is made. */
export interface FileRingOptions extends RingOptions {
  /** Replace an existing file at `path` (atomically: openers of the old file keep the old ring). Default false: an existing file is an error. */
  replace?: boolean;
  /** Permission bits of the new file. Default 0o600 (only this user). */
  fileMode?: number;
}

const FILE_RING_OPTION_KEYS = optionKeys<FileRingOptions>({
  lanes: true, sharedLanes: true, pageSize: true, pagesPerLane: true, mode: true, clock: true, maxProducers: true, metadataBytes: true,
  replace: true, fileMode: true,
});

/** Options of {@link openFileRing}. */
export interface OpenFileRingOptions extends AttachOptions {
  /**
   * Open a ring file owned by another user. Default false: refused, because its owner can truncate
   * the file under this process's mapping (a SIGBUS) or rewrite it at any moment; as root, opening
   * every user's file would hand them that power over root's process.
   */
  allowForeignOwner?: boolean;
}

const OPEN_OPTION_KEYS = optionKeys<OpenFileRingOptions>({ clock: true, allowForeignOwner: true });
const ATTACH_OPTION_KEYS = optionKeys<AttachOptions>({ clock: true });

/** Closes the descriptor a file ring keeps for its size checks once its RingBuffer object is collected. */
const descriptors = new FinalizationRegistry<number>((fd) => {
  try {
    closeSync(fd);
  } catch {
    // already closed
  }
});
/**
 * Create a ring in a new file at `path` and map it. Prefer a path in `/dev/shm` (memory, fastest);
 * any path works and then also keeps the ring after the processes are gone. Other processes
 * attach with {@link openFileRing}. Throws NativeAddonError if the addon is not built,
 * {@link FileRingExistsError} (code "EEXIST") if a file or a link is at `path` (unless `replace`,
 * which replaces it, a link itself and not its target), RangeError/TypeError for bad ring options
 * or unknown option keys. The file is 0600 (`fileMode`), and its writers carry this process's pid
 * unless given a tag.
 *
 * @example
 * ```ts
 * import { createFileRing } from "unified-ring-buffer/node";
 * const ring = createFileRing("/dev/shm/myapp.urb", { lanes: 4, mode: "overwrite" });
 * const w = ring.writer(); // tagged with this process's pid: recovery finds dead writers
 * w.write(1, new TextEncoder().encode("hello"));
 * ```
 */
export function createFileRing(path: string, options: FileRingOptions = {}): RingBuffer {
  checkOptions("Cannot create file ring", options, FILE_RING_OPTION_KEYS);
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
      renameSync(tmp, path); // replaces a link at path itself, never its target
    } else {
      try {
        linkSync(tmp, path); // fails with EEXIST rather than replace a file (or a link)
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "EEXIST") {
          throw new FileRingExistsError(`Cannot create file ring: ${path} already exists (open it with openFileRing, or pass { replace: true } to replace it)`, path);
        }
        throw e;
      }
      unlinkSync(tmp);
    }
    published = true;
    ring.setWakeChannel(futexWakeChannel(addon, buffer));
    ring.defaultWriterTag = process.pid;
    watchSize(ring, addon, path, buffer.byteLength);
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
 * which byte; a file owned by another user throws {@link FileRingOwnerError} unless `allowForeignOwner` (see
 * {@link OpenFileRingOptions}); NativeAddonError if the addon is not built; the `fs` error if the
 * file cannot be opened for reading and writing. Writers made without a tag carry this process's pid.
 *
 * @example
 * ```ts
 * import { openFileRing } from "unified-ring-buffer/node";
 * const ring = openFileRing("/dev/shm/myapp.urb");
 * for await (const r of ring.consumer()) console.log(r.type, r.timestamp); // woken by other processes' commits
 * ```
 */
export function openFileRing(path: string, options: OpenFileRingOptions = {}): RingBuffer {
  checkOptions("Cannot open file ring", options, OPEN_OPTION_KEYS);
  const { allowForeignOwner = false, ...attach } = options;
  const addon = nativeAddon();
  const fd = openSync(path, "r+");
  let buffer: SharedArrayBuffer;
  let ring: RingBuffer;
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) {
      throw new RingFormatError(`Cannot open file ring: ${path} is not a regular file`, 0, "a regular file", fileKind(st));
    }
    const uid = process.getuid?.();
    if (uid !== undefined && st.uid !== uid && !allowForeignOwner) {
      throw new FileRingOwnerError(
        `Cannot open file ring: ${path} is owned by user ${st.uid}, not by this process's user ${uid}; ` +
          "its owner could truncate it under the mapping (a SIGBUS): pass { allowForeignOwner: true } if you trust that user",
        st.uid,
      );
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
    ring = attachWithChannel(buffer, attach, path);
  } catch (e) {
    closeSync(fd);
    throw e;
  }
  ring.defaultWriterTag = process.pid;
  watchSize(ring, addon, path, ring.geometry.totalBytes, fd);
  return ring;
}

/**
 * Check, at every page switch of this ring object's writers and readers, that the file still holds
 * `bytes`; keeps a descriptor of the file for it (its own, or a new one; closed with the ring).
 */
function watchSize(ring: RingBuffer, addon: NativeAddon, path: string, bytes: number, fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW)): void {
  descriptors.register(ring, fd);
  // The addon's fstat: fstatSync would build a Stats object (four Dates) at every page switch of
  // every writer (0.4 % of a recorded HTTP worker's busy samples). An addon built before it had
  // fileSize (URB_NATIVE_ADDON of an older build) still works, through fstatSync.
  const sizeOf = addon.fileSize !== undefined ? addon.fileSize.bind(addon) : (f: number) => fstatSync(f).size;
  ring.core.pageSwitchCheck = () => {
    const size = sizeOf(fd);
    if (size < bytes) {
      throw new RingFormatError(
        `Cannot use file ring ${path}: the file shrank to ${size} bytes under the mapping, the ring needs ${bytes} (another process truncated it); ` +
          "stop using this ring object (touching the missing pages would kill the process with SIGBUS)",
        size,
        `${bytes} bytes`,
        `${size} bytes`,
      );
    }
  };
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
  checkOptions("Cannot attach file ring", options, ATTACH_OPTION_KEYS);
  const ring = attachWithChannel(buffer, options, undefined);
  ring.defaultWriterTag = process.pid;
  return ring;
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
  return ring;
}

/** What a file that is not a regular file is, for messages ("a FIFO"). */
export function fileKind(st: import("node:fs").Stats): string {
  if (st.isDirectory()) return "a directory";
  if (st.isFIFO()) return "a FIFO";
  if (st.isCharacterDevice()) return "a character device";
  if (st.isBlockDevice()) return "a block device";
  if (st.isSocket()) return "a socket";
  return "not a regular file";
}

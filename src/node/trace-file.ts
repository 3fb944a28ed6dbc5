/**
 * Trace files on disk: open one for reading with bounded memory (pread per chunk), and dump a
 * ring's snapshot to one.
 */
import { closeSync, fstatSync, openSync, readSync, writeFileSync } from "node:fs";
import "./crc32.js"; // the native CRC-32 for the file chunks
import { openOutputFile } from "./output-file.js";
import type { RingBuffer } from "../ring.js";
import type { SnapshotInfo, SnapshotOptions } from "../snapshot.js";
import { scanTrace } from "../tracefile/scan.js";
import type { ByteSource } from "../tracefile/source.js";
import { TraceFile } from "../tracefile/trace.js";

/** A trace file read from disk; {@link close} releases its file descriptor. */
export class TraceFileOnDisk extends TraceFile {
  readonly path: string;
  readonly #fd: number;
  /** @internal use openTraceFile() */
  constructor(path: string, fd: number, src: ByteSource) {
    super(src, scanTrace(src));
    this.path = path;
    this.#fd = fd;
  }
  close(): void {
    closeSync(this.#fd);
  }
}

/** A {@link ByteSource} over an open file descriptor (positional reads; the file is never loaded whole). */
export function fileSource(fd: number): ByteSource {
  const size = fstatSync(fd).size;
  return {
    size,
    read(position: number, dest: Uint8Array, length: number): number {
      let done = 0;
      while (done < length) {
        const n = readSync(fd, dest, done, length - done, position + done);
        if (n === 0) break;
        done += n;
      }
      return done;
    },
  };
}

/**
 * Open a `.urb` trace file. Throws TraceFileError when it is not one (and the usual `ENOENT`
 * error when it does not exist); damage inside it is reported in `warnings` while every intact
 * record stays readable.
 *
 * @example
 * ```ts
 * const trace = openTraceFile("app.urb");
 * try {
 *   trace.read((r) => console.log(r.lane, r.type, r.timestamp));
 *   console.log(trace.stats());
 * } finally {
 *   trace.close();
 * }
 * ```
 */
export function openTraceFile(path: string): TraceFileOnDisk {
  const fd = openSync(path, "r");
  try {
    return new TraceFileOnDisk(path, fd, fileSource(fd));
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}

/**
 * Write a snapshot of `ring` (see `RingBuffer.snapshot`) to `path` as a `.urb` file, synchronously
 * (safe in an exit or crash handler). The file is created with mode 0600: traces can hold secrets.
 * Returns what was copied.
 *
 * @example
 * ```ts
 * process.on("SIGUSR2", () => dumpRing(ring, `/tmp/app-${process.pid}.urb`));
 * ```
 */
export function dumpRing(ring: RingBuffer, path: string, options: SnapshotOptions = {}): SnapshotInfo {
  const info: SnapshotInfo = { pages: 0, records: 0, lost: 0 };
  const image = ring.snapshot(info, options);
  const fd = openOutputFile(path); // 0600, never through a link to a file
  try {
    writeFileSync(fd, image);
  } finally {
    closeSync(fd);
  }
  return info;
}

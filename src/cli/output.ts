/**
 * Buffered, synchronous output to a file descriptor (stdout or a file), for commands that write far
 * more than fits in memory: text is gathered into chunks of about 64 KiB and written with
 * `writeSync`, so memory stays bounded whatever the size of the trace (the exporters stream through
 * it).
 *
 * A closed pipe (`urb dump big.urb | head`) ends the command quietly: EPIPE throws
 * {@link OutputClosedError}, which the command runner treats as success, as `cat` does. A
 * non-blocking pipe that is full (EAGAIN) is retried after a short sleep.
 */
import { closeSync, writeSync } from "node:fs";
import { openOutputFile } from "../node/output-file.js";

/** The reader of our output went away (EPIPE): stop writing, exit 0. */
export class OutputClosedError extends Error {
  override readonly name = "OutputClosedError";
}

/** Something text and bytes can be written to; what the exporters write into. */
export interface OutputSink {
  /** Append text (UTF-8). */
  text(s: string): void;
  /** Append bytes (copied or written before the call returns). */
  bytes(b: Uint8Array): void;
}

const CHUNK_BYTES = 1 << 16;
const sleepCell = new Int32Array(new SharedArrayBuffer(4));

/** An {@link OutputSink} writing to a file descriptor, buffered. */
export class FdOutput implements OutputSink {
  readonly #fd: number;
  readonly #owns: boolean;
  // A Buffer: write(string, offset) encodes at an offset without making a view per call.
  readonly #buf = Buffer.allocUnsafe(CHUNK_BYTES);
  #used = 0;
  /** Bytes handed to the file descriptor so far. */
  written = 0;

  constructor(fd: number, owns: boolean) {
    this.#fd = fd;
    this.#owns = owns;
  }

  /** Open `path` for writing (mode 0600, truncated, never through a link to a file: see openOutputFile), or stdout for `-`. */
  static open(path: string): FdOutput {
    return path === "-" ? new FdOutput(1, false) : new FdOutput(openOutputFile(path), true);
  }

  text(s: string): void {
    // Most strings are short: encode in place; a long one (or a full buffer) goes through bytes().
    if (s.length * 3 <= CHUNK_BYTES - this.#used) {
      this.#used += this.#buf.write(s, this.#used);
      return;
    }
    if (s.length * 3 <= CHUNK_BYTES) {
      this.flush();
      this.#used += this.#buf.write(s, 0);
      return;
    }
    this.bytes(Buffer.from(s));
  }

  bytes(b: Uint8Array): void {
    if (b.length <= CHUNK_BYTES - this.#used) {
      this.#buf.set(b, this.#used);
      this.#used += b.length;
      return;
    }
    this.flush();
    if (b.length < CHUNK_BYTES) {
      this.#buf.set(b);
      this.#used = b.length;
    } else {
      this.#writeAll(b);
    }
  }

  /** Write what is buffered. */
  flush(): void {
    if (this.#used === 0) return;
    const n = this.#used;
    this.#used = 0;
    this.#writeAll(this.#buf.subarray(0, n));
  }

  /** Flush, and close the descriptor when this output opened it. */
  close(): void {
    try {
      this.flush();
    } finally {
      if (this.#owns) closeSync(this.#fd);
    }
  }

  #writeAll(b: Uint8Array): void {
    let done = 0;
    // Bounded: each round writes something or sleeps 1 ms on EAGAIN; a reader that never drains
    // a pipe makes us wait as a blocking write would.
    while (done < b.length) {
      try {
        done += writeSync(this.#fd, b, done, b.length - done);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === "EAGAIN") {
          // A short sleep, not a spin: nothing else runs on this thread while we write.
          Atomics.wait(sleepCell, 0, 0, 1);
          continue;
        }
        if (code === "EPIPE") throw new OutputClosedError("the output was closed by its reader");
        throw e;
      }
    }
    this.written += b.length;
  }
}

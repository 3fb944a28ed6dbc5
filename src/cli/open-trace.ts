/**
 * Opening the FILE of a reading command: a `.urb` trace read with positional reads (one chunk per
 * lane in memory), whose bytes read so far drive the progress bar. Every way it can fail becomes
 * one {@link InputError} line naming the file.
 */
import { closeSync, openSync, statSync } from "node:fs";
import { TraceFileError } from "../errors.js";
import { fileSource } from "../node/trace-file.js";
import { fileKind } from "../node/file-ring.js";
import { type TraceFile, openTrace } from "../tracefile/trace.js";
import { InputError } from "./command.js";

/** An open trace, the bytes its reads have pulled so far, and how to close it. */
export interface OpenedTrace {
  readonly trace: TraceFile;
  readonly path: string;
  /** Fraction of the file's bytes read so far (0..1). */
  progress(): number;
  /** Called after each read with {@link progress} (e.g. a progress bar's update; it throttles itself). */
  onProgress: ((fraction: number) => void) | undefined;
  close(): void;
}

/** Open `path` as a trace file, or throw an InputError saying why it cannot be. */
export function openTraceForCli(path: string): OpenedTrace {
  let fd: number;
  try {
    const st = statSync(path);
    if (st.isDirectory()) throw new InputError(`${path} is a directory, not a trace file`);
    // A trace is read at random offsets, and opening a FIFO would wait for a writer: only files.
    if (!st.isFile()) throw new InputError(`${path} is ${fileKind(st)}, not a trace file: save the trace to a file first and give its path`);
    fd = openSync(path, "r");
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError(`cannot open ${path}: ${describeFsError(e)}`);
  }
  const inner = fileSource(fd);
  let bytesRead = 0;
  let opened: OpenedTrace | undefined;
  const source = {
    size: inner.size,
    read(position: number, dest: Uint8Array, length: number): number {
      const n = inner.read(position, dest, length);
      bytesRead += n;
      opened?.onProgress?.(inner.size > 0 ? Math.min(1, bytesRead / inner.size) : 1);
      return n;
    },
  };
  try {
    const trace = openTrace(source);
    opened = {
      trace,
      path,
      progress: () => (inner.size > 0 ? Math.min(1, bytesRead / inner.size) : 1),
      onProgress: undefined,
      close: () => closeSync(fd),
    };
    return opened;
  } catch (e) {
    closeSync(fd);
    if (e instanceof TraceFileError) throw new InputError(`${path} is not a readable trace file: ${e.message}`);
    throw e;
  }
}

/** The one-line reason of a file system error (`no such file or directory`), without a stack. */
export function describeFsError(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  switch (err.code) {
    case "ENOENT": return "no such file or directory";
    case "EACCES":
    case "EPERM": return "permission denied";
    case "EISDIR": return "is a directory";
    case "ENOTDIR": return "a part of the path is not a directory";
    case "ENOSPC": return "no space left on the device";
    case "EROFS": return "read-only file system";
    case "ELOOP": return "it is a symbolic link to a file, and trace output is never written through a link (remove it or choose another path)";
    default: return err.code !== undefined ? `${err.code}` : e instanceof Error ? e.message : String(e);
  }
}

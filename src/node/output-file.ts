/**
 * Opening a file that will hold trace data (`urb recover -o`, `urb export -o`, `urb view -o`,
 * `dumpRing`, `pipeToFile`): created 0600 (trace data tells what a program did), truncated, and never
 * through a symbolic link to a file. A link planted at an output path (in /tmp, say) would otherwise
 * make this process overwrite whatever it points to, keeping that file's owner and mode.
 */
import { closeSync, constants, fchmodSync, fstatSync, openSync, statSync } from "node:fs";

/** Permission bits of every file made here: only its owner reads trace data. */
export const TRACE_FILE_MODE = 0o600;

/**
 * Open `path` for writing, truncated, created with mode 0600; an existing regular file of this user
 * is set to 0600 too. A symbolic link to a regular file is refused (an Error with code "ELOOP" that
 * says so); a link to something else (`/dev/stdout` on a terminal or a pipe, `/dev/null`) is
 * written through, as the device it names. Returns the descriptor.
 *
 * @example
 * ```ts
 * const fd = openOutputFile("trace.json");
 * writeSync(fd, text); closeSync(fd);
 * ```
 */
export function openOutputFile(path: string): number {
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC;
  let fd: number;
  try {
    fd = openSync(path, flags | constants.O_NOFOLLOW, TRACE_FILE_MODE);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ELOOP") throw e;
    let target: import("node:fs").Stats | undefined;
    try {
      target = statSync(path);
    } catch {
      target = undefined; // a dangling link: refused below like a link to a file
    }
    if (target !== undefined && !target.isFile() && !target.isDirectory()) return openSync(path, constants.O_WRONLY);
    throw Object.assign(
      new Error(`Cannot write ${path}: it is a symbolic link${target === undefined ? " to nothing" : " to a file"}, and trace output is never written through a link (remove it or choose another path)`),
      { code: "ELOOP", path },
    );
  }
  try {
    const st = fstatSync(fd);
    const uid = process.getuid?.();
    if (st.isFile() && (st.mode & 0o777) !== TRACE_FILE_MODE && (uid === undefined || st.uid === uid)) fchmodSync(fd, TRACE_FILE_MODE);
  } catch (e) {
    closeSync(fd);
    throw e;
  }
  return fd;
}

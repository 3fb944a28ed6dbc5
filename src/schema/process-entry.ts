/**
 * Process entries of the metadata area (docs/FORMAT.md 12.6): the name of a process that writes to
 * the ring ("node server.js", "server.js (cluster worker 2)"), kept beside the event schemas so that
 * it travels into trace files with them and costs the process no record: record counts, loss
 * accounting and consumers see nothing of it.
 */
import { cutUtf8, u32le } from "../identity.js";
import * as M from "./metadata-layout.js";

const decoder = new TextDecoder();

/** A process entry's bytes (word0 and id left 0, written by the registry), padded to 8. The name is cut to {@link M.PROCESS_NAME_MAX} UTF-8 bytes. */
export function encodeProcessEntry(pid: number, name: string): Uint8Array {
  const bytes = cutUtf8(name, M.PROCESS_NAME_MAX);
  const out = new Uint8Array((M.PR_NAME + bytes.length + M.ENTRY_ALIGN - 1) & ~(M.ENTRY_ALIGN - 1));
  out[M.E_KIND] = M.ENTRY_KIND_PROCESS;
  out[M.E_VERSION] = M.ENTRY_VERSION;
  new DataView(out.buffer).setUint32(M.PR_PID, pid, true);
  out[M.PR_NAME_LEN] = bytes.length;
  out.set(bytes, M.PR_NAME);
  return out;
}

/**
 * The (pid, name) of the committed process entry at `u8[at .. at + size)`, or undefined when it
 * does not parse (untrusted memory: a name that runs past the entry, an empty name, another
 * version). A bad process entry costs only that name: the schemas stay usable.
 */
export function parseProcessEntry(u8: Uint8Array, at: number, size: number): { pid: number; name: string } | undefined {
  if (size < M.PR_NAME || at + size > u8.length || u8[at + M.E_VERSION] !== M.ENTRY_VERSION) return undefined;
  const n = u8[at + M.PR_NAME_LEN] ?? 0;
  if (n === 0 || M.PR_NAME + n > size) return undefined;
  return { pid: u32le(u8, at + M.PR_PID), name: decoder.decode(u8.subarray(at + M.PR_NAME, at + M.PR_NAME + n)) };
}

/**
 * `unified-ring-buffer/record`: the ring that `urb record` set up for this program.
 *
 * @module
 */
import { RingBuffer } from "../ring.js";
import { attachFileRing, openFileRing } from "../node/file-ring.js";
import { RECORD_GLOBAL, readRecordConfig } from "./config.js";

/** What the preload leaves on `globalThis` (per thread). */
export interface RecordingSlot {
  readonly buffer: SharedArrayBuffer;
  ring: unknown;
}

/**
 * The ring `urb record` is recording, in this thread: the file ring that every Node.js process of
 * the recorded command maps and that urb drains to its trace file (so what you commit survives
 * your process exiting, throwing or being killed). Works in the main thread and in worker threads
 * (each maps the ring on first call). Undefined when the program is not being recorded. Write with
 * a writer of your own: each thread gets its own lane while there are free ones (then the shared
 * lane), and every record says which process and thread wrote it.
 *
 * @example
 * ```ts
 * import { recordingRing } from "unified-ring-buffer/record";
 * import { defineEvent, t } from "unified-ring-buffer";
 * const ring = recordingRing();
 * if (ring) {
 *   const request = defineEvent(ring, "http_request", { status: t.u16, durationNs: t.u64 });
 *   const w = ring.writer();
 *   request.write(w, { status: 200, durationNs: 1_250_000 });
 * }
 * ```
 */
export function recordingRing(): RingBuffer | undefined {
  const g = globalThis as { [RECORD_GLOBAL]?: RecordingSlot };
  let slot = g[RECORD_GLOBAL];
  if (slot === undefined) {
    // A worker thread (or a process the preload did not reach): map the ring named by the environment.
    let path: string | undefined;
    try {
      path = readRecordConfig(process.env)?.ring;
    } catch {
      return undefined; // malformed: the preload said so on stderr
    }
    if (path === undefined) return undefined;
    const ring = openFileRing(path);
    slot = { buffer: ring.buffer, ring };
    g[RECORD_GLOBAL] = slot;
  }
  // Another copy of this package may have made the slot's ring: attach one of ours to the same memory.
  if (!(slot.ring instanceof RingBuffer)) slot.ring = attachFileRing(slot.buffer);
  return slot.ring as RingBuffer;
}

/**
 * `unified-ring-buffer/record`: the ring that `urb record` set up for this program.
 *
 * @module
 */
import { getEnvironmentData, isMainThread } from "node:worker_threads";
import { RingBuffer, attachRing } from "../ring.js";
import { RECORD_ENV_DATA_KEY, RECORD_GLOBAL } from "./config.js";

/** What the preload leaves on `globalThis` (per thread). */
export interface RecordingSlot {
  readonly buffer: SharedArrayBuffer;
  ring: unknown;
}

/**
 * The ring `urb record` is streaming to its file, in this thread: the main thread of the recorded
 * process and any of its worker threads (each attaches on first call). Undefined when the program
 * is not being recorded (or another process of the command owns the recording). Write with a
 * writer of your own; every thread gets its own lane.
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
  if (slot === undefined && !isMainThread) {
    // A worker: the main thread's preload shared the buffer as environment data before the worker started.
    const buffer = getEnvironmentData(RECORD_ENV_DATA_KEY);
    if (buffer instanceof SharedArrayBuffer) {
      slot = { buffer, ring: undefined };
      g[RECORD_GLOBAL] = slot;
    }
  }
  if (slot === undefined) return undefined;
  // Another copy of this package may have made the slot's ring: attach one of ours to the same memory.
  if (!(slot.ring instanceof RingBuffer)) slot.ring = attachRing(slot.buffer);
  return slot.ring as RingBuffer;
}

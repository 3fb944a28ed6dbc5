/**
 * THE HOOK POINT for default instrumentation in `urb record`.
 *
 * `instrument(ring, {...})` (Node diagnostics channels: HTTP, fetch, net, fs, GC, event loop
 * delay, ...) is being built separately (its own issue). When it lands, `urb record` turns it on
 * here, by default, in the recorded program's main thread, right after the ring exists and before
 * the program's code runs; a `--no-instrument` option of `urb record` would then skip it. Until
 * then this does nothing and the trace holds what the program writes itself through
 * `recordingRing()`.
 */
import type { RingBuffer } from "../ring.js";
import type { RecordConfig } from "./config.js";

/** Turn on the default instrumentation of a recorded program (nothing yet: see the module comment). */
export function enableDefaultInstrumentation(ring: RingBuffer, config: RecordConfig): void {
  void ring;
  void config;
}

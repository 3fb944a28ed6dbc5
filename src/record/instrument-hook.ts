/**
 * Default instrumentation in `urb record`: Node's own events (HTTP server and client requests,
 * fetch, TCP connects and accepts, DNS lookups of connecting sockets, worker threads, GC pauses,
 * event-loop delay; see docs/INTEGRATIONS.md) recorded with `instrument()` in every thread of the
 * recorded program (main and file-started worker threads), right after the ring exists and before the program's code runs, so they
 * line up on one clock with what the program writes itself. `urb record --no-instrument` skips it.
 */
import { type Instrumentation, instrument } from "../node/instrument.js";
import type { RingBuffer } from "../ring.js";
import type { RecordConfig } from "./config.js";

/** Turn on the default instrumentation of a recorded program (unless the config says not to); the preload closes it before the last flush. */
export function enableDefaultInstrumentation(ring: RingBuffer, config: RecordConfig): Instrumentation | undefined {
  if (!config.instrument) return undefined;
  return instrument(ring);
}

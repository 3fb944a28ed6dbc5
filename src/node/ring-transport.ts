/**
 * `ringTransport()`: pino's transports, crash-proof. The log call writes the line into a file ring
 * (mapped shared memory) synchronously and returns; a drain process, not a thread of the
 * application, runs the transport targets and feeds them from the ring, so a line whose log call
 * returned reaches the targets even if the process exits, throws or is SIGKILLed right after.
 */
import { basename } from "node:path";
import { type RingDestination, ringDestination } from "../pino/destination.js";
import { DRAIN_RING_DEFAULTS, defaultRingPath, keepDrained, openOrCreateFileRing } from "./drain-service.js";
import type { FileRingOptions } from "./file-ring.js";
import { type PinoTransportOptions, resolvePinoDrainConfig } from "./pino-sink.js";
import { checkOptions, optionKeys } from "../options.js";

const RING_TRANSPORT_OPTION_KEYS = optionKeys<RingTransportOptions>({
  targets: true,
  pipeline: true,
  levels: true,
  dedupe: true,
  ring: true,
  ringOptions: true,
  resolveFrom: true,
  fullWaitMs: true,
  startDrain: true,
});

/** Options of {@link ringTransport}: pino.transport()'s `targets` or `pipeline`, `levels`, `dedupe`, and where the ring is. */
export interface RingTransportOptions extends PinoTransportOptions {
  /**
   * The ring file. Default: one in /dev/shm named after the user, the working directory and these
   * options, so the processes of one application (a cluster) share it and one drain process.
   */
  ring?: string;
  /** Geometry of the ring when this call creates it. Default: 4 per-thread lanes and 1 shared, 32 KiB pages, 8 MiB per lane, discard mode. */
  ringOptions?: FileRingOptions;
  /** Where target package names are resolved from (a file path). Default: the working directory. */
  resolveFrom?: string;
  /**
   * When the ring is full (the drain behind, or not started yet), block the log call up to this
   * many ms for room before dropping the line (counted, and reported by the drain as a warning
   * line). Default 5000. See RingDestinationOptions.fullWaitMs.
   */
  fullWaitMs?: number;
  /** Start a drain process if none serves the ring. Default true (false: run `urb drain` yourself). */
  startDrain?: boolean;
}

/**
 * A pino destination that writes every line into a file ring drained by a separate process into
 * the given pino transport targets (the same `targets`/`pipeline`/`levels` as `pino.transport()`,
 * the same modules). Call it once per thread; the returned destination counts lines it could not
 * write (`dropped`: the ring was full because the drain did not keep up).
 *
 * @example
 * ```ts
 * import { pino } from "pino";
 * import { ringTransport } from "unified-ring-buffer/pino";
 * const log = pino({}, ringTransport({ targets: [{ target: "pino/file", options: { destination: "app.log" } }] }));
 * log.info({ user: 42 }, "signed in"); // in app.log even if the process is SIGKILLed now
 * ```
 */
export function ringTransport(options: RingTransportOptions): RingDestination {
  checkOptions("Cannot create ring transport", options, RING_TRANSPORT_OPTION_KEYS);
  const { ring: path, ringOptions, resolveFrom, startDrain = true, fullWaitMs, ...transport } = options;
  const config = { pino: resolvePinoDrainConfig(transport, resolveFrom ?? `${process.cwd()}/`) };
  const ringPath = path ?? defaultRingPath(`pino-${basename(process.cwd())}`, config);
  const ring = openOrCreateFileRing(ringPath, { ...DRAIN_RING_DEFAULTS, ...ringOptions });
  const dest = ringDestination(ring, { fullWaitMs: fullWaitMs ?? 5000 }); // registers this thread's writer before the drain looks for writers
  if (startDrain) keepDrained(ringPath, config);
  return dest;
}

/**
 * pino integration (`unified-ring-buffer/pino`): {@link ringDestination} makes `pino(options, dest)`
 * write every log line into a ring; {@link readLog} reads them back with level, time and message.
 * pino is an optional peer dependency (this module does not import it). See docs/INTEGRATIONS.md.
 *
 * @example
 * ```ts
 * import { pino } from "pino";
 * import { ringDestination } from "unified-ring-buffer/pino";
 * const log = pino({ level: "debug" }, ringDestination(ring));
 * log.debug({ orderId: 7 }, "order placed");
 * ```
 * @module
 */
export { ringDestination, RingDestination } from "./destination.js";
export type { RingDestinationOptions } from "./destination.js";
export { readLog } from "./read.js";
export type { LogEntry, ReadLogOptions } from "./read.js";
export { PINO_LOG_EVENT, MAX_LINE_BYTES, pinoLogFields } from "./log-event.js";

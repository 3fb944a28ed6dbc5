/**
 * `unified-ring-buffer/pino` in Node.js: everything of src/pino (ringDestination, readLog) plus
 * {@link ringTransport}, which needs file rings and a drain process (package.json maps the entry
 * here under the "node" condition; other runtimes get src/pino alone).
 *
 * @example
 * ```ts
 * import { pino } from "pino";
 * import { ringTransport } from "unified-ring-buffer/pino";
 * const log = pino({}, ringTransport({ targets: [{ target: "pino/file", options: { destination: "app.log" } }] }));
 * ```
 * @module
 */
export * from "../pino/index.js";
export { ringTransport } from "./ring-transport.js";
export type { RingTransportOptions } from "./ring-transport.js";
export type { PinoTransportOptions, PinoTransportTarget } from "./pino-sink.js";

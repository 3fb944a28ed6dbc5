/**
 * `unified-ring-buffer/otel` in Node.js: everything of src/otel (RingSpanProcessor, exportSpans)
 * plus {@link ringSpanProcessor}, which needs file rings and a drain process (package.json maps
 * the entry here under the "node" condition; other runtimes get src/otel alone).
 *
 * @example
 * ```ts
 * import { ringSpanProcessor } from "unified-ring-buffer/otel";
 * const processor = ringSpanProcessor({ exporter: { module: "./file-exporter.js", name: "FileExporter" } });
 * ```
 * @module
 */
export * from "../otel/index.js";
export { ringSpanProcessor } from "./ring-span-processor.js";
export type { RingSpanExportOptions } from "./ring-span-processor.js";
export { retryingExporter } from "./span-sink.js";
export type { SpanDrainConfig } from "./span-sink.js";

/**
 * OpenTelemetry integration (`unified-ring-buffer/otel`): {@link RingSpanProcessor} writes ended
 * spans into a ring; {@link exportSpans} and {@link spanFromRecord} hand them back to any
 * SpanExporter. Needs `@opentelemetry/api` and `@opentelemetry/sdk-trace-base` 2.x (optional peer
 * dependencies, used for their types only: this module imports nothing from them at run time).
 * See docs/INTEGRATIONS.md.
 *
 * @example
 * ```ts
 * import { BasicTracerProvider } from "@opentelemetry/sdk-trace-base";
 * import { RingSpanProcessor, exportSpans } from "unified-ring-buffer/otel";
 * const provider = new BasicTracerProvider({ spanProcessors: [new RingSpanProcessor(ring)] });
 * // later, from any thread or process attached to the ring:
 * await exportSpans(ring, ring.consumer(), otlpExporter, { resource });
 * ```
 * @module
 */
export { RingSpanProcessor } from "./span-processor.js";
export type { RingSpanProcessorOptions } from "./span-processor.js";
export { exportSpans, spanFromRecord } from "./export.js";
export type { ExportSpansOptions, ExportSpansResult, SpanResource } from "./export.js";
export { OTEL_SPAN_EVENT, OTEL_SPAN_FIELDS, SPAN_KINDS, SPAN_STATUS_CODES, MAX_ATTRIBUTE_BYTES } from "./events.js";

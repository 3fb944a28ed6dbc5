/**
 * `ringSpanProcessor()`: OpenTelemetry spans that survive the process. Each ended span is written
 * into a file ring when `onEnd` runs (nothing queued in memory, unlike BatchSpanProcessor); a
 * drain process hands them to the configured SpanExporter in batches, with retries, so spans of
 * a process that is killed are exported all the same.
 */
import { basename } from "node:path";
import { checkOptions, optionKeys } from "../options.js";
import { RingSpanProcessor, type RingSpanProcessorOptions } from "../otel/span-processor.js";
import { DRAIN_RING_DEFAULTS, defaultRingPath, keepDrained, openOrCreateFileRing } from "./drain-service.js";
import type { FileRingOptions } from "./file-ring.js";
import type { SpanDrainConfig } from "./span-sink.js";

/** Options of {@link ringSpanProcessor}. */
export interface RingSpanExportOptions extends SpanDrainConfig, Omit<RingSpanProcessorOptions, "writer"> {
  /** The ring file. Default: one in /dev/shm named after the user, the working directory and the exporter config (a cluster shares it). */
  ring?: string;
  /** Geometry of the ring when this call creates it. Default: as ringTransport()'s. */
  ringOptions?: FileRingOptions;
  /** Start a drain process if none serves the ring. Default true. */
  startDrain?: boolean;
}

const RING_SPAN_EXPORT_OPTION_KEYS = optionKeys<RingSpanExportOptions>({
  exporter: true,
  resolveFrom: true,
  resource: true,
  maxBatch: true,
  retries: true,
  maxAttributes: true,
  maxAttributeBytes: true,
  ring: true,
  ringOptions: true,
  startDrain: true,
});

/**
 * A SpanProcessor writing ended spans into a file ring that a drain process exports with
 * `exporter` (built there: `new (await import(module))[name](options)`). One per thread.
 *
 * @example
 * ```ts
 * import { BasicTracerProvider } from "@opentelemetry/sdk-trace-base";
 * import { ringSpanProcessor } from "unified-ring-buffer/otel";
 * const processor = ringSpanProcessor({
 *   exporter: { module: "@opentelemetry/exporter-trace-otlp-http", name: "OTLPTraceExporter", options: { url: "http://collector:4318/v1/traces" } },
 *   resource: { "service.name": "api" },
 * });
 * const provider = new BasicTracerProvider({ spanProcessors: [processor] });
 * ```
 */
export function ringSpanProcessor(options: RingSpanExportOptions): RingSpanProcessor {
  checkOptions("Cannot create ring span processor", options, RING_SPAN_EXPORT_OPTION_KEYS);
  const { ring: path, ringOptions, startDrain = true, maxAttributes, maxAttributeBytes, ...drain } = options;
  const config = { otel: { ...drain, resolveFrom: drain.resolveFrom ?? `${process.cwd()}/` } };
  const ringPath = path ?? defaultRingPath(`otel-${basename(process.cwd())}`, config);
  const ring = openOrCreateFileRing(ringPath, { ...DRAIN_RING_DEFAULTS, ...ringOptions, clock: "mono" });
  const processor = new RingSpanProcessor(ring, {
    ...(maxAttributes !== undefined ? { maxAttributes } : {}),
    ...(maxAttributeBytes !== undefined ? { maxAttributeBytes } : {}),
  });
  if (startDrain) keepDrained(ringPath, config);
  return processor;
}

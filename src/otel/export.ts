/**
 * The reverse direction: span events read from a ring become ReadableSpan objects for any
 * OpenTelemetry SpanExporter (OTLP, Zipkin, the console, ...), so a ring can feed a collector.
 */
import type { HrTime, SpanContext } from "@opentelemetry/api";
import type { ReadableSpan, SpanExporter } from "@opentelemetry/sdk-trace-base";
import type { RingBuffer } from "../ring.js";
import type { RecordData, RingReader, RingRecord } from "../reader.js";
import { type EventRegistry, eventRegistry } from "../schema/index.js";
import { OTEL_SPAN_EVENT, SPAN_KINDS, SPAN_STATUS_CODES } from "./events.js";
import { decodeAttributes } from "./attributes.js";

/** The resource type the SDK's spans carry (from @opentelemetry/resources, e.g. `resourceFromAttributes()`). */
export type SpanResource = ReadableSpan["resource"];

/** What a SpanExporter calls back with (ExportResult of @opentelemetry/core). */
type ExportResult = Parameters<Parameters<SpanExporter["export"]>[1]>[0];
const EXPORT_SUCCESS = 0; // ExportResultCode.SUCCESS

const NS_PER_S = 1e9;

/** HrTime of `sec` + `nanos` + `ns`, normalized as the SDK does (nanos below 1e9). */
function addNs(sec: number, nanos: number, ns: number): HrTime {
  const total = nanos + ns;
  const carry = Math.floor(total / NS_PER_S);
  return [sec + carry, total - carry * NS_PER_S];
}

/**
 * The span of one `otel.span` record as a ReadableSpan, or undefined for a record of another type
 * or one that cannot be decoded. `resource` is the resource to report the span under (the ring does
 * not store it).
 *
 * @example
 * ```ts
 * const reg = eventRegistry(ring);
 * const spans = ring.iterator().drain().map((r) => spanFromRecord(reg, r, resource)).filter((s) => s !== undefined);
 * ```
 */
export function spanFromRecord(registry: EventRegistry, record: RingRecord | RecordData, resource: SpanResource): ReadableSpan | undefined {
  if (record.kind !== "data" || registry.schema(record.type)?.name !== OTEL_SPAN_EVENT) return undefined;
  const d = registry.decode(record);
  if (d.kind !== "event") return undefined;
  const f = d.fields as Record<string, number | string>;
  const traceFlags = f.traceFlags as number;
  const ctx: SpanContext = { traceId: f.traceId as string, spanId: f.spanId as string, traceFlags };
  const parentId = f.parentSpanId as string;
  const durationNs = f.durationNs as number;
  const startTime: HrTime = [f.epochSec as number, f.epochNanos as number];
  const code = SPAN_STATUS_CODES.indexOf(f.statusCode as (typeof SPAN_STATUS_CODES)[number]);
  const message = f.statusMessage as string;
  const version = f.scopeVersion as string;
  return {
    name: f.name as string,
    kind: SPAN_KINDS.indexOf(f.kind as (typeof SPAN_KINDS)[number]),
    spanContext: () => ctx,
    ...(parentId === "" ? {} : { parentSpanContext: { traceId: ctx.traceId, spanId: parentId, traceFlags } }),
    startTime,
    endTime: addNs(startTime[0], startTime[1], durationNs),
    duration: addNs(0, 0, durationNs),
    status: message === "" ? { code } : { code, message },
    attributes: decodeAttributes(f.attributes as string),
    links: [],
    events: [],
    ended: true,
    resource,
    instrumentationScope: version === "" ? { name: f.scope as string } : { name: f.scope as string, version },
    droppedAttributesCount: f.droppedAttributes as number,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
  };
}

/** Options of {@link exportSpans}. */
export interface ExportSpansOptions {
  /** The resource the spans are reported under. */
  resource: SpanResource;
  /** Spans per `exporter.export()` call. Default 512 (the SDK's batch size). */
  maxBatch?: number;
}

/** What {@link exportSpans} did. */
export interface ExportSpansResult {
  /** Spans the exporter accepted. */
  exported: number;
  /** Spans in batches the exporter reported as failed. */
  failed: number;
  /** Records of other types that were passed over. */
  skipped: number;
  /** Records reported lost by the reader (overwritten or dropped before they were read). */
  lost: number;
  /** The error of the last failed batch, if any. */
  error?: Error;
}

/**
 * Read the records available now from `reader` (a consumer takes them out of the ring; an iterator
 * leaves them) and hand their spans to `exporter` in batches, waiting for each batch's result.
 * Records of other types are passed over (counted as `skipped`).
 *
 * @example
 * ```ts
 * import { InMemorySpanExporter } from "@opentelemetry/sdk-trace-base";
 * import { resourceFromAttributes } from "@opentelemetry/resources";
 * const result = await exportSpans(ring, ring.consumer(), new InMemorySpanExporter(), { resource: resourceFromAttributes({ "service.name": "api" }) });
 * console.log(result.exported);
 * ```
 */
export async function exportSpans(ring: RingBuffer, reader: Pick<RingReader, "read">, exporter: SpanExporter, options: ExportSpansOptions): Promise<ExportSpansResult> {
  const maxBatch = options.maxBatch ?? 512;
  if (!(Number.isInteger(maxBatch) && maxBatch >= 1)) {
    throw new RangeError(`Cannot export spans: maxBatch must be an integer >= 1, received ${maxBatch}`);
  }
  const registry = eventRegistry(ring);
  const result: ExportSpansResult = { exported: 0, failed: 0, skipped: 0, lost: 0 };
  const batch: ReadableSpan[] = [];
  const visit = (r: RingRecord) => {
    if (r.kind === "lost") {
      result.lost += Number.isNaN(r.lost) ? 0 : r.lost;
      return;
    }
    const span = spanFromRecord(registry, r, options.resource);
    if (span === undefined) result.skipped++;
    else batch.push(span);
  };
  for (;;) {
    // Read until a batch is full or nothing is left (the records are converted as they are visited).
    while (batch.length < maxBatch && reader.read(visit, maxBatch - batch.length) > 0);
    if (batch.length === 0) return result;
    const sent = batch.splice(0, batch.length);
    const outcome = await new Promise<ExportResult>((resolve) => exporter.export(sent, resolve));
    if (outcome.code === EXPORT_SUCCESS) result.exported += sent.length;
    else {
      result.failed += sent.length;
      if (outcome.error !== undefined) result.error = outcome.error;
    }
  }
}

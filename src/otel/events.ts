/**
 * The typed event of an ended OpenTelemetry span (`otel.span`). Same interval convention as the
 * Node events (src/node/events.ts): `startNs` and `durationNs` first, in ring nanoseconds, so spans
 * sit on the same timeline as HTTP requests, GC pauses and log lines. The exact OpenTelemetry start
 * time (Unix epoch seconds + nanoseconds) is kept too, so the spans exported back out of the ring
 * carry the very times the SDK gave them.
 *
 * Ids are stored as the lowercase hex strings the API uses (copying 32 ASCII characters is cheaper
 * than parsing them to bytes). Attributes are stored as the JSON text of an object holding the
 * first `maxAttributes` attributes whose text fits in `maxAttributeBytes` (JSON keeps the value
 * types, so the reverse path restores them exactly); `droppedAttributes` counts the SDK's drops
 * plus ours. Span events and links are not kept.
 */
import { t, type FieldsSpec } from "../schema/index.js";

/** Name of the span event in the ring's metadata area. */
export const OTEL_SPAN_EVENT = "otel.span";

/** SpanKind names by value (INTERNAL = 0 .. CONSUMER = 4, as in @opentelemetry/api). */
export const SPAN_KINDS = ["internal", "server", "client", "producer", "consumer"] as const;
/** SpanStatusCode names by value (UNSET = 0, OK = 1, ERROR = 2). */
export const SPAN_STATUS_CODES = ["unset", "ok", "error"] as const;

/** Largest attributes text a span event can hold, in UTF-8 bytes. */
export const MAX_ATTRIBUTE_BYTES = 1024;

export const OTEL_SPAN_FIELDS = {
  startNs: t.f64,
  durationNs: t.f64,
  epochSec: t.u32,
  epochNanos: t.u32,
  kind: t.enum(SPAN_KINDS),
  statusCode: t.enum(SPAN_STATUS_CODES),
  traceFlags: t.u8,
  droppedAttributes: t.u16,
  traceId: t.string(32),
  spanId: t.string(16),
  parentSpanId: t.string(16),
  name: t.string(128),
  statusMessage: t.string(128),
  scope: t.string(64),
  scopeVersion: t.string(32),
  attributes: t.string(MAX_ATTRIBUTE_BYTES),
} as const satisfies FieldsSpec;

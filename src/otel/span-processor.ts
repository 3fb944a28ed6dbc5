/**
 * A SpanProcessor that writes every ended span into a ring as one `otel.span` event: a service
 * keeps its last N MB of spans in memory (overwrite mode) at the cost of one typed write per span,
 * with nothing queued, no timer and no export.
 *
 * Where a span goes on the ring timeline: the SDK's start times come from `Date.now()` (whole
 * milliseconds) and its durations from `performance.now()`, so the start time alone would place a
 * span only to the millisecond. In order of preference:
 *  1. The SDK's span (2.x) keeps the `performance.now()` of its start (`_performanceStartTime`, with
 *     `_startTimeProvided` false when the start was not given explicitly): converted to ring time
 *     with this thread's clock offset, it places the span exactly. Private fields: read defensively,
 *     and only ever as numbers/booleans.
 *  2. Otherwise a span ended just now (`span.end()` without a time) is placed by its end:
 *     `startNs = ring.now() - duration` (late by whatever ran between the SDK's end and onEnd).
 *  3. A span whose end is more than a second away from now (explicit times) is placed by the wall
 *     clock: `startNs = start - ring.epochWallMs`, accurate to about a millisecond.
 */
import type { Context } from "@opentelemetry/api";
import type { ReadableSpan, Span, SpanProcessor } from "@opentelemetry/sdk-trace-base";
import { CLOCK_MONO } from "../layout.js";
import type { RingBuffer } from "../ring.js";
import type { RingWriter } from "../writer.js";
import { defineEvent, type EventType } from "../schema/index.js";
import { MAX_ATTRIBUTE_BYTES, OTEL_SPAN_EVENT, OTEL_SPAN_FIELDS } from "./events.js";
import { type EncodedAttributes, encodeAttributes } from "./attributes.js";
import { checkOptions, optionKeys } from "../options.js";

/** Options of {@link RingSpanProcessor}. */
export interface RingSpanProcessorOptions {
  /** The writer to use (default: a new `ring.writer()` of this thread, closed by `shutdown()`). */
  writer?: RingWriter;
  /** Attributes kept per span, at most. Default 32. */
  maxAttributes?: number;
  /** UTF-8 bytes of attribute text kept per span, at most (up to 1024). Default 512. */
  maxAttributeBytes?: number;
}

/** The SDK span's private start reading (see the module comment); absent in other implementations. */
interface SdkSpanTiming {
  readonly _performanceStartTime?: unknown;
  readonly _startTimeProvided?: unknown;
}

/** How far (ms) a span's end may be from now and still be placed by the ring clock. */
const END_NOW_TOLERANCE_MS = 1000;
const NS_PER_S = 1e9;

/**
 * Writes ended spans into a ring (one event each; see docs/INTEGRATIONS.md). The ring must use the
 * `mono` clock. Never throws from `onEnd`: errors are counted in {@link RingSpanProcessor.errors}.
 *
 * @example
 * ```ts
 * import { BasicTracerProvider } from "@opentelemetry/sdk-trace-base";
 * import { RingSpanProcessor } from "unified-ring-buffer/otel";
 * const provider = new BasicTracerProvider({ spanProcessors: [new RingSpanProcessor(ring)] });
 * const span = provider.getTracer("app").startSpan("work");
 * span.end(); // now one otel.span event in the ring
 * ```
 */
export class RingSpanProcessor implements SpanProcessor {
  readonly #ring: RingBuffer;
  readonly #writer: RingWriter;
  readonly #owned: boolean;
  readonly #event: EventType<typeof OTEL_SPAN_FIELDS>;
  readonly #maxAttributes: number;
  readonly #maxAttributeBytes: number;
  readonly #attrs: EncodedAttributes = { text: "", dropped: 0 };
  #closed = false;
  /** Spans that could not be written because of an error (see {@link RingSpanProcessor.lastError}). */
  errors = 0;
  lastError: unknown = undefined;

  /** Throws RangeError for a ring without the mono clock or bad limits; SchemaError if the ring's pages are too small for the span event. */
  constructor(ring: RingBuffer, options: RingSpanProcessorOptions = {}) {
    checkOptions("Cannot create RingSpanProcessor", options, RING_SPAN_PROCESSOR_OPTIONS_KEYS);
    if (ring.geometry.clock !== CLOCK_MONO) {
      throw new RangeError(`Cannot create RingSpanProcessor: the ring's clock must be "mono" (spans carry start times and durations in ring nanoseconds), received clock code ${ring.geometry.clock}`);
    }
    const maxAttributes = options.maxAttributes ?? 32;
    const maxAttributeBytes = options.maxAttributeBytes ?? 512;
    if (!(Number.isInteger(maxAttributes) && maxAttributes >= 0)) {
      throw new RangeError(`Cannot create RingSpanProcessor: maxAttributes must be an integer >= 0, received ${maxAttributes}`);
    }
    if (!(Number.isInteger(maxAttributeBytes) && maxAttributeBytes >= 0 && maxAttributeBytes <= MAX_ATTRIBUTE_BYTES)) {
      throw new RangeError(`Cannot create RingSpanProcessor: maxAttributeBytes must be an integer from 0 to ${MAX_ATTRIBUTE_BYTES}, received ${maxAttributeBytes}`);
    }
    this.#ring = ring;
    this.#event = defineEvent(ring, OTEL_SPAN_EVENT, OTEL_SPAN_FIELDS);
    this.#maxAttributes = maxAttributes;
    this.#maxAttributeBytes = maxAttributeBytes;
    this.#owned = options.writer === undefined;
    this.#writer = options.writer ?? ring.writer();
  }

  /** The writer the spans go through. */
  get writer(): RingWriter {
    return this.#writer;
  }

  onStart(_span: Span, _parentContext: Context): void {}

  onEnd(span: ReadableSpan): void {
    if (this.#closed) return;
    try {
      const ctx = span.spanContext();
      const start = span.startTime;
      const d = span.duration;
      const durationNs = d[0] * NS_PER_S + d[1];
      const timing = span as unknown as SdkSpanTiming;
      const perfStart = timing._performanceStartTime;
      let startNs: number;
      if (typeof perfStart === "number" && timing._startTimeProvided === false) {
        startNs = this.#ring.clock.fromPerformanceNow(perfStart);
      } else {
        const ring = this.#ring;
        const now = ring.now();
        const end = span.endTime;
        startNs = now - durationNs;
        if (Math.abs(end[0] * 1e3 + end[1] / 1e6 - (ring.epochWallMs + now / 1e6)) > END_NOW_TOLERANCE_MS) {
          startNs = (start[0] * 1e3 - ring.epochWallMs) * 1e6 + start[1];
        }
      }
      const a = this.#attrs;
      encodeAttributes(span.attributes, this.#maxAttributes, this.#maxAttributeBytes, a);
      const dropped = span.droppedAttributesCount + a.dropped;
      const scope = span.instrumentationScope;
      const status = span.status;
      this.#event.writeArgs(
        this.#writer,
        startNs,
        durationNs,
        start[0],
        start[1],
        span.kind,
        status.code,
        ctx.traceFlags,
        dropped > 0xffff ? 0xffff : dropped,
        ctx.traceId,
        ctx.spanId,
        span.parentSpanContext?.spanId ?? "",
        span.name,
        status.message ?? "",
        scope.name,
        scope.version ?? "",
        a.text,
      );
    } catch (e) {
      this.errors++;
      this.lastError = e;
    }
  }

  /** Nothing is buffered: every span is in the ring when `onEnd` returns. */
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  /** Stop writing; closes the writer if it was created here. */
  shutdown(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      if (this.#owned) this.#writer.close();
    }
    return Promise.resolve();
  }
}

const RING_SPAN_PROCESSOR_OPTIONS_KEYS = optionKeys<RingSpanProcessorOptions>({ writer: true, maxAttributes: true, maxAttributeBytes: true });

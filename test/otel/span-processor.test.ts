import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes } from "@opentelemetry/api";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan, type SpanExporter } from "@opentelemetry/sdk-trace-base";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { bytesSource, createRing, defineEvent, eventRegistry, openTrace, snapshotRing, t, type RecordData, type RingBuffer } from "../../src/index.js";
import { OTEL_SPAN_EVENT, RingSpanProcessor, exportSpans, spanFromRecord } from "../../src/otel/index.js";
import { decodeAttributes, encodeAttributes } from "../../src/otel/attributes.js";

const resource = resourceFromAttributes({ "service.name": "urb-test" });

function setup(ring: RingBuffer, options = {}) {
  const processor = new RingSpanProcessor(ring, options);
  const truth = new InMemorySpanExporter(); // what the SDK itself hands to exporters
  const provider = new BasicTracerProvider({ resource, spanProcessors: [processor, new SimpleSpanProcessor(truth)] });
  return { processor, truth, provider, tracer: provider.getTracer("urb-tests", "1.2.3") };
}

function newRing(mode: "overwrite" | "discard" = "discard", pagesPerLane = 64): RingBuffer {
  return createRing({ lanes: 2, sharedLanes: 1, pageSize: 4096, pagesPerLane, mode });
}

/** The fields an exporter reads, for comparison. */
function essence(s: ReadableSpan) {
  return {
    name: s.name,
    kind: s.kind,
    context: { traceId: s.spanContext().traceId, spanId: s.spanContext().spanId, traceFlags: s.spanContext().traceFlags },
    parent: s.parentSpanContext?.spanId,
    startTime: s.startTime,
    endTime: s.endTime,
    duration: s.duration,
    status: s.status,
    attributes: s.attributes,
    scope: { name: s.instrumentationScope.name, version: s.instrumentationScope.version },
    droppedAttributesCount: s.droppedAttributesCount,
    resource: s.resource,
  };
}

test("spans written by the processor come back to an exporter with the SDK's ids, names, kinds, times, status and attributes", async () => {
  const ring = newRing();
  const { processor, truth, provider, tracer } = setup(ring);
  const root = tracer.startSpan("GET /items", { kind: SpanKind.SERVER, attributes: { "http.method": "GET", "http.status_code": 200, ok: true, tags: ["a", "b"], ratio: 0.25 } });
  const child = tracer.startSpan("db.query", { kind: SpanKind.CLIENT, attributes: { "db.statement": "SELECT 1", "é": "ünïcode ✓" } }, trace.setSpan(ROOT_CONTEXT, root));
  child.setStatus({ code: SpanStatusCode.ERROR, message: "timeout after 3 retries" });
  await new Promise((r) => setTimeout(r, 5));
  child.end();
  const internal = tracer.startSpan("compute", {}, trace.setSpan(ROOT_CONTEXT, root));
  internal.setStatus({ code: SpanStatusCode.OK });
  internal.end();
  root.end();
  for (const kind of [SpanKind.PRODUCER, SpanKind.CONSUMER]) tracer.startSpan(`k${kind}`, { kind }).end();
  await provider.forceFlush();
  assert.equal(processor.errors, 0, String(processor.lastError));

  const out = new InMemorySpanExporter();
  const result = await exportSpans(ring, ring.consumer(), out, { resource });
  assert.deepEqual(result, { exported: 5, failed: 0, skipped: 0, lost: 0 });
  const want = truth.getFinishedSpans().map(essence);
  const got = out.getFinishedSpans().map(essence);
  assert.deepEqual(got, want);
  assert.equal(got[0]?.parent, root.spanContext().spanId);
  await provider.shutdown();
});

test("a span ended now is placed on the ring timeline by the ring clock; one with an old explicit end by the wall clock", async () => {
  const ring = newRing();
  const { provider, tracer } = setup(ring);
  const t0 = ring.now();
  const live = tracer.startSpan("live");
  await new Promise((r) => setTimeout(r, 3));
  live.end();
  const t1 = ring.now();
  const startMs = Date.now() - 60_000;
  tracer.startSpan("imported", { startTime: startMs }).end(startMs + 1500);
  const reg = eventRegistry(ring);
  const [a, b] = ring.iterator().drain().map((r) => reg.decode(r));
  assert.ok(a?.kind === "event" && b?.kind === "event");
  const [start, dur] = [a.fields.startNs as number, a.fields.durationNs as number];
  assert.ok(start >= t0 - 1000 && start + dur <= t1, `live span [${start}, ${start + dur}] within [${t0}, ${t1}]`);
  assert.equal(b.fields.startNs, (startMs - ring.epochWallMs) * 1e6);
  assert.equal(b.fields.durationNs, 1500e6);
  // A span of another implementation (no SDK timing fields), ended moments ago: placed by its end,
  // which can only be late (by the time since it ended), never early.
  const foreign = spanFromRecord(reg, ring.iterator().drain()[0] as RecordData, resource);
  assert.ok(foreign);
  const processor = new RingSpanProcessor(ring);
  processor.onEnd(foreign);
  const again = reg.decode(ring.iterator().drain()[2] as RecordData);
  assert.ok(again.kind === "event");
  assert.ok((again.fields.startNs as number) >= start && (again.fields.startNs as number) <= ring.now() - dur);
  assert.equal(again.fields.durationNs, dur);
  await processor.shutdown();
  await provider.shutdown();
});

test("attributes are bounded: at most maxAttributes, at most maxAttributeBytes of text, the rest counted as dropped", async () => {
  const ring = newRing();
  const { processor, provider, tracer } = setup(ring, { maxAttributes: 5, maxAttributeBytes: 125 });
  const many: Attributes = {};
  for (let i = 0; i < 40; i++) many[`k${i}`] = i;
  tracer.startSpan("many", { attributes: many }).end();
  const long: Attributes = { a: "x".repeat(50), b: "y".repeat(50), c: "z".repeat(50), d: 1 };
  tracer.startSpan("long", { attributes: long }).end();
  assert.equal(processor.errors, 0);
  const out = new InMemorySpanExporter();
  await exportSpans(ring, ring.consumer(), out, { resource });
  const [s1, s2] = out.getFinishedSpans();
  assert.deepEqual(s1?.attributes, { k0: 0, k1: 1, k2: 2, k3: 3, k4: 4 });
  assert.equal(s1?.droppedAttributesCount, 35);
  assert.deepEqual(s2?.attributes, { a: "x".repeat(50), b: "y".repeat(50), d: 1 }, "c does not fit after a and b; d does");
  assert.equal(s2?.droppedAttributesCount, 1);
  await provider.shutdown();
});

const attrValue = fc.oneof(
  fc.string({ unit: "grapheme", maxLength: 30 }),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }).filter((x) => !Object.is(x, -0)),
  fc.boolean(),
  fc.array(fc.string({ maxLength: 5 }), { maxLength: 4 }),
);

test("encodeAttributes: the kept attributes are a prefix-ordered subset with equal values, within both limits (property)", () => {
  const enc = new TextEncoder();
  const out = { text: "", dropped: 0 };
  fc.assert(
    fc.property(fc.dictionary(fc.string({ minLength: 1, maxLength: 12 }), attrValue, { maxKeys: 20 }), fc.integer({ min: 0, max: 25 }), fc.integer({ min: 0, max: 1024 }), (attrs, maxCount, maxBytes) => {
      encodeAttributes(attrs, maxCount, maxBytes, out);
      const back = decodeAttributes(out.text);
      const keys = Object.keys(back);
      assert.ok(keys.length <= maxCount);
      assert.ok(enc.encode(out.text).length <= maxBytes, `${enc.encode(out.text).length} > ${maxBytes}`);
      assert.equal(keys.length + out.dropped, Object.keys(attrs).length);
      const order = Object.keys(attrs);
      let last = -1;
      for (const k of keys) {
        assert.deepEqual(back[k], attrs[k]);
        assert.ok(order.indexOf(k) > last, "kept in their original order");
        last = order.indexOf(k);
      }
    }),
    { numRuns: 300 },
  );
});

/** The specified result, attribute by attribute: the first maxCount defined attributes whose JSON fits in maxBytes. */
function greedyAttributes(attrs: Attributes, maxCount: number, maxBytes: number): { text: string; dropped: number } {
  const enc = new TextEncoder();
  const kept: string[] = [];
  let bytes = 2;
  let dropped = 0;
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined) continue;
    const piece = JSON.stringify(k) + ":" + JSON.stringify(v);
    const n = enc.encode(piece).length + (kept.length > 0 ? 1 : 0);
    if (kept.length >= maxCount || bytes + n > maxBytes) dropped++;
    else {
      kept.push(piece);
      bytes += n;
    }
  }
  return { text: kept.length > 0 ? `{${kept.join(",")}}` : "", dropped };
}

test("encodeAttributes gives exactly the attribute-by-attribute result, also for the shortest attributes at the count limit (property)", () => {
  const out = { text: "", dropped: 0 };
  // One-character (or empty) keys and one-digit values: the densest JSON, where the length bound that
  // lets the fast path skip counting is tight (c attributes take at least 5c + 1 characters).
  const tiny = fc.dictionary(fc.constantFrom("", "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o"), fc.oneof(fc.integer({ min: 0, max: 9 }), fc.constant(undefined)), { maxKeys: 16 });
  const general = fc.dictionary(fc.string({ maxLength: 12 }), fc.oneof(attrValue, fc.constant(undefined)), { maxKeys: 20 });
  fc.assert(
    fc.property(fc.oneof(tiny, general), fc.integer({ min: 0, max: 18 }), fc.integer({ min: 0, max: 1024 }), (attrs, maxCount, maxBytes) => {
      encodeAttributes(attrs as Attributes, maxCount, maxBytes, out);
      assert.deepEqual({ text: out.text, dropped: out.dropped }, greedyAttributes(attrs as Attributes, maxCount, maxBytes));
    }),
    { numRuns: 500 },
  );
});

test("exportSpans: other records are skipped, overwritten spans are counted as lost, a failing exporter is reported", async () => {
  const ring = newRing("overwrite", 4);
  const { provider, tracer } = setup(ring);
  const reader = ring.consumer(); // from now on, what it misses is reported to it as lost
  const w = ring.writer();
  defineEvent(ring, "other", { x: t.u8 }).write(w, { x: 1 });
  w.write(7, new Uint8Array([1, 2, 3]));
  const ended = 400; // more than 4 pages of spans: the oldest are overwritten
  for (let i = 0; i < ended; i++) tracer.startSpan(`s${i}`, { attributes: { i } }).end();
  const out = new InMemorySpanExporter();
  const result = await exportSpans(ring, reader, out, { resource, maxBatch: 64 });
  assert.ok(result.lost > 0, "the small overwrite ring lost its oldest records");
  assert.equal(result.skipped, 2, "the two other records (on their own lane, not overwritten)");
  assert.equal(result.exported + result.lost, ended, "every span written was exported or reported lost");
  const names = out.getFinishedSpans().map((s) => s.name);
  assert.deepEqual(names, names.map((_, i) => `s${ended - names.length + i}`), "the newest spans survive, in order");

  const failing: SpanExporter = { export: (_spans, done) => done({ code: 1, error: new Error("collector down") }), shutdown: () => Promise.resolve() };
  tracer.startSpan("late").end();
  const r2 = await exportSpans(ring, ring.iterator(), failing, { resource });
  assert.equal(r2.exported, 0);
  assert.ok(r2.failed >= 1);
  assert.equal(r2.error?.message, "collector down");
  await provider.shutdown();
});

test("spans come back from a snapshot file (.urb) too: spanFromRecord with the file's registry", async () => {
  const ring = newRing();
  const { truth, provider, tracer } = setup(ring);
  const parent = tracer.startSpan("parent", { attributes: { a: 1 } });
  tracer.startSpan("child", { kind: SpanKind.CLIENT }, trace.setSpan(ROOT_CONTEXT, parent)).end();
  parent.end();
  const file = openTrace(bytesSource(snapshotRing(ring)));
  const reg = file.registry;
  assert.ok(reg);
  const spans: ReadableSpan[] = [];
  file.read((r) => {
    const s = spanFromRecord(reg, r, resource); // the record object is reused: convert now
    if (s !== undefined) spans.push(s);
  });
  assert.deepEqual(spans.map(essence), truth.getFinishedSpans().map(essence));
  await provider.shutdown();
});

test("spanFromRecord ignores records of other types", () => {
  const ring = newRing();
  const w = ring.writer();
  defineEvent(ring, "other", { x: t.u8 }).write(w, { x: 1 });
  const reg = eventRegistry(ring);
  const [r] = ring.iterator().drain();
  assert.ok(r);
  assert.equal(spanFromRecord(reg, r, resource), undefined);
  assert.equal(reg.schemaByName(OTEL_SPAN_EVENT), undefined);
});

test("shutdown() stops writing and releases the writer; misuse is refused", async () => {
  const ring = newRing();
  const { processor, provider, tracer } = setup(ring);
  tracer.startSpan("before").end();
  await provider.shutdown();
  tracer.startSpan("after").end();
  assert.equal(ring.iterator().drain().length, 1);
  assert.equal(processor.errors, 0);
  assert.throws(() => new RingSpanProcessor(createRing({ clock: "none" })), {
    name: "RangeError",
    message: 'Cannot create RingSpanProcessor: the ring\'s clock must be "mono" (spans carry start times and durations in ring nanoseconds), received clock code 0',
  });
  assert.throws(() => new RingSpanProcessor(ring, { maxAttributeBytes: 2000 }), {
    name: "RangeError",
    message: "Cannot create RingSpanProcessor: maxAttributeBytes must be an integer from 0 to 1024, received 2000",
  });
  assert.throws(() => new RingSpanProcessor(ring, { maxAttributes: -1 }), {
    name: "RangeError",
    message: "Cannot create RingSpanProcessor: maxAttributes must be an integer >= 0, received -1",
  });
  await assert.rejects(exportSpans(ring, ring.iterator(), new InMemorySpanExporter(), { resource, maxBatch: 0 }), {
    name: "RangeError",
    message: "Cannot export spans: maxBatch must be an integer >= 1, received 0",
  });
});

/**
 * ringSpanProcessor() (unified-ring-buffer/otel in Node): a program ends n spans through the
 * OpenTelemetry SDK and then exits, throws or is SIGKILLed by its parent; every span (and one
 * ended in its exit handler) reaches the file exporter configured for the drain process. The SDK's
 * BatchSpanProcessor with the same exporter runs beside it (its losses reported, not asserted).
 * Also: a failing exporter is retried (retryingExporter with exportSpans, in process).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BasicTracerProvider } from "@opentelemetry/sdk-trace-base";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { createRing } from "../../src/index.js";
import { RingSpanProcessor } from "../../src/otel/index.js";
import { SpanSink, retryingExporter } from "../../src/node/span-sink.js";
import { ringPath, removeRingFiles } from "./children.js";
import { arrival, drainFinished, jsonLines, runApp } from "./drain-apps.js";
import type { Ending, SpanAppConfig } from "./fixtures/crash-protocol-log.js";
import { FileSpanExporter } from "./fixtures/file-span-exporter.js";

const N = Number(process.env.RING_SPANS_N ?? 3000);

for (const end of ["exit", "throw", "kill"] as const satisfies readonly Ending[]) {
  test(`ringSpanProcessor: ${N} spans then ${end === "kill" ? "SIGKILL by the parent" : end === "exit" ? "process.exit(1)" : "a throw"}: every span (and the exit handler's) is exported by the drain; BatchSpanProcessor beside it`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), "urb-ringspans-"));
    const ring = ringPath(`spans-${end}`);
    try {
      const out = join(dir, "ring-spans.jsonl");
      const run = await runApp("span-app", { processor: "ring", ring, out, n: N, end } satisfies SpanAppConfig);
      assert.ok(run.stderr.includes("LOGGED"), run.stderr);
      const drainLog = await drainFinished(ring);
      const spans = jsonLines(out);
      const a = arrival(spans, N);
      // onEnd never waits: spans that find the ring full are dropped and counted (the drain's summary).
      const lost = Number(/(\d+) lost/.exec(drainLog)?.[1] ?? Number.NaN);
      // The exit handler's span (ended after the marker) is one more on exit and throw; a ring still full drops it too.
      const ended = N + (end !== "kill" ? 1 : 0);
      assert.equal(a.arrived + (a.exitHandler ? 1 : 0) + lost, ended, `exported + lost = ended, exactly (drain: ${drainLog})`);
      // The default ring's 8 MiB lane holds a burst of 10,000 spans of this size (under 400 B each) while the drain starts.
      if (N <= 10_000) assert.equal(a.arrived, N, `every span exported (drain: ${drainLog})`);
      assert.ok(a.inOrder, "in order, once each");
      if (lost === 0) assert.ok(a.prefix, "none missing");
      if (lost === 0 || a.exitHandler) assert.equal(a.exitHandler, end !== "kill", "the span ended in the exit handler");
      assert.ok(spans.every((s) => s.service === "span-app" && typeof s.traceId === "string" && (s.traceId as string).length === 32), "resource and ids kept");

      const batchOut = join(dir, "batch-spans.jsonl");
      await runApp("span-app", { processor: "batch", out: batchOut, n: N, end } satisfies SpanAppConfig);
      const b = arrival(jsonLines(batchOut), N);
      const report = `${end}: ringSpanProcessor ${a.arrived}/${N} spans + exit handler ${a.exitHandler}; BatchSpanProcessor ${b.arrived}/${N} spans + exit handler ${b.exitHandler}`;
      t.diagnostic(report);
    } finally {
      removeRingFiles(ring);
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test("retryingExporter: a batch the exporter fails twice is retried and exported; one that always fails is counted as failed", async () => {
  const dir = mkdtempSync(join(tmpdir(), "urb-ringspans-"));
  try {
    for (const [failFirst, retries, exported] of [
      [2, 3, 10],
      [5, 2, 0],
    ] as const) {
      const ring = createRing({ pageSize: 4096, mode: "discard" });
      const processor = new RingSpanProcessor(ring);
      const tracer = new BasicTracerProvider({ spanProcessors: [processor] }).getTracer("t");
      for (let i = 0; i < 10; i++) tracer.startSpan(`s${i}`, { attributes: { i } }).end();
      const path = join(dir, `out-${failFirst}.jsonl`);
      const exporter = new FileSpanExporter({ path, failFirst });
      const sink = new SpanSink(ring, retryingExporter(exporter, retries), resourceFromAttributes({ "service.name": "t" }), 512);
      const reader = ring.consumer();
      assert.equal(await sink.take(reader), 10);
      assert.equal(sink.exported, exported);
      assert.equal(sink.failed, 10 - exported);
      assert.equal(exporter.calls, Math.min(failFirst, retries) + 1);
      assert.equal(jsonLines(path).length, exported);
      if (exported === 0) assert.match(String(sink.error), /collector is down/);
      reader.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/**
 * ringSpanProcessor() with the OpenTelemetry OTLP/HTTP exporter (`@opentelemetry/exporter-trace-otlp-http`,
 * the path to a collector) configured for the drain process, against a collector stand-in: an HTTP
 * server in this test that decodes the OTLP JSON it is sent. The program ends its spans and is
 * SIGKILLed by its parent; every span reaches the collector once, under the program's resource. The
 * collector answers its first request 503 (a collector that is restarting): the batch is retried.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { gunzipSync } from "node:zlib";
import { ringPath, removeRingFiles } from "./children.js";
import { drainFinished, runApp } from "./drain-apps.js";
import type { SpanAppConfig } from "./fixtures/crash-protocol-log.js";

/** The parts of an OTLP/JSON `ExportTraceServiceRequest` this test reads. */
interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
}
interface OtlpRequest {
  resourceSpans?: {
    resource?: { attributes?: { key: string; value: OtlpValue }[] };
    scopeSpans?: { spans?: { traceId?: string; spanId?: string; name?: string; attributes?: { key: string; value: OtlpValue }[] }[] }[];
  }[];
}

interface ReceivedSpan {
  name: string;
  i: number;
  traceId: string;
  service: string;
}

function body(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on("data", (b: Buffer) => parts.push(b));
    req.on("end", () => resolve(Buffer.concat(parts)));
    req.on("error", reject);
  });
}

/** A collector stand-in on a free port: decodes every OTLP/JSON request on /v1/traces; the first `refuse` requests get a 503. */
async function startCollector(refuse: number) {
  const spans: ReceivedSpan[] = [];
  const problems: string[] = [];
  let requests = 0;
  const server = createServer((req, res) => {
    void (async () => {
      const raw = await body(req);
      requests++;
      if (req.method !== "POST" || req.url !== "/v1/traces") problems.push(`${req.method} ${req.url}`);
      if (requests <= refuse) {
        res.writeHead(503, { "retry-after": "0" }).end();
        return;
      }
      const text = (req.headers["content-encoding"] === "gzip" ? gunzipSync(raw) : raw).toString("utf8");
      let msg: OtlpRequest;
      try {
        msg = JSON.parse(text) as OtlpRequest;
      } catch {
        problems.push(`not OTLP/JSON (${String(req.headers["content-type"])}): ${text.slice(0, 80)}`);
        res.writeHead(400).end();
        return;
      }
      for (const rs of msg.resourceSpans ?? []) {
        const service = rs.resource?.attributes?.find((a) => a.key === "service.name")?.value.stringValue ?? "";
        for (const ss of rs.scopeSpans ?? []) {
          for (const s of ss.spans ?? []) {
            const i = s.attributes?.find((a) => a.key === "i")?.value.intValue;
            spans.push({ name: s.name ?? "", i: Number(i), traceId: s.traceId ?? "", service });
          }
        }
      }
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1/traces`,
    spans,
    problems,
    get requests() {
      return requests;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const N = 2000;

test(`ringSpanProcessor with the OTLP/HTTP exporter: ${N} spans, SIGKILL by the parent, a collector that refuses the first request: every span reaches the collector once`, async () => {
  const collector = await startCollector(1);
  const ring = ringPath("spans-otlp");
  try {
    const run = await runApp("span-app", { processor: "ring", ring, out: "", otlpUrl: collector.url, n: N, end: "kill" } satisfies SpanAppConfig);
    assert.ok(run.stderr.includes("LOGGED"), run.stderr);
    assert.equal(run.exit, "SIGKILL");
    const drainLog = await drainFinished(ring);
    assert.deepEqual(collector.problems, []);
    assert.ok(collector.requests >= 2, `the refused batch was sent again (${collector.requests} requests)`);
    const seen = new Map<number, number>();
    for (const s of collector.spans) seen.set(s.i, (seen.get(s.i) ?? 0) + 1);
    const missing = [...Array(N).keys()].filter((i) => !seen.has(i));
    const twice = [...seen].filter(([, n]) => n > 1).map(([i]) => i);
    assert.deepEqual(missing.slice(0, 10), [], `${missing.length} spans never reached the collector (drain: ${drainLog})`);
    assert.deepEqual(twice.slice(0, 10), [], `${twice.length} spans arrived more than once`);
    assert.equal(collector.spans.length, N);
    for (const s of collector.spans) {
      assert.equal(s.name, `op-${s.i}`);
      assert.equal(s.service, "span-app");
      assert.match(s.traceId, /^[0-9a-f]{32}$/);
    }
  } finally {
    removeRingFiles(ring);
    await collector.close();
  }
});

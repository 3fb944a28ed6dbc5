import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openTraceFile } from "../../src/node/index.js";

const run = promisify(execFile);

test("the example service runs as a separate process and its ring holds every kind of event from every thread", async () => {
  const script = fileURLToPath(new URL("../../examples/service.js", import.meta.url));
  const { stdout } = await run(process.execPath, [script], {
    env: { ...process.env, SERVICE_REQUESTS: "60", SERVICE_CONCURRENCY: "4", SERVICE_WORKERS: "2" },
    timeout: 60_000,
  });
  assert.match(stdout, /^served 60 requests \(.*\) with 2 pool workers in \d+ ms$/m);
  const held = /the ring holds (\d+) events from (\d+) threads \((\d+) written, (\d+) overwritten, (\d+) reported lost\)/.exec(stdout);
  assert.ok(held, stdout);
  assert.equal(held[2], "3", "main thread and two pool workers");
  assert.deepEqual([held[1], held[4], held[5]], [held[3], "0", "0"], "everything written is held");
  const count = (name: string) => Number(new RegExp(`^ +(\\d+)  ${name.replace(".", "\\.")}$`, "m").exec(stdout)?.[1] ?? 0);
  // 60 requests: 30 by http.get, 30 by fetch; every 4th is a /proxy that fetches /hash again; one 404.
  assert.equal(count("node.http.client"), 30);
  assert.equal(count("node.http.server"), 60 + 15);
  assert.equal(count("node.fetch"), 30 + 15);
  assert.equal(count("node.worker.online"), 2);
  assert.equal(count("node.worker.exit"), 2);
  for (const name of ["otel.span", "pino.log", "node.net.connect", "node.net.accept", "node.event_loop"]) assert.ok(count(name) > 0, name);
  // The sample trace: spans of the proxy hop, the fetch client, the hash hop and the pool worker, all one trace.
  const timeline = stdout.slice(stdout.indexOf("timeline of GET /proxy/"));
  const trace = /trace ([0-9a-f]{8})/.exec(timeline)?.[1];
  assert.ok(trace, timeline);
  const spans = timeline.split("\n").filter((l) => l.includes("otel.span"));
  assert.deepEqual(
    spans.map((l) => / ms  span (.+?) \[(\w+)\]/.exec(l)?.slice(1, 3).join(" ")),
    ["GET /proxy/:n server", "fetch /hash client", "GET /hash/:n server", "hash internal"],
    "the proxy hop, the fetch around it, the hash hop and the pool worker's job, in time order",
  );
  for (const l of spans) assert.ok(l.includes(`trace ${trace}`), l);
  const lanes = spans.map((l) => /lane (\d+)/.exec(l)?.[1]);
  assert.equal(new Set(lanes.slice(0, 3)).size, 1, "the server's spans come from one thread");
  assert.notEqual(lanes[3], lanes[0], "the job's span comes from a pool worker");
});

test("under urb record, the example records into the recording's ring: the trace file holds every thread's events", async () => {
  const dir = mkdtempSync(join(tmpdir(), "urb-service-"));
  try {
    const cli = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));
    const script = fileURLToPath(new URL("../../examples/service.js", import.meta.url));
    const out = join(dir, "service.urb");
    const { stdout } = await run(process.execPath, [cli, "record", "-o", out, "--", process.execPath, script], {
      env: { ...process.env, SERVICE_REQUESTS: "40", SERVICE_CONCURRENCY: "4", SERVICE_WORKERS: "2" },
      timeout: 60_000,
    });
    assert.match(stdout, /^recorded by urb record: /m);
    const trace = openTraceFile(out);
    try {
      const reg = trace.registry;
      assert.ok(reg);
      const counts = new Map<string, number>();
      const lanes = new Set<number>();
      trace.read((r) => {
        if (r.kind !== "data") return;
        const name = reg.schema(r.type)?.name ?? "?";
        counts.set(name, (counts.get(name) ?? 0) + 1);
        lanes.add(r.lane);
      });
      assert.equal(counts.get("node.http.server"), 40 + 10, "40 requests, 10 of them proxied to /hash");
      assert.equal(counts.get("node.worker.exit"), 2);
      for (const name of ["otel.span", "pino.log", "node.fetch", "node.http.client"]) assert.ok((counts.get(name) ?? 0) > 0, name);
      assert.ok(lanes.size >= 3, "main thread and two pool workers (and urb record's own instrumentation writer)");
      assert.deepEqual(trace.warnings, []);
    } finally {
      trace.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

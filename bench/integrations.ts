/**
 * The integrations (issue 7) against the same work without them, in the same run.
 *
 * | metric                 | ours                                                                  | reference              |
 * | ---------------------- | --------------------------------------------------------------------- | ---------------------- |
 * | http_instrumented_rps  | keep-alive GETs/s served by a main-thread server, load from a worker (8 in flight), `instrument()` (everything) in both threads, after a warm-up | http_plain_rps |
 * | otel_span_ns           | `tracer.startSpan(name, { 3 attributes }).end()` with RingSpanProcessor | otel_batch_noop_ns: the same with the SDK's BatchSpanProcessor and a no-op exporter |
 * | otel_on_end_ns         | RingSpanProcessor.onEnd(span) alone, for an ended span                 | otel_batch_on_end_ns: BatchSpanProcessor.onEnd(span) |
 * | pino_ring_ns           | `log.info({ 3 fields }, msg)` into ringDestination(ring)              | pino_devnull_ns: pino.destination to /dev/null (sonic-boom, 4 KiB buffer) |
 *
 * The span loops yield to the event loop every 256 spans (both alike): the BatchSpanProcessor
 * exports from a promise chain, and in a loop that never yields its queue fills and every further
 * span is dropped, which would make the reference look cheaper than it is.
 */
import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { ROOT_CONTEXT } from '@opentelemetry/api';
import { BasicTracerProvider, BatchSpanProcessor, type ReadableSpan, type SpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { pino } from 'pino';
import { createRing } from '../src/index.js';
import { instrument } from '../src/node/index.js';
import { RingSpanProcessor } from '../src/otel/index.js';
import { ringDestination } from '../src/pino/index.js';
import { alternateMedians, measureNsPerOpInterleaved, metric, planFor, startWorker, type Scenario } from './harness.js';

const CONCURRENCY = 8;

export const httpScenario: Scenario = {
  name: 'http_instrumented',
  async run(opts) {
    const plan = planFor(opts);
    const ring = createRing({ lanes: 4, sharedLanes: 1, pageSize: 16384, pagesPerLane: 64, mode: 'overwrite' });
    const server = http.createServer({ keepAlive: true }, (_req, res) => res.end('{"id":42,"name":"item"}'));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as AddressInfo).port;
    const load = await startWorker(new URL('./http-load.js', import.meta.url), { buffer: ring.buffer, port, concurrency: CONCURRENCY });
    // HTTP round trips are noisier than loops: twice as many repetitions, each half as long. Every
    // run starts with an untimed quarter: turning instrument() on or off swaps Node's channel objects
    // between two prototypes (Channel <-> ActiveChannel), which throws away optimized code that tests
    // them; the warm-up lets it settle, so the timed part measures the steady state an application
    // instrumented at start sees. (Two separate pairs of threads, one instrumented for good, were
    // tried instead: pairs of identical, uninstrumented threads differed by up to 2x on this machine.)
    const durationMs = plan.durationMs / 2;
    const warmupMs = durationMs / 4;
    const session = (instrumented: boolean) => async (): Promise<number> => {
      const rec = instrumented ? instrument(ring) : undefined;
      try {
        const reply = once(load.worker, 'message');
        load.worker.postMessage({ warmupMs, durationMs, instrumented });
        const [res] = (await reply) as [{ requests: number; ms: number; error?: string }];
        if (res.error !== undefined) throw new Error(`http load worker: ${res.error}`);
        return (res.requests * 1000) / res.ms;
      } finally {
        rec?.close();
      }
    };
    try {
      const r = await alternateMedians({ plain: session(false), instrumented: session(true) }, plan.reps * 2 + 1);
      if (ring.stats().total.written === 0) throw new Error('the instrumented runs wrote no events');
      return [metric('http_instrumented_rps', r.instrumented, 'req/s', { name: 'http_plain_rps', value: r.plain })];
    } finally {
      load.worker.postMessage('stop');
      await load.stop();
      server.close();
    }
  },
};

const noopExporter: SpanExporter = {
  export: (_spans, done) => done({ code: 0 }),
  shutdown: () => Promise.resolve(),
};

const ATTRS = { 'http.method': 'GET', 'http.route': '/item/:id', 'http.status_code': 200 };
const CHUNK = 256;
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

/** ns per span of `body` run `n` times, yielding every CHUNK calls. */
async function chunkedNs(n: number, body: () => void): Promise<number> {
  const t0 = performance.now();
  for (let done = 0; done < n; done += CHUNK) {
    for (let k = 0; k < CHUNK; k++) body();
    await tick();
  }
  return ((performance.now() - t0) * 1e6) / n;
}

export const otelScenario: Scenario = {
  name: 'otel_span',
  async run(opts) {
    const plan = planFor(opts);
    const ring = createRing({ lanes: 2, sharedLanes: 0, pageSize: 16384, pagesPerLane: 64, mode: 'overwrite' });
    const ours = new RingSpanProcessor(ring);
    const batch = new BatchSpanProcessor(noopExporter);
    const providers = {
      ours: new BasicTracerProvider({ spanProcessors: [ours] }),
      batch: new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(noopExporter)] }),
    };
    const tracers = { ours: providers.ours.getTracer('bench'), batch: providers.batch.getTracer('bench') };
    const ops = Math.max(CHUNK * 40, plan.opsPerRun / 20); // a span is ~1-2 us: fewer per timed call
    const full = await alternateMedians(
      {
        ours: () => chunkedNs(ops, () => tracers.ours.startSpan('GET /item/:id', { attributes: ATTRS }, ROOT_CONTEXT).end()),
        batch: () => chunkedNs(ops, () => tracers.batch.startSpan('GET /item/:id', { attributes: ATTRS }, ROOT_CONTEXT).end()),
      },
      plan.nsReps,
    );
    // One ended span, handed to each processor's onEnd again and again.
    const probe = new BasicTracerProvider({ spanProcessors: [] }).getTracer('bench').startSpan('GET /item/:id', { attributes: ATTRS }, ROOT_CONTEXT);
    probe.end();
    const span = probe as unknown as ReadableSpan;
    const onEnd = (p: SpanProcessor) => () => p.onEnd(span);
    const alone = await alternateMedians(
      { ours: () => chunkedNs(ops * 4, onEnd(ours)), batch: () => chunkedNs(ops * 4, onEnd(batch)) },
      plan.nsReps,
    );
    if (ours.errors !== 0) throw new Error(`RingSpanProcessor: ${String(ours.lastError)}`);
    await Promise.all([providers.ours.shutdown(), providers.batch.shutdown(), batch.shutdown()]);
    return [
      metric('otel_span_ns', full.ours, 'ns/op', { name: 'otel_batch_noop_ns', value: full.batch }),
      metric('otel_on_end_ns', alone.ours, 'ns/op', { name: 'otel_batch_on_end_ns', value: alone.batch }),
    ];
  },
};

export const pinoScenario: Scenario = {
  name: 'pino_ring',
  async run(opts) {
    const plan = planFor(opts);
    const ring = createRing({ lanes: 1, sharedLanes: 0, pageSize: 16384, pagesPerLane: 64, mode: 'overwrite' });
    const toRing = pino({}, ringDestination(ring));
    const devnull = pino.destination({ dest: '/dev/null', minLength: 4096, sync: false });
    await once(devnull, 'ready');
    const toFile = pino({}, devnull);
    const loop = (log: typeof toRing) => (n: number) => {
      for (let k = 0; k < n; k++) log.info({ status: 200, durationMs: k * 0.5, bytes: k }, '/api/v1/items/42');
    };
    const ops = Math.max(20_000, plan.opsPerRun / 10); // pino is ~1-2 us a line
    const r = measureNsPerOpInterleaved({ ring: loop(toRing), file: loop(toFile) }, ops, plan.nsReps);
    devnull.flushSync();
    devnull.end();
    return [metric('pino_ring_ns', r.ring, 'ns/op', { name: 'pino_devnull_ns', value: r.file })];
  },
};

export const integrationScenarios: readonly Scenario[] = [httpScenario, otelScenario, pinoScenario];

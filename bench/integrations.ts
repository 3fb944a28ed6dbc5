/**
 * The integrations (issue 7) against the same work without them, in the same run.
 *
 * | metric                 | ours                                                                  | reference              |
 * | ---------------------- | --------------------------------------------------------------------- | ---------------------- |
 * | http_instrumented_rps  | keep-alive GETs/s: a server thread and a load thread (8 in flight), both with `instrument()` (everything) | http_plain_rps: a second such pair without |
 * | otel_span_ns           | `tracer.startSpan(name, { 3 attributes }).end()` with RingSpanProcessor | otel_batch_noop_ns: the same with the SDK's BatchSpanProcessor and a no-op exporter |
 * | otel_on_end_ns         | RingSpanProcessor.onEnd(span) alone, for an ended span                 | otel_batch_on_end_ns: BatchSpanProcessor.onEnd(span) |
 * | pino_ring_ns           | `log.info({ 3 fields }, msg)` into ringDestination(ring)              | pino_devnull_ns: pino.destination to /dev/null (sonic-boom, 4 KiB buffer) |
 *
 * The span loops yield to the event loop every 256 spans (both alike): the BatchSpanProcessor
 * exports from a promise chain, and in a loop that never yields its queue fills and every further
 * span is dropped, which would make the reference look cheaper than it is.
 */
import { once } from 'node:events';
import { ROOT_CONTEXT } from '@opentelemetry/api';
import { BasicTracerProvider, BatchSpanProcessor, type ReadableSpan, type SpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { pino } from 'pino';
import { createRing, type RingBuffer } from '../src/index.js';
import { RingSpanProcessor } from '../src/otel/index.js';
import { ringDestination } from '../src/pino/index.js';
import { alternateMedians, measureNsPerOpInterleaved, metric, planFor, startWorker, type BenchWorker, type Scenario } from './harness.js';

const CONCURRENCY = 8;

/** A server thread and its load-generator thread, both recording into `ring` or neither. */
async function openHttpPair(ring: RingBuffer, instrumented: boolean): Promise<{ run(durationMs: number): Promise<number>; close(): Promise<void> }> {
  const server = await startWorker(new URL('./http-server.js', import.meta.url), { buffer: ring.buffer, instrumented });
  let load: BenchWorker;
  try {
    const { port } = server.ready as { port: number };
    load = await startWorker(new URL('./http-load.js', import.meta.url), { buffer: ring.buffer, port, concurrency: CONCURRENCY, instrumented });
  } catch (e) {
    await server.stop();
    throw e;
  }
  return {
    async run(durationMs) {
      const reply = once(load.worker, 'message');
      load.worker.postMessage({ durationMs });
      const [res] = (await reply) as [{ requests: number; ms: number; error?: string }];
      if (res.error !== undefined) throw new Error(`http load worker: ${res.error}`);
      return (res.requests * 1000) / res.ms;
    },
    async close() {
      for (const w of [load, server]) w.worker.postMessage('stop');
      await Promise.all([load.stop(), server.stop()]);
    },
  };
}

export const httpScenario: Scenario = {
  name: 'http_instrumented',
  async run(opts) {
    const plan = planFor(opts);
    const ring = createRing({ lanes: 4, sharedLanes: 1, pageSize: 16384, pagesPerLane: 64, mode: 'overwrite' });
    // Two server/load pairs of threads, one recording everything (instrument() once at start, as an
    // application would), one not; the runs alternate between them. Turning the instrumentation on
    // and off per run instead swaps Node's channel objects between two prototypes at every switch
    // (Channel <-> ActiveChannel), throwing away optimized code that tests them: not the steady state.
    const plain = await openHttpPair(ring, false);
    let instrumented: Awaited<ReturnType<typeof openHttpPair>> | undefined;
    try {
      instrumented = await openHttpPair(ring, true);
      // HTTP round trips are noisier than loops: twice as many repetitions, each half as long.
      const durationMs = plan.durationMs / 2;
      const pairs = instrumented;
      const r = await alternateMedians({ plain: () => plain.run(durationMs), instrumented: () => pairs.run(durationMs) }, plan.reps * 2 + 1);
      if (ring.stats().total.written === 0) throw new Error('the instrumented threads wrote no events');
      return [metric('http_instrumented_rps', r.instrumented, 'req/s', { name: 'http_plain_rps', value: r.plain })];
    } finally {
      await Promise.all([plain.close(), instrumented?.close()]);
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

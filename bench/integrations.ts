/**
 * The integrations (issue 7) against the same work without them, in the same run.
 *
 * | metric                 | ours                                                                  | reference              |
 * | ---------------------- | --------------------------------------------------------------------- | ---------------------- |
 * | http_instrumented_rps  | keep-alive GETs/s served by a main-thread server, load from a worker (8 in flight), `instrument()` (everything) in both threads, after a warm-up; median pair ratio (see pairedFigures) | http_plain_rps |
 * | http_instrumented_server_cpu_ns | CPU ns per request of the server thread in those sessions (Linux)   | http_plain_server_cpu_ns |
 * | http_instrumented_client_cpu_ns | CPU ns per request of the load thread (its client requests are instrumented too) | http_plain_client_cpu_ns |
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
import { alternateMedians, measureNsPerOpInterleaved, median, metric, planFor, startWorker, type Scenario } from './harness.js';
import { threadCpuNs } from './thread-cpu.js';

const CONCURRENCY = 8;

/** What the load worker replies after a run (see http-load.ts). */
interface LoadReply {
  readonly requests: number;
  readonly ms: number;
  readonly cpuNs: number | null;
  readonly error?: string;
}

/** One session's figures: requests/s, and CPU ns per request of each thread (null where unreadable). */
interface HttpSession {
  readonly rps: number;
  readonly serverCpuNs: number | null;
  readonly clientCpuNs: number | null;
}

/**
 * The figure of the instrumented sessions and of the plain ones from adjacent pairs: the reference
 * is the plain median, the figure is that times the median over pairs of (instrumented / plain).
 * The printed ratio is thus the median pair ratio. On this shared machine the load moves the plain
 * figure 2x within a run; a pair's two sessions run back to back under about the same load, so
 * their ratio keeps what instrument() costs while a ratio of the two medians can take them from
 * different load regimes (0.62 against a median pair ratio of 0.87 in one run).
 */
export function pairedFigures(plain: readonly number[], instrumented: readonly number[]): { value: number; ref: number } {
  const ref = median(plain);
  return { value: ref * median(plain.map((p, i) => (instrumented[i] as number) / p)), ref };
}

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
    // HTTP round trips are noisier than loops: many short sessions in pairs (plain, instrumented;
    // the order alternates), each pair one sample of the ratio (see pairedFigures). Every session
    // starts with an untimed warm-up: turning instrument() on or off swaps Node's channel objects
    // between two prototypes (Channel <-> ActiveChannel), which throws away optimized code that tests
    // them; the warm-up lets it settle, so the timed part measures the steady state an application
    // instrumented at start sees. (Two separate pairs of threads, one instrumented for good, were
    // tried instead: pairs of identical, uninstrumented threads differed by up to 2x on this machine.)
    // Full: 15 pairs of 0.5 s + 0.2 s warm-up (~23 s with the untimed first pair); quick: 9 pairs of
    // 125 + 60 ms (~4 s).
    const durationMs = plan.durationMs / 2;
    const warmupMs = Math.max(60, durationMs * 0.4);
    const pairs = plan.reps * 3;
    const reply = async (): Promise<LoadReply | 'timed'> => {
      const [msg] = (await once(load.worker, 'message')) as [LoadReply | 'timed'];
      if (msg !== 'timed' && msg.error !== undefined) throw new Error(`http load worker: ${msg.error}`);
      return msg;
    };
    const session = async (instrumented: boolean): Promise<HttpSession> => {
      const rec = instrumented ? instrument(ring) : undefined;
      try {
        const started = reply();
        load.worker.postMessage({ warmupMs, durationMs, instrumented });
        if ((await started) !== 'timed') throw new Error('http load worker: expected the start of the timed part');
        const cpu0 = threadCpuNs();
        const res = await reply();
        const cpu1 = threadCpuNs();
        if (res === 'timed') throw new Error('http load worker: expected the result of the run');
        return {
          rps: (res.requests * 1000) / res.ms,
          serverCpuNs: cpu0 === null || cpu1 === null ? null : (cpu1 - cpu0) / res.requests,
          clientCpuNs: res.cpuNs === null ? null : res.cpuNs / res.requests,
        };
      } finally {
        rec?.close();
      }
    };
    try {
      await session(false); // untimed: the first sessions compile and warm everything once
      await session(true);
      const plain: HttpSession[] = [];
      const instr: HttpSession[] = [];
      for (let k = 0; k < pairs; k++) {
        if (k % 2 === 0) {
          plain.push(await session(false));
          instr.push(await session(true));
        } else {
          instr.push(await session(true));
          plain.push(await session(false));
        }
      }
      if (ring.stats().total.written === 0) throw new Error('the instrumented runs wrote no events');
      const rps = pairedFigures(plain.map((s) => s.rps), instr.map((s) => s.rps));
      const out = [metric('http_instrumented_rps', rps.value, 'req/s', { name: 'http_plain_rps', value: rps.ref })];
      // CPU per request of each thread: what instrument() costs it, however the machine schedules it.
      const cpu = (pick: (s: HttpSession) => number | null, name: string, refName: string): void => {
        const p = plain.map(pick);
        const i = instr.map(pick);
        if (p.includes(null) || i.includes(null)) return; // not Linux: no per-thread CPU time
        const f = pairedFigures(p as number[], i as number[]);
        out.push(metric(name, f.value, 'ns/req', { name: refName, value: f.ref }));
      };
      cpu((s) => s.serverCpuNs, 'http_instrumented_server_cpu_ns', 'http_plain_server_cpu_ns');
      cpu((s) => s.clientCpuNs, 'http_instrumented_client_cpu_ns', 'http_plain_client_cpu_ns');
      return out;
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

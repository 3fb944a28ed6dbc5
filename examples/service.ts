/**
 * Example service: an HTTP server with a worker-thread pool, fetch, pino and OpenTelemetry, every
 * thread recording into ONE ring, so that requests, connections, spans, log lines, GC pauses and
 * event-loop delay of all threads land on one timeline.
 *
 *   npm run build && node dist/examples/service.js
 *
 * It serves a bounded load to itself (SERVICE_REQUESTS requests, default 200, SERVICE_CONCURRENCY at
 * a time, default 8, through SERVICE_WORKERS pool threads, default 2), then prints what the ring
 * holds: the count of each event type and the timeline around one request.
 *
 * Routes: GET /hash/:n hands a job to the pool (a worker span, child of the request's span);
 * GET /proxy/:n fetches /hash/:n from this same server (a client span around fetch, its context
 * sent in a W3C `traceparent` header, so both hops and the pool's span form one trace).
 *
 * Under `urb record` (`node dist/src/cli/main.js record -o service.urb -- node dist/examples/service.js`)
 * it records into the recording's ring (`recordingRing()`), whose pages stream to the file, and
 * prints where to look instead of the summary; otherwise it creates a ring of its own.
 * {@link startService} takes any ring.
 */
import http from 'node:http';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import type { AddressInfo } from 'node:net';
import { pino, type Logger } from 'pino';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type Span, type SpanContext, type Tracer } from '@opentelemetry/api';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { createRing, type RingBuffer } from '../src/index.js';
import { recordingRing } from '../src/record/index.js';
import { instrument, type Instrumentation } from '../src/node/index.js';
import { RingSpanProcessor } from '../src/otel/index.js';
import { ringDestination } from '../src/pino/index.js';
import { formatEntry, timeline } from './ring-summary.js';
import type { Job } from './service-worker.js';

/** A running service. */
export interface Service {
  readonly url: string;
  /** Stop serving, stop the pool (its exits are recorded), stop recording in this thread. */
  close(): Promise<void>;
}

/** A pool of worker threads, each taking one job at a time from a shared queue. */
class Pool {
  readonly #idle: Worker[] = [];
  readonly #queue: { job: Job; done: (digest: string) => void }[] = [];
  readonly workers: Worker[] = [];

  constructor(ring: RingBuffer, size: number) {
    for (let i = 0; i < size; i++) {
      const w = new Worker(new URL('./service-worker.js', import.meta.url), { workerData: { buffer: ring.buffer, index: i } });
      w.on('error', (e) => {
        console.error('pool worker failed:', e);
        process.exitCode = 1;
      });
      this.workers.push(w);
    }
  }

  async ready(): Promise<void> {
    await Promise.all(this.workers.map((w) => once(w, 'message')));
    for (const w of this.workers) {
      w.on('message', (m: { id: number; digest: string }) => this.#finished(w, m));
      this.#idle.push(w);
    }
  }

  run(job: Job): Promise<string> {
    return new Promise((done) => {
      this.#queue.push({ job, done });
      this.#next();
    });
  }

  readonly #pending = new Map<number, (digest: string) => void>();

  #next(): void {
    while (this.#idle.length > 0 && this.#queue.length > 0) {
      const w = this.#idle.pop() as Worker;
      const { job, done } = this.#queue.shift() as { job: Job; done: (digest: string) => void };
      this.#pending.set(job.id, done);
      w.postMessage(job);
    }
  }

  #finished(w: Worker, m: { id: number; digest: string }): void {
    this.#pending.get(m.id)?.(m.digest);
    this.#pending.delete(m.id);
    this.#idle.push(w);
    this.#next();
  }

  async close(): Promise<void> {
    for (const w of this.workers) w.postMessage('stop');
    await Promise.all(this.workers.map((w) => once(w, 'exit')));
  }
}

/** The W3C `traceparent` header of a span context (what an OpenTelemetry propagator would send). */
function traceparent(ctx: SpanContext): string {
  return `00-${ctx.traceId}-${ctx.spanId}-${ctx.traceFlags.toString(16).padStart(2, '0')}`;
}

/** The context of a request's `traceparent` header, so the server span continues the caller's trace. */
function remoteParent(req: http.IncomingMessage): Context {
  const m = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/.exec(String(req.headers.traceparent ?? ''));
  if (m === null) return ROOT_CONTEXT;
  return trace.setSpanContext(ROOT_CONTEXT, { traceId: m[1] as string, spanId: m[2] as string, traceFlags: parseInt(m[3] as string, 16), isRemote: true });
}

function handler(tracer: Tracer, log: Logger, pool: Pool, base: () => string) {
  let jobs = 0;
  return (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const url = req.url ?? '/';
    const span = tracer.startSpan(`GET ${url.replace(/\d+$/, ':n')}`, { kind: SpanKind.SERVER, attributes: { 'http.method': req.method ?? '', 'http.target': url } }, remoteParent(req));
    const reply = (status: number, body: unknown) => {
      log.debug({ url, status }, 'request done');
      span.setAttribute('http.status_code', status);
      if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
      res.statusCode = status;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(body));
    };
    const hash = /^\/hash\/(\d+)$/.exec(url);
    const proxy = /^\/proxy\/(\d+)$/.exec(url);
    if (hash) {
      const n = Number(hash[1]);
      void pool.run({ id: jobs++, rounds: 50 + (n % 7) * 40, parent: span.spanContext() }).then((digest) => reply(200, { n, digest }));
    } else if (proxy) {
      const client: Span = tracer.startSpan('fetch /hash', { kind: SpanKind.CLIENT }, trace.setSpan(ROOT_CONTEXT, span));
      fetch(`${base()}/hash/${proxy[1]}`, { headers: { traceparent: traceparent(client.spanContext()) } })
        .then((r) => r.json())
        .then(
          (body) => {
            client.end();
            reply(200, { via: 'proxy', ...(body as object) });
          },
          (err: unknown) => {
            client.setStatus({ code: SpanStatusCode.ERROR, message: String(err) });
            client.end();
            log.error({ err }, 'proxy failed');
            reply(502, { error: 'upstream' });
          },
        );
    } else {
      log.warn({ url }, 'no such route');
      reply(404, { error: 'not found' });
    }
  };
}

/**
 * Start the service on 127.0.0.1 (a free port) with a pool of `workers` threads, recording
 * everything into `ring` (which must use the mono clock and have a lane per thread).
 */
export async function startService(ring: RingBuffer, workers = 2): Promise<Service> {
  const w = ring.writer(); // this thread's lane, shared by its integrations (all write synchronously)
  const rec: Instrumentation = instrument(ring, { writer: w });
  const provider = new BasicTracerProvider({ spanProcessors: [new RingSpanProcessor(ring, { writer: w })] });
  const tracer = provider.getTracer('service', '1.0.0');
  const log = pino({ level: 'debug', base: { thread: 'main' } }, ringDestination(ring, { writer: w }));
  const pool = new Pool(ring, workers);
  await pool.ready();
  let url = '';
  const server = http.createServer({ keepAlive: true }, handler(tracer, log, pool, () => url));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  log.info({ url, workers }, 'service listening');
  return {
    url,
    async close() {
      server.closeAllConnections();
      server.close();
      await pool.close();
      log.info('service stopped');
      await provider.shutdown();
      rec.close();
      w.close();
    },
  };
}

/** Send `total` requests, `concurrency` at a time: mostly /hash, some /proxy, a few 404s. */
async function load(url: string, total: number, concurrency: number): Promise<Map<number, number>> {
  const statuses = new Map<number, number>();
  let next = 0;
  const agent = new http.Agent({ keepAlive: true });
  const get = (path: string) =>
    new Promise<number>((resolve, reject) => {
      http.get(`${url}${path}`, { agent }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      }).on('error', reject);
    });
  const one = async () => {
    while (next < total) {
      const i = next++;
      const path = i % 50 === 49 ? `/nowhere/${i}` : i % 4 === 3 ? `/proxy/${i}` : `/hash/${i}`;
      const status = i % 2 === 0 ? await get(path) : (await fetch(`${url}${path}`).then(async (r) => (await r.arrayBuffer(), r.status)));
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, one));
  agent.destroy();
  return statuses;
}

function envInt(name: string, dflt: number): number {
  const v = process.env[name];
  const n = v === undefined ? dflt : Number(v);
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`${name} must be a positive integer, received ${String(v)}`);
  return n;
}

async function main(): Promise<void> {
  const requests = envInt('SERVICE_REQUESTS', 200);
  const concurrency = envInt('SERVICE_CONCURRENCY', 8);
  const workers = envInt('SERVICE_WORKERS', 2);
  // Recorded by `urb record`: its ring. Else one lane per thread (main + pool) and a shared lane
  // for overflow, 16 x 64 KiB pages per lane.
  const recording = recordingRing();
  const ring = recording ?? createRing({ lanes: workers + 1, sharedLanes: 1, pageSize: 65536, pagesPerLane: 16, mode: 'overwrite' });
  const started = performance.now();
  const service = await startService(ring, workers);
  const statuses = await load(service.url, requests, concurrency);
  await service.close();
  const ms = performance.now() - started;

  console.log(`served ${requests} requests (${[...statuses].map(([s, n]) => `${n} x ${s}`).join(', ')}) with ${workers} pool workers in ${ms.toFixed(0)} ms`);
  if (recording !== undefined) {
    // urb drains the recording's ring to its file from outside this process: the file has the events.
    console.log('recorded by urb record: see its trace file with urb stats, urb dump or urb view');
    return;
  }
  const { entries, counts, lost } = timeline(ring);
  const stats = ring.stats().total;
  console.log(`\nthe ring holds ${entries.length} events from ${new Set(entries.map((e) => e.event.lane)).size} threads (${stats.written} written, ${stats.overrun} overwritten, ${lost} reported lost):`);
  for (const [name, n] of [...counts].sort((a, b) => b[1] - a[1])) console.log(`  ${String(n).padStart(6)}  ${name}`);

  // The timeline of one proxied request: its spans (same trace id, in every thread), the Node
  // events of its two hops (/proxy/n and /hash/n), and what else the threads did meanwhile (GC,
  // event-loop delay, log lines).
  const proxied = entries.find((e) => e.event.name === 'node.http.server' && String(e.event.fields.url).startsWith('/proxy/'));
  if (proxied !== undefined) {
    const url = String(proxied.event.fields.url);
    const n = url.slice('/proxy/'.length);
    const from = proxied.at;
    const to = proxied.at + proxied.durationNs;
    const root = entries.find((e) => e.event.name === 'otel.span' && String(e.event.fields.attributes).includes(`"http.target":"${url}"`));
    const trace = root?.event.fields.traceId;
    const related = (e: (typeof entries)[number]): boolean => {
      const f = e.event.fields;
      switch (e.event.name) {
        case 'otel.span':
          return f.traceId === trace;
        case 'node.http.server':
          return f.url === url || f.url === `/hash/${n}`;
        case 'node.fetch':
          return f.path === `/hash/${n}`;
        case 'pino.log':
          return e.text.includes(`"url":"${url}"`) || e.text.includes(`"url":"/hash/${n}"`);
        case 'node.gc':
        case 'node.event_loop':
          return e.at + e.durationNs >= from && e.at <= to;
        default:
          return false;
      }
    };
    console.log(`\ntimeline of GET ${url}, trace ${String(trace).slice(0, 8)} (times from the request's start):`);
    for (const e of entries.filter(related)) console.log(formatEntry(e, from));
  }
}

if (import.meta.url === new URL(process.argv[1] ?? '', 'file:').href) await main();

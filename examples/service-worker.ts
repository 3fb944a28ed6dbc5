/**
 * Worker of examples/service.ts: one thread of the compute pool. It attaches to the ring and records
 * into it like the main thread does (its own lane): its GC pauses and event-loop delay
 * (`instrument`), a span per job (OpenTelemetry, child of the request's span), and pino lines.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createHash } from 'node:crypto';
import { pino } from 'pino';
import { ROOT_CONTEXT, SpanKind, trace, type SpanContext } from '@opentelemetry/api';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { attachRing } from '../src/index.js';
import { instrument } from '../src/node/index.js';
import { RingSpanProcessor } from '../src/otel/index.js';
import { ringDestination } from '../src/pino/index.js';

/** A job: hash `rounds` times, as a child span of `parent`. */
export interface Job {
  readonly id: number;
  readonly rounds: number;
  readonly parent: SpanContext;
}

const { buffer, index } = workerData as { buffer: SharedArrayBuffer; index: number };
const ring = attachRing(buffer);
const w = ring.writer(); // one lane for everything this thread records
const rec = instrument(ring, { gc: true, eventLoop: { intervalMs: 100 }, writer: w });
const provider = new BasicTracerProvider({ spanProcessors: [new RingSpanProcessor(ring, { writer: w })] });
const tracer = provider.getTracer('service-worker', '1.0.0');
const log = pino({ base: { worker: index } }, ringDestination(ring, { writer: w }));
const port = parentPort;
if (port === null) throw new Error('examples/service-worker.js must run in a worker thread');

port.on('message', (job: Job | 'stop') => {
  if (job === 'stop') {
    log.info('worker stopping');
    rec.close();
    port.close();
    return;
  }
  const span = tracer.startSpan('hash', { kind: SpanKind.INTERNAL, attributes: { 'job.id': job.id, 'job.rounds': job.rounds } }, trace.setSpanContext(ROOT_CONTEXT, job.parent));
  let digest = String(job.id);
  for (let i = 0; i < job.rounds; i++) digest = createHash('sha256').update(digest).digest('hex');
  span.end();
  if (job.id % 25 === 0) log.debug({ job: job.id }, 'job done');
  port.postMessage({ id: job.id, digest: digest.slice(0, 16) });
});
log.info({ lane: w.lane }, 'worker ready');
port.postMessage('ready');

/**
 * A synthetic moment of an HTTP service, written on behalf of several producers (two processes, a
 * main thread writing on two lanes, two pool workers on the shared lane) with the real schemas of
 * the integrations: for the exporters' and the view's tests.
 */
import { defineEvent, t } from '../../src/index.js';
import { GC_FIELDS, HTTP_SERVER_FIELDS, NODE_EVENTS, WORKER_EXIT_FIELDS } from '../../src/node/index.js';
import { OTEL_SPAN_EVENT, OTEL_SPAN_FIELDS } from '../../src/otel/events.js';
import { PINO_LOG_EVENT, pinoLogFields } from '../../src/pino/log-event.js';
import { ProducerRing, type Producer } from './producer-fixtures.js';

const MAIN_RECORDER: Producer = { pid: 4100, threadId: 0, threadName: 'main', lane: 0 };
const MAIN_PROGRAM: Producer = { pid: 4100, threadId: 0, threadName: 'main', lane: 1 };
const POOL_1: Producer = { pid: 4100, threadId: 1, threadName: 'pool-1', lane: 'shared' };
const POOL_2: Producer = { pid: 4100, threadId: 2, threadName: 'pool-2', lane: 'shared' };
const CLUSTER: Producer = { pid: 4200, threadId: 0, threadName: 'main', lane: 2 };

/**
 * An HTTP service's moment: two requests that overlap without nesting, a GC pause that starts
 * inside the first and ends inside the second (written late, as Node delivers them), a span, a log
 * line, a worker's lifetime, a synchronous tick; two pool workers whose jobs interleave on the
 * shared lane; a cluster worker process that names itself.
 */
export function serviceMoment() {
  const p = new ProducerRing(3);
  const ring = p.ring;
  const http = defineEvent(ring, NODE_EVENTS.httpServer, HTTP_SERVER_FIELDS);
  const gc = defineEvent(ring, NODE_EVENTS.gc, GC_FIELDS);
  const exit = defineEvent(ring, NODE_EVENTS.workerExit, WORKER_EXIT_FIELDS);
  const span = defineEvent(ring, OTEL_SPAN_EVENT, OTEL_SPAN_FIELDS);
  const log = defineEvent(ring, PINO_LOG_EVENT, pinoLogFields(ring));
  const jobStart = defineEvent(ring, 'job_start', { worker: t.u8, job: t.u32 });
  const jobEnd = defineEvent(ring, 'job_end', { worker: t.u8, job: t.u32 });
  const tickStart = defineEvent(ring, 'tick_start', { n: t.u32 });
  const tickEnd = defineEvent(ring, 'tick_end', { n: t.u32 });
  const heap = defineEvent(ring, 'heap', { usedBytes: t.f64 });
  const processName = defineEvent(ring, 'process_name', { name: t.string(64) });
  const spin = (ns = 3000) => {
    const from = ring.now();
    while (ring.now() - from < ns);
  };
  const now = () => {
    spin();
    return ring.now();
  };
  const spanFields = { epochSec: 0, epochNanos: 0, kind: 'server', statusCode: 'ok', traceFlags: 1, droppedAttributes: 0, traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), parentSpanId: '', statusMessage: '', scope: 'test', scopeVersion: '1', attributes: '{}' } as const;

  const workerStart = now();
  processName.write(p.as(CLUSTER), { name: 'cluster worker 1' });
  const a0 = now();
  const b0 = now();
  tickStart.write(p.as(MAIN_PROGRAM), { n: 1 });
  const gc0 = now();
  tickEnd.write(p.as(MAIN_PROGRAM), { n: 1 });
  const a1 = now();
  http.write(p.as(MAIN_RECORDER), { startNs: a0, durationNs: a1 - a0, status: 200, method: 'GET', url: '/items/1' });
  spin();
  jobStart.write(p.as(POOL_1), { worker: 1, job: 10 });
  spin();
  jobStart.write(p.as(POOL_2), { worker: 2, job: 20 });
  spin();
  jobEnd.write(p.as(POOL_1), { worker: 1, job: 10 });
  spin();
  jobEnd.write(p.as(POOL_2), { worker: 2, job: 20 });
  const gc1 = now();
  const b1 = now();
  http.write(p.as(MAIN_RECORDER), { startNs: b0, durationNs: b1 - b0, status: 404, method: 'POST', url: '/items/2' });
  spin();
  gc.write(p.as(MAIN_RECORDER), { startNs: gc0, durationNs: gc1 - gc0, kind: 'minor', flags: 0 });
  spin();
  span.write(p.as(MAIN_PROGRAM), { startNs: a0 + 100, durationNs: a1 - a0 - 200, name: 'GET /items/:id', ...spanFields });
  spin();
  log.write(p.as(MAIN_PROGRAM), { level: 30, line: '{"level":30,"time":1,"msg":"request done","reqId":1}' });
  spin();
  heap.write(p.as(MAIN_PROGRAM), { usedBytes: 123456 });
  const c0 = now();
  jobStart.write(p.as(CLUSTER), { worker: 9, job: 1 });
  spin();
  jobEnd.write(p.as(CLUSTER), { worker: 9, job: 1 });
  const c1 = now();
  http.write(p.as(CLUSTER), { startNs: c0, durationNs: c1 - c0, status: 200, method: 'GET', url: '/health' });
  const w1 = now();
  exit.write(p.as(MAIN_RECORDER), { startNs: workerStart, durationNs: w1 - workerStart, threadId: 1, exitCode: 0 });
  return { p, starts: { a0, b0, gc0, c0, workerStart, span: a0 + 100 } };
}


/**
 * Worker: the load generator of the http_instrumented_rps scenario. For each run message it keeps
 * `concurrency` keep-alive GET requests in flight against the main thread's server: first for
 * `warmupMs` (not counted), then for `durationMs`. It posts `'timed'` when the timed part starts (the
 * server thread starts its own CPU count there) and then replies with the number of requests
 * completed in the timed part, its length in ms and the CPU time this thread used in it (ns, from
 * Linux's /proc/thread-self/schedstat; null elsewhere). With `instrumented`, it instruments its own
 * thread (every subsystem) for the run, before the warm-up.
 */
import http from 'node:http';
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import { attachRing } from '../src/index.js';
import { instrument } from '../src/node/index.js';
import { threadCpuNs } from './thread-cpu.js';

interface Run {
  readonly warmupMs: number;
  readonly durationMs: number;
  readonly instrumented: boolean;
}

const data = workerData as { buffer: SharedArrayBuffer; port: number; concurrency: number };
const ring = attachRing(data.buffer);
const agent = new http.Agent({ keepAlive: true, maxSockets: data.concurrency });
if (parentPort === null) throw new Error('bench/http-load.js must run in a worker thread');
const port: MessagePort = parentPort;

function request(): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port: data.port, path: '/item/42', agent }, (res) => {
      res.resume();
      res.on('end', resolve);
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

/** Requests completed in `ms` with `concurrency` in flight. */
async function load(ms: number): Promise<number> {
  let requests = 0;
  const deadline = performance.now() + ms;
  const loop = async () => {
    while (performance.now() < deadline) {
      await request();
      requests++;
    }
  };
  await Promise.all(Array.from({ length: data.concurrency }, loop));
  return requests;
}

async function run(r: Run): Promise<{ requests: number; ms: number; cpuNs: number | null }> {
  const rec = r.instrumented ? instrument(ring) : undefined;
  try {
    await load(r.warmupMs);
    port.postMessage('timed');
    const cpu0 = threadCpuNs();
    const t0 = performance.now();
    const requests = await load(r.durationMs);
    const ms = performance.now() - t0;
    const cpu1 = threadCpuNs();
    return { requests, ms, cpuNs: cpu0 === null || cpu1 === null ? null : cpu1 - cpu0 };
  } finally {
    rec?.close();
  }
}

port.on('message', (r: Run | 'stop') => {
  if (r === 'stop') {
    agent.destroy();
    port.close();
    return;
  }
  run(r).then(
    (res) => port.postMessage(res),
    (err: unknown) => port.postMessage({ error: err instanceof Error ? err.message : String(err) }),
  );
});
port.postMessage({ type: 'ready' });

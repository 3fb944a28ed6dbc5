/**
 * Worker: a load generator of the http_instrumented_rps scenario. For each run message it keeps
 * `concurrency` keep-alive GET requests in flight against its server until `durationMs` have
 * passed, then replies with the number of completed requests and the elapsed ms. With
 * `instrumented`, it records its own thread into the ring (every subsystem, turned on once at start).
 */
import http from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';
import { attachRing } from '../src/index.js';
import { instrument } from '../src/node/index.js';

const data = workerData as { buffer: SharedArrayBuffer; port: number; concurrency: number; instrumented: boolean };
const port = parentPort;
if (port === null) throw new Error('bench/http-load.js must run in a worker thread');
const rec = data.instrumented ? instrument(attachRing(data.buffer)) : undefined;
const agent = new http.Agent({ keepAlive: true, maxSockets: data.concurrency });

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

async function run(durationMs: number): Promise<{ requests: number; ms: number }> {
  let requests = 0;
  const t0 = performance.now();
  const deadline = t0 + durationMs;
  const loop = async () => {
    while (performance.now() < deadline) {
      await request();
      requests++;
    }
  };
  await Promise.all(Array.from({ length: data.concurrency }, loop));
  return { requests, ms: performance.now() - t0 };
}

port.on('message', (m: { durationMs: number } | 'stop') => {
  if (m === 'stop') {
    agent.destroy();
    rec?.close();
    port.close();
    return;
  }
  run(m.durationMs).then(
    (res) => port.postMessage(res),
    (err: unknown) => port.postMessage({ error: err instanceof Error ? err.message : String(err) }),
  );
});
port.postMessage({ type: 'ready' });

/**
 * Worker: the server of the http_instrumented_rps scenario. It serves keep-alive GETs on
 * 127.0.0.1 and, with `instrumented`, records its thread into the ring (every subsystem of
 * `instrument()`, turned on once at start, as an application would). Replies `{ type: 'ready', port }`.
 */
import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';
import { attachRing } from '../src/index.js';
import { instrument } from '../src/node/index.js';

const data = workerData as { buffer: SharedArrayBuffer; instrumented: boolean };
const port = parentPort;
if (port === null) throw new Error('bench/http-server.js must run in a worker thread');
const rec = data.instrumented ? instrument(attachRing(data.buffer)) : undefined;
const server = http.createServer({ keepAlive: true }, (_req, res) => res.end('{"id":42,"name":"item"}'));
server.listen(0, '127.0.0.1');
await once(server, 'listening');
port.on('message', (m: 'stop') => {
  if (m !== 'stop') return;
  server.closeAllConnections();
  server.close();
  rec?.close();
  port.close();
});
port.postMessage({ type: 'ready', port: (server.address() as AddressInfo).port });

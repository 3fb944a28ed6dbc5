/**
 * The application of the record_tree_overhead_rps scenario: a cluster primary that forks 2 worker
 * processes, each serving `GET /item/:id` on one shared port (the cluster's round robin). Prints
 * `listening <port>` on stdout once both workers listen; exits on SIGTERM.
 */
import cluster from 'node:cluster';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

const WORKERS = 2;

if (cluster.isPrimary) {
  const port = Number(process.env['TREE_PORT'] ?? 0);
  let listening = 0;
  for (let i = 0; i < WORKERS; i++) {
    cluster.fork({ TREE_PORT: String(port) }).on('listening', (address: AddressInfo) => {
      if (++listening === WORKERS) process.stdout.write(`listening ${address.port}\n`);
    });
  }
  process.on('SIGTERM', () => {
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
    process.exit(0);
  });
} else {
  http
    .createServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ id: req.url?.slice(6) ?? '', ok: true }));
    })
    .listen(Number(process.env['TREE_PORT']), '127.0.0.1');
  process.on('SIGTERM', () => process.exit(0));
}

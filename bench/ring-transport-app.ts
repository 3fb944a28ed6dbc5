/**
 * One session of the ring_transport scenario (bench/ring-transport.ts), in its own process: a
 * pino logger with ringTransport() or pino.transport() to the same pino/file target logs a warm-up
 * (and waits until it is in the file: the drain process or the transport's worker is running),
 * then `n` lines of 3 fields as fast as it can. It prints one JSON line: the app thread's lines/s
 * over the burst, and the end-to-end lines/s, from the first log call of the burst to the moment
 * the burst's last line is in the file. With `noop` (a destination that does nothing) only the app
 * thread's figure means something: pino's own cost of a line, the most any destination can reach.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { pino } from 'pino';
import { ringTransport } from '../src/node/pino.js';

interface Config {
  /** `noop`: pino into a destination that does nothing (the app-thread ceiling of any destination; no file). */
  transport: 'ring' | 'pino' | 'noop';
  n: number;
  log: string;
  ring: string;
}

const cfg = JSON.parse(process.argv[2] ?? '{}') as Config;
const WARMUP = 20_000;
const targets = [{ target: 'pino/file', options: { destination: cfg.log } }];
const dest =
  cfg.transport === 'ring'
    ? ringTransport({ targets, ring: cfg.ring, ringOptions: { lanes: 1, sharedLanes: 1, pageSize: 32768, pagesPerLane: 2048 } })
    : cfg.transport === 'pino'
      ? pino.transport({ targets })
      : { write: (_line: string): void => undefined };
const log = pino({}, dest);

/** Whether the file's last line has `"bytes":last` (lines arrive in order: then all before it have arrived). */
function arrived(last: number): boolean {
  let fd: number;
  try {
    fd = openSync(cfg.log, 'r');
  } catch {
    return false;
  }
  try {
    const size = fstatSync(fd).size;
    const tail = Buffer.alloc(Math.min(size, 256));
    readSync(fd, tail, 0, tail.length, size - tail.length);
    return tail.toString('utf8').includes(`"bytes":${last},`);
  } finally {
    closeSync(fd);
  }
}

async function until(last: number): Promise<void> {
  if (cfg.transport === 'noop') return; // nothing reaches a file
  const deadline = performance.now() + 120_000;
  while (!arrived(last)) {
    if (performance.now() > deadline) throw new Error(`line ${last} did not arrive in ${cfg.log} within 120 s`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

for (let k = 0; k < WARMUP; k++) log.info({ status: 200, durationMs: k * 0.5, bytes: k }, '/api/v1/items/42');
await until(WARMUP - 1);
const t0 = performance.now();
for (let k = WARMUP; k < WARMUP + cfg.n; k++) log.info({ status: 200, durationMs: k * 0.5, bytes: k }, '/api/v1/items/42');
const t1 = performance.now();
await until(WARMUP + cfg.n - 1);
const t2 = performance.now();
const dropped = 'dropped' in dest ? (dest as { dropped: number }).dropped : 0;
process.stdout.write(`${JSON.stringify({ appLinesPs: (cfg.n * 1000) / (t1 - t0), e2eLinesPs: (cfg.n * 1000) / (t2 - t0), dropped })}\n`);
process.exit(0);

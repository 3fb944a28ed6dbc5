/**
 * Demo: worker threads write into one ring (each on its own lane, plus one shared lane that all
 * of them also use), the main thread reads everything merged by time, with exact loss accounting.
 *
 *   npm run demo
 */
import { Worker } from 'node:worker_threads';
import { createRing, type RingRecord } from '../src/index.js';

const WORKERS = 3;
const RECORDS_PER_WORKER = 200_000;
const TYPE_TEXT = 1;
const TYPE_SAMPLE = 2;

const ring = createRing({ lanes: WORKERS, sharedLanes: 1, pageSize: 16384, pagesPerLane: 32, mode: 'discard' });
const reader = ring.consumer();
const decoder = new TextDecoder();
const perType = new Map<number, number>();
let lost = 0;
let lastTime = -Infinity;
let outOfOrder = 0;
const shown: string[] = [];

function onRecord(r: RingRecord): void {
  if (r.kind === 'lost') {
    lost += r.lost;
    return;
  }
  perType.set(r.type, (perType.get(r.type) ?? 0) + 1);
  if (r.timestamp < lastTime) outOfOrder++;
  lastTime = r.timestamp;
  if (r.type === TYPE_TEXT && shown.length < 6) {
    shown.push(`${(r.timestamp / 1e6).toFixed(3).padStart(9)} ms  lane ${r.lane}  ${decoder.decode(r.bytes.subarray(r.offset, r.offset + r.length))}`);
  }
}

const started = performance.now();
const workers = Array.from({ length: WORKERS }, (_, id) =>
  new Worker(new URL('./demo-worker.js', import.meta.url), { workerData: { buffer: ring.buffer, id, records: RECORDS_PER_WORKER } }),
);
let running = WORKERS;
for (const w of workers) {
  w.on('error', (e) => {
    console.error('worker failed:', e);
    process.exitCode = 1;
  });
  w.on('exit', () => {
    running--;
  });
}

// Read while the workers write. When there is nothing to read, sleep until a commit wakes us (the
// event loop stays free, so 'exit' events arrive; the timeout only bounds how late we notice them).
while (running > 0) {
  reader.read(onRecord);
  await reader.waitAsync({ timeoutMs: 10 });
}
reader.read(onRecord);
const elapsed = performance.now() - started;

const stats = ring.stats();
const read = [...perType.values()].reduce((a, b) => a + b, 0);
console.log(`${WORKERS} worker threads wrote ${stats.total.written.toLocaleString()} records into ${stats.lanes.length} lanes in ${elapsed.toFixed(0)} ms`);
console.log('first records, merged by time:');
for (const line of shown) console.log('  ' + line);
console.log(`read ${read.toLocaleString()} records (${(perType.get(TYPE_TEXT) ?? 0).toLocaleString()} text, ${(perType.get(TYPE_SAMPLE) ?? 0).toLocaleString()} numeric samples), lost ${lost}; ${outOfOrder} arrived after a later-stamped record of another lane (a live merge only orders what is already committed)`);
for (const l of stats.lanes) {
  console.log(`  lane ${l.lane} (${l.kind}): written ${l.written}, read ${l.read}, dropped ${l.dropped}, overrun ${l.overrun}`);
}
const ok = stats.total.written === read && lost === stats.total.dropped + stats.total.overrun;
console.log(ok ? 'accounting: every record written was read or reported lost' : 'ACCOUNTING MISMATCH');
if (!ok) process.exitCode = 1;

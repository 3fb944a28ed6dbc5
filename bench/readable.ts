/**
 * Records streamed into a file through our byte-mode Node `Readable` (issue 3), against
 * thread-stream (pino's way of moving bytes to a worker that writes a file).
 *
 * | metric               | ours                                                                 | reference         |
 * | -------------------- | -------------------------------------------------------------------- | ----------------- |
 * | readable_to_file_rps | writer thread -> ring -> `traceReadable()` piped to `fs.createWriteStream` | thread_stream_rps |
 *
 * Ours: bench/ring-writer.js writes 16-byte records into a discard-mode ring (waiting for room while full);
 * the main thread pipes `traceReadable(ring)` into a file; records/s counted from the ring's read
 * counter over `durationMs`. Reference: the main thread writes the same 16 bytes per record (as
 * 16-character strings, thread-stream's unit) into a `ThreadStream` whose worker writes a file,
 * honouring its backpressure (`write()` false -> wait for `drain`); records/s over the same time.
 */
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import ThreadStream from 'thread-stream';
import { createRing } from '../src/index.js';
import { traceReadable } from '../src/node/index.js';
import { alternateMedians, metric, planFor, startWorker, type Scenario } from './harness.js';
import { CTRL_BYTES, beginRun, isRunFinished, requestStop } from './peers/layout.js';

async function ours(dir: string, durationMs: number): Promise<number> {
  const ring = createRing({ lanes: 1, sharedLanes: 0, pageSize: 4096, pagesPerLane: 64, mode: 'discard', clock: 'none', metadataBytes: 0 });
  const ctrl = new Int32Array(new SharedArrayBuffer(CTRL_BYTES));
  const writer = await startWorker(new URL('./ring-writer.js', import.meta.url), { ctrlSab: ctrl.buffer, ringSab: ring.buffer, lane: 0, spinWhenFull: true });
  const path = join(dir, 'ours.urb');
  const ac = new AbortController();
  try {
    const piping = pipeline(traceReadable(ring, { signal: ac.signal }), createWriteStream(path));
    beginRun(ctrl, 1);
    await new Promise((r) => setTimeout(r, 30));
    const r0 = ring.stats().total.read;
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, durationMs));
    const rate = (ring.stats().total.read - r0) / ((performance.now() - t0) / 1e3);
    requestStop(ctrl);
    while (!isRunFinished(ctrl, 1)) await new Promise((r) => setTimeout(r, 1));
    ac.abort();
    await piping;
    return rate;
  } finally {
    await writer.stop();
    rmSync(path, { force: true });
  }
}

async function threadStream(dir: string, durationMs: number): Promise<number> {
  const dest = join(dir, 'ts.bin');
  const stream = new ThreadStream({ filename: fileURLToPath(new URL('./peers/thread-stream-dest.js', import.meta.url)), workerData: { dest }, sync: false });
  await once(stream, 'ready');
  const line = '0123456789abcdef';
  let n = 0;
  let counted = 0;
  const t0 = performance.now();
  const end = t0 + durationMs;
  while (performance.now() < end) {
    for (let i = 0; i < 1024; i++) {
      n++;
      if (!stream.write(line)) {
        await once(stream, 'drain');
        break;
      }
    }
    counted = n;
  }
  const rate = counted / ((performance.now() - t0) / 1e3);
  stream.end();
  await once(stream, 'close');
  rmSync(dest, { force: true });
  return rate;
}

export const readableScenario: Scenario = {
  name: 'readable_to_file',
  async run(opts) {
    const plan = planFor(opts);
    const dir = mkdtempSync(join(tmpdir(), 'urb-bench-'));
    try {
      const r = await alternateMedians({ ours: () => ours(dir, plan.durationMs), ts: () => threadStream(dir, plan.durationMs) }, plan.reps);
      return [metric('readable_to_file_rps', r.ours, 'records/s', { name: 'thread_stream_rps', value: r.ts })];
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};

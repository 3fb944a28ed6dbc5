/**
 * Worker: a thread-stream writer for the curves (bench/curves.ts). Owns one `ThreadStream` (pino's
 * way to move bytes to a worker) whose destination, thread-stream-count-dest.ts, counts what
 * arrives. thread-stream has one writer per stream, so N writer threads are N of these, each with
 * its own stream and destination thread (2N threads in all).
 *
 * Each record is a string of `recordBytes` ASCII characters (thread-stream's unit, as pino writes
 * lines). The loop honours backpressure (`write()` false -> wait for `drain`) and yields to the event
 * loop every 1024 records so thread-stream can flush. At the end of a run it flushes, so everything
 * it wrote has reached the destination, then posts `{ type: 'wrote', runId, count }`.
 *
 * workerData: `{ ctrlSab, countSab: SharedArrayBuffer (BigInt64Array), slot: number, recordBytes: number }`.
 */
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';
import ThreadStream from 'thread-stream';
import { CTRL_RUN_EXIT, CTRL_STOP_INDEX, finishRun, intField, sabField, waitForRunAsync } from './layout.js';

const YIELD_MASK = 1023;

async function writeUntilStopped(ctrl: Int32Array, stream: ThreadStream, line: string): Promise<number> {
  let count = 0;
  for (;;) {
    count++;
    if (!stream.write(line)) await once(stream, 'drain');
    else if ((count & YIELD_MASK) === 0) await new Promise((resolve) => setImmediate(resolve));
    // See whether the main thread asked us to stop; pairs with layout.ts#requestStop().
    if ((count & YIELD_MASK) === 0 && Atomics.load(ctrl, CTRL_STOP_INDEX) !== 0) return count;
  }
}

async function main(): Promise<void> {
  if (parentPort === null) throw new Error('thread-stream-writer.js must run in a worker thread');
  const port = parentPort;
  const ctrl = new Int32Array(sabField(workerData, 'ctrlSab'));
  const countSab = sabField(workerData, 'countSab');
  const recordBytes = intField(workerData, 'recordBytes');
  const slot = (workerData as { slot: number }).slot;
  const stream = new ThreadStream({
    filename: fileURLToPath(new URL('./thread-stream-count-dest.js', import.meta.url)),
    workerData: { countSab, slot },
    sync: false,
  });
  await once(stream, 'ready');
  const line = 'x'.repeat(recordBytes);
  port.postMessage({ type: 'ready' });
  let runId = 0;
  for (;;) {
    runId = await waitForRunAsync(ctrl, runId);
    if (runId === CTRL_RUN_EXIT) break;
    const count = await writeUntilStopped(ctrl, stream, line);
    await new Promise<void>((resolve, reject) => stream.flush((err?: Error | null) => (err ? reject(err) : resolve())));
    port.postMessage({ type: 'wrote', runId, count });
    finishRun(ctrl, runId);
  }
  stream.end();
  await once(stream, 'close');
}

await main();

/**
 * Worker: a writer of our ring for the cross-thread scenarios in ring.ts.
 *
 * workerData: `{ ctrlSab, ringSab, lane: number | "shared", spinWhenFull: boolean, recordBytes?: number }`.
 * Writes 16-byte records, or `recordBytes` ones (a multiple of 4, > 16; bench/curves/), with the
 * loop of ring-write-loop.ts. At the end of a run it posts the number of records it wrote in that run.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { attachRing } from '../src/index.js';
import { RECORD_BYTES, sabField, serveRuns } from './peers/layout.js';
import { writeUntilStopped } from './ring-write-loop.js';

function main(): void {
  if (parentPort === null) throw new Error('ring-writer.js must run in a worker thread');
  const ctrl = new Int32Array(sabField(workerData, 'ctrlSab'));
  const ring = attachRing(sabField(workerData, 'ringSab'));
  const data = workerData as { lane: number | 'shared'; spinWhenFull: boolean; recordBytes?: number };
  const recordBytes = data.recordBytes ?? RECORD_BYTES;
  if (!Number.isInteger(recordBytes) || recordBytes < RECORD_BYTES || recordBytes % 4 !== 0) {
    throw new TypeError(`Invalid workerData: recordBytes must be a multiple of 4 from ${RECORD_BYTES}, received ${String(recordBytes)}`);
  }
  const w = ring.writer({ lane: data.lane });
  const port = parentPort;
  port.postMessage({ type: 'ready' });
  const filler = recordBytes === RECORD_BYTES ? null : new Uint8Array(recordBytes - RECORD_BYTES);
  let seq = 0;
  serveRuns(ctrl, (runId) => {
    const before = seq;
    seq = writeUntilStopped(ctrl, w, seq, data.spinWhenFull, filler);
    port.postMessage({ type: 'wrote', runId, count: (seq - before) >>> 0 });
  });
}

main();

/**
 * Worker: a writer of our ring for the cross-thread scenarios in ring.ts.
 *
 * workerData: `{ ctrlSab, ringSab, lane: number | "shared", spinWhenFull: boolean, recordBytes?: number }`.
 * Writes 16-byte records `[RECORD_BYTES, seq, seq + 1, -seq]` (the words the peers move) through
 * the public API: reserve (tryReserve when spinning on a full ring), four Int32 stores, commit.
 * With `recordBytes` (a multiple of 4, > 16; bench/curves/), the first word is `recordBytes` and
 * the rest of the record is a copy of a zero-filled template (`bytes.set`), as a writer copying a
 * payload would do. At the end of a run it posts the number of records it wrote in that run.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { attachRing, type RingWriter } from '../src/index.js';
import { CTRL_STOP_INDEX, RECORD_BYTES, sabField, serveRuns } from './peers/layout.js';

const STOP_CHECK_MASK = 1023;

function writeUntilStopped(ctrl: Int32Array, w: RingWriter, startSeq: number, spin: boolean): number {
  const i32 = w.i32;
  const recordBytes = RECORD_BYTES;
  const stopIndex = CTRL_STOP_INDEX;
  let seq = startSeq;
  for (;;) {
    let at = spin ? w.tryReserve(1, recordBytes) : w.reserve(1, recordBytes);
    while (at < 0) {
      // Full (discard mode): wait for the reader, unless it asked us to stop; pairs with requestStop().
      if (Atomics.load(ctrl, stopIndex) !== 0) return seq;
      at = w.tryReserve(1, recordBytes);
    }
    const i = at >> 2;
    i32[i] = recordBytes;
    i32[i + 1] = seq;
    i32[i + 2] = (seq + 1) | 0;
    i32[i + 3] = -seq | 0;
    w.commit(at);
    seq = (seq + 1) | 0;
    // Every 1024 records, see whether the reader asked us to stop; pairs with layout.ts#requestStop().
    if ((seq & STOP_CHECK_MASK) === 0 && Atomics.load(ctrl, stopIndex) !== 0) return seq;
  }
}

/** {@link writeUntilStopped} for records of `recordBytes` (> 16): header words, then a filler copy. */
function writeSizedUntilStopped(ctrl: Int32Array, w: RingWriter, startSeq: number, spin: boolean, recordBytes: number): number {
  const i32 = w.i32;
  const bytes = w.bytes;
  const filler = new Uint8Array(recordBytes - RECORD_BYTES);
  const stopIndex = CTRL_STOP_INDEX;
  let seq = startSeq;
  for (;;) {
    let at = spin ? w.tryReserve(1, recordBytes) : w.reserve(1, recordBytes);
    while (at < 0) {
      // Full (discard mode): wait for the reader, unless it asked us to stop; pairs with requestStop().
      if (Atomics.load(ctrl, stopIndex) !== 0) return seq;
      at = w.tryReserve(1, recordBytes);
    }
    const i = at >> 2;
    i32[i] = recordBytes;
    i32[i + 1] = seq;
    i32[i + 2] = (seq + 1) | 0;
    i32[i + 3] = -seq | 0;
    bytes.set(filler, at + RECORD_BYTES);
    w.commit(at);
    seq = (seq + 1) | 0;
    // Every 1024 records, see whether the reader asked us to stop; pairs with layout.ts#requestStop().
    if ((seq & STOP_CHECK_MASK) === 0 && Atomics.load(ctrl, stopIndex) !== 0) return seq;
  }
}

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
  let seq = 0;
  serveRuns(ctrl, (runId) => {
    const before = seq;
    seq =
      recordBytes === RECORD_BYTES
        ? writeUntilStopped(ctrl, w, seq, data.spinWhenFull)
        : writeSizedUntilStopped(ctrl, w, seq, data.spinWhenFull, recordBytes);
    port.postMessage({ type: 'wrote', runId, count: (seq - before) >>> 0 });
  });
}

main();

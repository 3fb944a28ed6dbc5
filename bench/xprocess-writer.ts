/**
 * Writer process of the xprocess_rps scenario (bench/xprocess.ts): maps the file ring and the
 * control file, and for each run the parent asks for (IPC message `{ runId }`) writes 16-byte
 * records `[RECORD_BYTES, seq, seq + 1, -seq]` exactly like bench/ring-writer.ts does in a
 * worker thread (tryReserve, spinning while the ring is full; stop checked every 1024 records),
 * then publishes the end of the run in the control block and replies `{ runId, count }`.
 *
 * argv: ringPath ctrlPath.
 */
import { closeSync, openSync } from 'node:fs';
import { openFileRing } from '../src/node/index.js';
import { nativeAddon } from '../src/node/native.js';
import type { RingWriter } from '../src/index.js';
import { CTRL_BYTES, CTRL_STOP_INDEX, RECORD_BYTES, finishRun } from './peers/layout.js';

const STOP_CHECK_MASK = 1023;

function writeUntilStopped(ctrl: Int32Array, w: RingWriter, startSeq: number): number {
  const i32 = w.i32;
  const recordBytes = RECORD_BYTES;
  const stopIndex = CTRL_STOP_INDEX;
  let seq = startSeq;
  for (;;) {
    let at = w.tryReserve(1, recordBytes);
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

function main(): void {
  const [ringPath, ctrlPath] = process.argv.slice(2);
  if (ringPath === undefined || ctrlPath === undefined || process.send === undefined) throw new Error('usage: fork(xprocess-writer.js, [ringPath, ctrlPath])');
  const fd = openSync(ctrlPath, 'r+');
  const ctrl = new Int32Array(nativeAddon().mapShared(fd, CTRL_BYTES));
  closeSync(fd);
  const w = openFileRing(ringPath).writer({ lane: 0, tag: process.pid });
  let seq = 0;
  process.on('message', (m: { runId?: number; exit?: boolean }) => {
    if (m.exit === true || typeof m.runId !== 'number') {
      w.close();
      process.disconnect();
      return;
    }
    const before = seq;
    seq = writeUntilStopped(ctrl, w, seq);
    finishRun(ctrl, m.runId);
    process.send?.({ runId: m.runId, count: (seq - before) >>> 0 });
  });
  process.send({ type: 'ready' });
}

main();

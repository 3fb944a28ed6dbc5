/**
 * Writer process of the xprocess_rps scenario (bench/xprocess.ts): maps the file ring and the
 * control file, and for each run the parent asks for (IPC message `{ runId }`) writes 16-byte
 * records with the loop bench/ring-writer.ts uses in a worker thread (ring-write-loop.ts;
 * tryReserve, spinning while the ring is full), then publishes the end of the run in the control block and replies `{ runId, count }`.
 *
 * argv: ringPath ctrlPath.
 */
import { closeSync, openSync } from 'node:fs';
import { openFileRing } from '../src/node/index.js';
import { nativeAddon } from '../src/node/native.js';
import { CTRL_BYTES, finishRun } from './peers/layout.js';
import { writeUntilStopped } from './ring-write-loop.js';

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
    seq = writeUntilStopped(ctrl, w, seq, true, null, false); // another process: the consumer's notify cannot reach us
    finishRun(ctrl, m.runId);
    process.send?.({ runId: m.runId, count: (seq - before) >>> 0 });
  });
  process.send({ type: 'ready' });
}

main();

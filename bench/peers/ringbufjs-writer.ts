/**
 * Worker: the writer of ringbufjs_rps (see ringbufjs.ts#openRingbufjs()).
 *
 * Pushes 16-byte items `[RECORD_BYTES, seq, seq + 1, -seq]` from one reused
 * Int32Array(4). A partial push (ring nearly full) is completed before the next
 * item. Spins while the ring is full, as ringbuf.js users do.
 *
 * workerData: `{ ctrlSab: SharedArrayBuffer, ringSab: SharedArrayBuffer, itemElements?: number }`.
 * With `itemElements` (>= 4; bench/curves/), each item is that many elements: the same 4 header
 * words with `itemElements * 4` as the first, then zeros (copied by every `push()`, as any payload).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { RingBuffer } from 'ringbuf.js';
import { CTRL_STOP_INDEX, RECORD_I32, sabField, serveRuns } from './layout.js';

/** Items between two checks of the stop flag (a power of two minus one). */
const STOP_CHECK_MASK = 1023;

function pushUntilStopped(ctrl: Int32Array, ring: RingBuffer, item: Int32Array, startSeq: number): number {
  // Locals, not imported bindings, inside the loop: V8 reloads those every iteration.
  const recordI32 = item.length;
  const recordBytes = item.length * Int32Array.BYTES_PER_ELEMENT;
  const stopIndex = CTRL_STOP_INDEX;
  let seq = startSeq;
  for (;;) {
    item[0] = recordBytes;
    item[1] = seq;
    item[2] = (seq + 1) | 0;
    item[3] = -seq | 0;
    let written = ring.push(item);
    while (written < recordI32) written += ring.push(item, recordI32 - written, written);
    seq = (seq + 1) | 0;
    // Every 1024 items (whole items only), see whether the reader asked us to stop; pairs with layout.ts#requestStop().
    if ((seq & STOP_CHECK_MASK) === 0 && Atomics.load(ctrl, stopIndex) !== 0) return seq;
  }
}

function main(): void {
  if (parentPort === null) throw new Error('ringbufjs-writer.js must run in a worker thread');
  const ctrl = new Int32Array(sabField(workerData, 'ctrlSab'));
  const ring = new RingBuffer(sabField(workerData, 'ringSab'), Int32Array);
  const itemElements = (workerData as { itemElements?: number }).itemElements ?? RECORD_I32;
  if (!Number.isInteger(itemElements) || itemElements < RECORD_I32) {
    throw new TypeError(`Invalid workerData: itemElements must be an integer from ${RECORD_I32}, received ${String(itemElements)}`);
  }
  const item = new Int32Array(itemElements);
  parentPort.postMessage({ type: 'ready' });
  let seq = 0;
  // ringbuf.js publishes every push with its own Atomics.store(write_ptr): the run is whole when it ends.
  serveRuns(ctrl, () => {
    seq = pushUntilStopped(ctrl, ring, item, seq);
  });
}

main();

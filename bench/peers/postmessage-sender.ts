/**
 * Worker: the sender of postmessage_rps and postmessage_latency_* (see raw.ts).
 *
 * Posts `{ seq, t }` objects to the parent, where `t` is `performance.now()`
 * just before `postMessage`. One object is reused: structured clone copies it
 * anyway, so the loop itself allocates nothing beyond what postMessage does.
 * After each run it posts `{ seq: -1 }` as an end marker.
 *
 * - mode 'rps': posts as fast as a window of `window` messages not yet
 *   acknowledged through CTRL_ACK allows (this keeps the queue, and memory,
 *   bounded). The parent acknowledges in steps of 64.
 * - mode 'latency': posts one message, sleeps until the parent acknowledges it,
 *   then (after `gapUs` microseconds, default 0: see layout.ts#pauseMicros()) posts the next,
 *   until the parent sets STOP.
 *
 * - mode 'bytes' (bench/curves/): like 'rps', but each message is a `Uint8Array` of `recordBytes`
 *   (one reused array, copied by structured clone): the 4 header words `[recordBytes, seq, seq + 1,
 *   -seq]` of bench/peers/layout.ts, then zeros. The end marker `{ seq: -1, t }` carries in `t`
 *   the number of records posted in the run.
 *
 * workerData: `{ ctrlSab: SharedArrayBuffer, mode: 'rps' | 'latency' | 'bytes', window: number, recordBytes?: number, gapUs?: number }`.
 * Ready message: `{ type: 'ready', clockOffsetMs }` (see layout.ts#clockOffsetMs()).
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import {
  CTRL_ACK_INDEX,
  CTRL_RUN_EXIT,
  CTRL_STOP_INDEX,
  clockOffsetMs,
  finishRun,
  intField,
  pauseMicros,
  sabField,
  waitForRun,
} from './layout.js';

const END_SEQ = -1;

/** Posts between two checks of the stop flag (a power of two minus one). */
const STOP_CHECK_MASK = 255;

interface Message {
  seq: number;
  t: number;
}

/**
 * Post as fast as a window of `window` messages not yet acknowledged allows, `post(seq)` sending
 * message `seq`, until the parent asks to stop; returns the next seq.
 */
function postUntilStopped(ctrl: Int32Array, post: (seq: number) => void, startSeq: number, window: number): number {
  let sent = startSeq;
  // Acquire the parent's receive count; pairs with Atomics.store(ACK) in raw.ts#openPostMessageRps() and curve-sessions.ts.
  let ackCache = Atomics.load(ctrl, CTRL_ACK_INDEX);
  for (;;) {
    if (((sent - ackCache) | 0) >= window) {
      // Window full by the cached count: reload it; same pairing.
      ackCache = Atomics.load(ctrl, CTRL_ACK_INDEX);
      if (((sent - ackCache) | 0) >= window) {
        // Still full: see whether the parent asked us to stop; pairs with layout.ts#requestStop().
        if (Atomics.load(ctrl, CTRL_STOP_INDEX) !== 0) return sent;
        continue;
      }
    }
    post(sent);
    sent = (sent + 1) | 0;
    // Every 256 posts, see whether the parent asked us to stop; pairs with layout.ts#requestStop().
    if ((sent & STOP_CHECK_MASK) === 0 && Atomics.load(ctrl, CTRL_STOP_INDEX) !== 0) return sent;
  }
}

function postOneAtATime(ctrl: Int32Array, port: MessagePort, msg: Message, gapUs: number): void {
  for (let seq = 0; ; seq++) {
    if (seq > 0 && gapUs > 0) pauseMicros(gapUs);
    msg.seq = seq;
    msg.t = performance.now();
    port.postMessage(msg);
    // Acquire the parent's receipt of `seq` (ACK = seq + 1); pairs with Atomics.store(ACK) in raw.ts#openPostMessageLatency().
    while (Atomics.load(ctrl, CTRL_ACK_INDEX) === seq) {
      // Sleep while ACK still equals seq; woken by Atomics.notify(ACK) in raw.ts#openPostMessageLatency().
      Atomics.wait(ctrl, CTRL_ACK_INDEX, seq, 1_000);
    }
    // Stored by the parent before the last ACK, so visible now; pairs with layout.ts#requestStop().
    if (Atomics.load(ctrl, CTRL_STOP_INDEX) !== 0) return;
  }
}

function main(): void {
  if (parentPort === null) throw new Error('postmessage-sender.js must run in a worker thread');
  const port = parentPort;
  const ctrl = new Int32Array(sabField(workerData, 'ctrlSab'));
  const window = intField(workerData, 'window');
  const mode: unknown = (workerData as Record<string, unknown>)['mode'];
  if (mode !== 'rps' && mode !== 'latency' && mode !== 'bytes') {
    throw new TypeError(`Invalid workerData: mode must be 'rps', 'latency' or 'bytes', received ${String(mode)}`);
  }
  const record = new Uint8Array(mode === 'bytes' ? intField(workerData, 'recordBytes') : 0);
  if (record.length % 4 !== 0 || (mode === 'bytes' && record.length < 16)) {
    throw new TypeError(`Invalid workerData: recordBytes must be a multiple of 4 from 16, received ${record.length}`);
  }
  const gapUs = (workerData as { gapUs?: number }).gapUs ?? 0;
  if (!(Number.isFinite(gapUs) && gapUs >= 0)) throw new TypeError(`Invalid workerData: gapUs must be a number >= 0, received ${String(gapUs)}`);
  const msg: Message = { seq: 0, t: 0 };
  const postObject = (seq: number): void => {
    msg.seq = seq;
    msg.t = performance.now();
    port.postMessage(msg);
  };
  const words = new Int32Array(record.buffer, record.byteOffset, record.length >> 2);
  const postBytes = (seq: number): void => {
    words[0] = record.length;
    words[1] = seq;
    words[2] = (seq + 1) | 0;
    words[3] = -seq | 0;
    port.postMessage(record);
  };
  port.postMessage({ type: 'ready', clockOffsetMs: clockOffsetMs() });
  let sent = 0;
  let runId = 0;
  for (;;) {
    runId = waitForRun(ctrl, runId);
    if (runId === CTRL_RUN_EXIT) return;
    const before = sent;
    if (mode === 'rps') sent = postUntilStopped(ctrl, postObject, sent, window);
    else if (mode === 'bytes') sent = postUntilStopped(ctrl, postBytes, sent, window);
    else postOneAtATime(ctrl, port, msg, gapUs);
    finishRun(ctrl, runId);
    msg.seq = END_SEQ;
    msg.t = mode === 'bytes' ? (sent - before) | 0 : msg.t;
    port.postMessage(msg);
  }
}

main();

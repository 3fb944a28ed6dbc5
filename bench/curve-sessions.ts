/**
 * The sessions behind the curves (bench/curves.ts): N writer threads move records of `recordBytes`
 * to one consumer, for every series of the charts. Each `runOnce(durationMs)` returns records/s
 * and verifies what moved: every record carries `[recordBytes, seq, seq + 1, -seq]` (then zeros),
 * each writer counts its own `seq` from 0 across runs, the consumer sums the 4 header words of every
 * record, and the run throws unless the sum and the counts match what the writers wrote.
 *
 * | series        | writers                                   | consumer                                   |
 * | ------------- | ----------------------------------------- | ------------------------------------------ |
 * | ring_own      | N workers, each on its own lane (ring-writer.ts) | main thread, `consumer().read(visitor)` busy-poll |
 * | ring_own_batches | the same                               | main thread, `consumer().readBatches(visitor)` busy-poll |
 * | ring_shared   | N workers on one shared lane               | the same                                   |
 * | ringbufjs     | N workers, one ringbuf.js SPSC ring each   | main thread pops every ring in turn        |
 * | postmessage   | N workers posting `Uint8Array`s (window 4096 each) | main thread's message handler       |
 * | thread_stream | N workers, one `ThreadStream` each         | thread-stream's destination threads (N)    |
 * | raw_store     | N workers storing into their own memory    | none (the limit of writing)                |
 * | array_queue   | one thread (N does not apply)              | the same thread (peers/array-queue.ts)     |
 *
 * Ring geometry for ours: 16 KiB pages x 16 per lane (256 KiB), discard mode (writers wait in
 * `reserveWaiting` while full, so nothing is lost and a waiting writer leaves the consumer its
 * core), clock `none` (the peers stamp nothing either).
 * ringbuf.js gets the same 256 KiB per ring. Every worker has its own control block, so each one's
 * run ends (DONE) on its own.
 */
import { once } from 'node:events';
import { createRing } from '../src/index.js';
import { RecordTally } from './record-tally.js';
import { startWorker, type BenchWorker } from './harness.js';
import { openArrayQueue } from './peers/array-queue.js';
import { CTRL_ACK_INDEX, CTRL_BYTES, DRAIN_TIMEOUT_MS, RECORD_I32, beginRun, expectedChecksum, requestExit, requestStop } from './peers/layout.js';
import { consumeRun } from './consume-run.js';
import { closeWorker, throwIfFailed, type ThroughputSession } from './peers/raw.js';
import { RingBuffer } from 'ringbuf.js';

/** The series of the charts, in legend order. */
export const CURVE_SERIES = ['ring_own', 'ring_own_batches', 'ring_shared', 'ringbufjs', 'thread_stream', 'postmessage', 'array_queue', 'raw_store'] as const;
export type CurveSeries = (typeof CURVE_SERIES)[number];

const PAGE = 16384;
const PAGES_PER_LANE = 16;
const LANE_BYTES = PAGE * PAGES_PER_LANE;
/** Records per `read()` call of our consumer (see openRingCurve()). */
const READ_BATCH = 4096;
/** `pop()` calls per ring and pass of the ringbuf.js consumer (each pops at most `popped.length` elements). */
const POP_BATCH = 16;

/** Opens the session of one series for `writers` threads and records of `recordBytes`. */
export function openCurveSession(series: CurveSeries, writers: number, recordBytes: number): Promise<ThroughputSession> {
  switch (series) {
    case 'ring_own':
      return openRingCurve('own', writers, recordBytes);
    case 'ring_own_batches':
      return openRingCurve('own', writers, recordBytes, true);
    case 'ring_shared':
      return openRingCurve('shared', writers, recordBytes);
    case 'ringbufjs':
      return openRingbufjsCurve(writers, recordBytes);
    case 'postmessage':
      return openPostMessageCurve(writers, recordBytes);
    case 'thread_stream':
      return openThreadStreamCurve(writers, recordBytes);
    case 'raw_store':
      return openRawStoreCurve(writers, recordBytes);
    case 'array_queue':
      return Promise.resolve(openArrayQueue(recordBytes));
  }
}

/** N workers with a control block each; closes the ones started so far if one fails to start. */
async function startWriters(n: number, url: URL, data: (i: number, ctrlSab: SharedArrayBuffer) => object): Promise<{ workers: BenchWorker[]; ctrls: Int32Array[] }> {
  const workers: BenchWorker[] = [];
  const ctrls: Int32Array[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const ctrlSab = new SharedArrayBuffer(CTRL_BYTES);
      ctrls.push(new Int32Array(ctrlSab));
      workers.push(await startWorker(url, data(i, ctrlSab)));
    }
    return { workers, ctrls };
  } catch (err: unknown) {
    await closeAll(workers, ctrls);
    throw err;
  }
}

async function closeAll(workers: readonly BenchWorker[], ctrls: readonly Int32Array[]): Promise<void> {
  for (let i = 0; i < workers.length; i++) await closeWorker(workers[i]!, ctrls[i]!); // same length by construction
}

/** The count a worker posts (`{ type: 'wrote', runId, count }`) at the end of run `runId`. */
function wroteCount(bench: BenchWorker, runId: number, timeoutMs: number): Promise<number> {
  const count = new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      bench.worker.off('message', on);
      reject(bench.failure() ?? new Error(`curve writer did not report run ${runId} within ${timeoutMs} ms`));
    }, timeoutMs);
    const on = (m: { type?: string; runId?: number; count?: number }): void => {
      if (m.type === 'wrote' && m.runId === runId && typeof m.count === 'number') {
        clearTimeout(timer);
        bench.worker.off('message', on);
        resolve(m.count);
      }
    };
    bench.worker.on('message', on);
  });
  // The caller awaits it after its own (synchronous) read loop, which may throw first: a rejection
  // meanwhile must not count as unhandled and end the process.
  count.catch(() => undefined);
  return count;
}


/** The checksum of what N writers wrote: writer i wrote `counts[i]` records from `starts[i]`. */
function expectedSum(starts: readonly number[], counts: readonly number[], recordBytes: number): number {
  let sum = 0;
  for (let i = 0; i < counts.length; i++) sum = (sum + expectedChecksum(starts[i]! | 0, counts[i]!, recordBytes)) | 0;
  return sum;
}

/** Sum of the 4 little-endian int32 header words at `at` in `bytes`. */
function headerSum(bytes: Uint8Array, at: number): number {
  let sum = 0;
  for (let w = 0; w < 16; w += 4) {
    const o = at + w;
    sum = (sum + ((bytes[o] ?? 0) | ((bytes[o + 1] ?? 0) << 8) | ((bytes[o + 2] ?? 0) << 16) | ((bytes[o + 3] ?? 0) << 24))) | 0;
  }
  return sum;
}

// ---------------------------------------------------------------------------
// Our ring: N writers on own lanes or on one shared lane, main-thread consumer
// ---------------------------------------------------------------------------

/**
 * With `batches`, the consumer takes runs with `readBatches()` (one call per run of a lane, the
 * records as arrays of offsets) instead of a visitor call per record: the reading style of the
 * ringbuf.js consumer, which pops a buffer of elements at a time.
 */
async function openRingCurve(lanes: 'own' | 'shared', writers: number, recordBytes: number, batches = false): Promise<ThroughputSession> {
  const ring = createRing({
    lanes: lanes === 'own' ? writers : 0,
    sharedLanes: lanes === 'shared' ? 1 : 0,
    pageSize: PAGE,
    pagesPerLane: PAGES_PER_LANE,
    mode: 'discard',
    clock: 'none',
    metadataBytes: 0,
  });
  const { workers, ctrls } = await startWriters(writers, new URL('./ring-writer.js', import.meta.url), (i, ctrlSab) => ({
    ctrlSab,
    ringSab: ring.buffer,
    lane: lanes === 'own' ? i : 'shared',
    spinWhenFull: true,
    recordBytes,
  }));
  const reader = ring.consumer();
  const tally = new RecordTally();
  const visit = tally.visit;
  const visitBatch = tally.visitBatch;
  const poll = batches ? () => reader.readBatches(visitBatch, READ_BATCH) : () => reader.read(visit, READ_BATCH);
  const starts = workers.map(() => 0);
  let runId = 0;
  return {
    async runOnce(durationMs: number): Promise<number> {
      for (const w of workers) throwIfFailed(w);
      runId += 1;
      tally.reset();
      const wrote = workers.map((w) => wroteCount(w, runId, durationMs + DRAIN_TIMEOUT_MS));
      for (const ctrl of ctrls) beginRun(ctrl, runId);
      // read() is bounded per call (READ_BATCH): N writers can keep the lanes from ever being empty,
      // and an unbounded call was once seen to run 90 s with 4 writers on 2 cores.
      const elapsedMs = consumeRun(ctrls, runId, durationMs, poll, 'ring writers');
      const counts = await Promise.all(wrote);
      const written = counts.reduce((a, b) => a + b, 0);
      const expected = expectedSum(starts, counts, recordBytes);
      if (tally.sum !== expected || tally.count !== written || tally.lost !== 0) {
        throw new Error(`ring (${lanes} lanes): checksum ${tally.sum} != ${expected}, or read ${tally.count} of ${written} records, or ${tally.lost} lost`);
      }
      for (let i = 0; i < counts.length; i++) starts[i] = (starts[i]! + counts[i]!) | 0;
      return tally.count / (elapsedMs / 1e3);
    },
    async close() {
      reader.close();
      await closeAll(workers, ctrls);
    },
  };
}

// ---------------------------------------------------------------------------
// ringbuf.js: one SPSC ring per writer, main thread pops them in turn
// ---------------------------------------------------------------------------

async function openRingbufjsCurve(writers: number, recordBytes: number): Promise<ThroughputSession> {
  const itemElements = recordBytes >> 2;
  const rings: RingBuffer[] = [];
  const { workers, ctrls } = await startWriters(writers, new URL('./peers/ringbufjs-writer.js', import.meta.url), (_i, ctrlSab) => {
    const ringSab = RingBuffer.getStorageForCapacity(LANE_BYTES >> 2, Int32Array);
    rings.push(new RingBuffer(ringSab, Int32Array));
    return { ctrlSab, ringSab, itemElements };
  });
  const popped = new Int32Array(Math.max(1024, 4 * itemElements));
  // Per ring: elements of the current item already popped (the item boundary is not kept by ringbuf.js).
  const phase = rings.map(() => 0);
  const elements = rings.map(() => 0);
  let sum = 0;
  // Sums the 4 header elements of every item in popped[0, n) and skips the rest.
  const consume = (ringIndex: number, n: number): void => {
    let p = phase[ringIndex]!;
    let i = 0;
    while (i < n) {
      if (p < RECORD_I32) {
        sum = (sum + popped[i]!) | 0; // i < n <= popped.length
        i++;
        p++;
      } else {
        const skip = Math.min(n - i, itemElements - p);
        i += skip;
        p += skip;
      }
      if (p === itemElements) p = 0;
    }
    phase[ringIndex] = p;
    elements[ringIndex] = elements[ringIndex]! + n;
  };
  // Pops each ring in turn, at most `pops` times each (bounded like our reader's batches: a writer
  // that keeps up would keep an unbounded loop here forever). Returns the elements popped.
  const popAll = (pops: number): number => {
    let total = 0;
    for (let r = 0; r < rings.length; r++) {
      const ring = rings[r]!;
      let n: number;
      for (let k = 0; k < pops && (n = ring.pop(popped)) > 0; k++) {
        consume(r, n);
        total += n;
      }
    }
    return total;
  };
  const starts = workers.map(() => 0);
  let runId = 0;
  return {
    runOnce(durationMs: number): Promise<number> {
      for (const w of workers) throwIfFailed(w);
      runId += 1;
      sum = 0;
      elements.fill(0);
      for (const ctrl of ctrls) beginRun(ctrl, runId);
      const elapsedMs = consumeRun(ctrls, runId, durationMs, () => popAll(POP_BATCH), 'ringbuf.js writers');
      const counts = elements.map((e) => e / itemElements);
      if (!counts.every(Number.isInteger)) throw new Error(`ringbuf.js run ${runId} ended inside an item: ${elements.join(', ')} elements`);
      const expected = expectedSum(starts, counts, recordBytes);
      if (sum !== expected) throw new Error(`ringbuf.js: checksum ${sum} != ${expected} over ${counts.join(' + ')} items`);
      for (let i = 0; i < counts.length; i++) starts[i] = (starts[i]! + counts[i]!) | 0;
      const count = counts.reduce((a, b) => a + b, 0);
      return Promise.resolve(count / (elapsedMs / 1e3));
    },
    close: () => closeAll(workers, ctrls),
  };
}

// ---------------------------------------------------------------------------
// postMessage: N workers post Uint8Arrays to the main thread
// ---------------------------------------------------------------------------

/** Messages each sender may have unacknowledged (as raw.ts#openPostMessageRps()). */
const POSTMESSAGE_WINDOW = 4096;
const ACK_EVERY_MASK = 63;

async function openPostMessageCurve(writers: number, recordBytes: number): Promise<ThroughputSession> {
  const { workers, ctrls } = await startWriters(writers, new URL('./peers/postmessage-sender.js', import.meta.url), (_i, ctrlSab) => ({
    ctrlSab,
    mode: 'bytes',
    window: POSTMESSAGE_WINDOW,
    recordBytes,
  }));
  const received = workers.map(() => 0); // all messages ever received from each sender, int32
  const starts = workers.map(() => 0);
  let onMessage: ((i: number, msg: unknown) => void) | null = null;
  workers.forEach((w, i) => w.worker.on('message', (msg: unknown) => onMessage?.(i, msg)));
  let runId = 0;
  return {
    runOnce(durationMs: number): Promise<number> {
      for (const w of workers) throwIfFailed(w);
      runId += 1;
      const thisRun = runId;
      return new Promise<number>((resolve, reject) => {
        const inRun = workers.map(() => 0);
        const sent = workers.map(() => -1);
        let ended = 0;
        let sum = 0;
        let counted = 0;
        let rate = NaN;
        let stopping = false;
        const t0 = performance.now();
        const timer = setTimeout(() => {
          onMessage = null;
          reject(new Error(`postMessage senders did not finish run ${thisRun} within ${durationMs + DRAIN_TIMEOUT_MS} ms`));
        }, durationMs + DRAIN_TIMEOUT_MS);
        const stopAll = (now: number): void => {
          rate = counted / ((now - t0) / 1e3);
          stopping = true;
          for (const ctrl of ctrls) requestStop(ctrl);
        };
        onMessage = (i, msg) => {
          if (msg instanceof Uint8Array) {
            sum = (sum + headerSum(msg, 0)) | 0;
            inRun[i] = inRun[i]! + 1;
            const r = (received[i] = (received[i]! + 1) | 0);
            if ((r & ACK_EVERY_MASK) === 0) {
              // Open sender i's window by 64 messages; pairs with Atomics.load(ACK) in postmessage-sender.ts#postBytesUntilStopped().
              Atomics.store(ctrls[i]!, CTRL_ACK_INDEX, r);
            }
            if (stopping) return; // draining: messages after the deadline do not count
            counted += 1;
            if ((counted & 255) === 0) {
              const now = performance.now();
              if (now - t0 >= durationMs) stopAll(now);
            }
            return;
          }
          // End marker { seq: -1, t: records posted in the run }: the last message of sender i's run.
          sent[i] = (msg as { t: number }).t;
          // Open the whole window for the next run; pairs with Atomics.load(ACK) in postmessage-sender.ts.
          Atomics.store(ctrls[i]!, CTRL_ACK_INDEX, received[i]!);
          if (++ended < workers.length) return;
          clearTimeout(timer);
          onMessage = null;
          const expected = expectedSum(starts, inRun, recordBytes);
          if (sum !== expected || inRun.some((n, k) => n !== sent[k])) {
            reject(new Error(`postMessage: checksum ${sum} != ${expected}, or received ${inRun.join(' + ')} of ${sent.join(' + ')} messages`));
            return;
          }
          for (let k = 0; k < inRun.length; k++) starts[k] = (starts[k]! + inRun[k]!) | 0;
          resolve(rate);
        };
        // A sender stalled in a full window never triggers the per-message check: stop by the clock too.
        const deadlineTimer = setTimeout(() => {
          if (!stopping) stopAll(performance.now());
        }, durationMs);
        deadlineTimer.unref();
        for (const ctrl of ctrls) beginRun(ctrl, thisRun);
      });
    },
    close: () => closeAll(workers, ctrls),
  };
}

// ---------------------------------------------------------------------------
// thread-stream: N workers, each with its own ThreadStream and destination thread
// ---------------------------------------------------------------------------

async function openThreadStreamCurve(writers: number, recordBytes: number): Promise<ThroughputSession> {
  const countSab = new SharedArrayBuffer(8 * writers);
  const delivered = new BigInt64Array(countSab);
  const { workers, ctrls } = await startWriters(writers, new URL('./peers/thread-stream-writer.js', import.meta.url), (i, ctrlSab) => ({
    ctrlSab,
    countSab,
    slot: i,
    recordBytes,
  }));
  const deliveredBytes = (): number => {
    let total = 0n;
    // Acquire the destinations' counts; pairs with Atomics.add in peers/thread-stream-count-dest.ts.
    for (let i = 0; i < writers; i++) total += Atomics.load(delivered, i);
    return Number(total);
  };
  let writtenRecords = 0;
  let runId = 0;
  return {
    async runOnce(durationMs: number): Promise<number> {
      for (const w of workers) throwIfFailed(w);
      runId += 1;
      const wrote = workers.map((w) => wroteCount(w, runId, durationMs + DRAIN_TIMEOUT_MS));
      const before = deliveredBytes();
      for (const ctrl of ctrls) beginRun(ctrl, runId);
      const t0 = performance.now();
      await new Promise((resolve) => setTimeout(resolve, durationMs));
      const after = deliveredBytes();
      const elapsedMs = performance.now() - t0;
      for (const ctrl of ctrls) requestStop(ctrl);
      // Each writer flushes before it reports: then everything it wrote has been delivered.
      writtenRecords += (await Promise.all(wrote)).reduce((a, b) => a + b, 0);
      const total = deliveredBytes();
      if (total !== writtenRecords * recordBytes) {
        throw new Error(`thread-stream: delivered ${total} bytes, expected ${writtenRecords} records of ${recordBytes} bytes`);
      }
      return (after - before) / recordBytes / (elapsedMs / 1e3);
    },
    async close() {
      for (let i = 0; i < workers.length; i++) await closeStreamWriter(workers[i]!, ctrls[i]!); // same length
    },
  };
}

/**
 * Asks a thread-stream writer blocked between runs to return, which ends its stream (and so its
 * destination thread); gives it DRAIN_TIMEOUT_MS to exit on its own, then terminates it anyway.
 */
async function closeStreamWriter(bench: BenchWorker, ctrl: Int32Array): Promise<void> {
  const exited = once(bench.worker, 'exit');
  let timer: NodeJS.Timeout | undefined;
  try {
    requestStop(ctrl);
    requestExit(ctrl);
    await Promise.race([exited, new Promise((resolve) => (timer = setTimeout(resolve, DRAIN_TIMEOUT_MS)))]);
  } finally {
    clearTimeout(timer);
    await bench.stop();
  }
}

// ---------------------------------------------------------------------------
// Raw store loop: N workers, no reader
// ---------------------------------------------------------------------------

async function openRawStoreCurve(writers: number, recordBytes: number): Promise<ThroughputSession> {
  const { workers, ctrls } = await startWriters(writers, new URL('./peers/raw-store-writer.js', import.meta.url), (_i, ctrlSab) => ({ ctrlSab, recordBytes }));
  let runId = 0;
  return {
    async runOnce(durationMs: number): Promise<number> {
      for (const w of workers) throwIfFailed(w);
      runId += 1;
      const wrote = workers.map((w) => wroteCount(w, runId, durationMs + DRAIN_TIMEOUT_MS));
      for (const ctrl of ctrls) beginRun(ctrl, runId);
      const t0 = performance.now();
      await new Promise((resolve) => setTimeout(resolve, durationMs));
      for (const ctrl of ctrls) requestStop(ctrl);
      const total = (await Promise.all(wrote)).reduce((a, b) => a + b, 0);
      return total / ((performance.now() - t0) / 1e3);
    },
    close: () => closeAll(workers, ctrls),
  };
}

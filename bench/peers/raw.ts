/**
 * Reference loops: the least work a shared-memory ring or a message channel
 * can do, written plainly. Our own figures are reported as ratios to these.
 *
 * | reference                    | what it does per record                                     |
 * | ---------------------------- | ----------------------------------------------------------- |
 * | raw_store_publish_ns         | 4 plain int32 stores + `Atomics.store` of the head          |
 * | raw_clock_store_publish_ns   | same, with a `performance.now()` timestamp in the record    |
 * | raw_batched_ring_rps         | SPSC ring across threads, head published every 32 records   |
 * | postmessage_rps              | worker -> parent `postMessage({ seq, t })`                  |
 * | postmessage_latency_p50/p99  | one message in flight at a time, send -> receive            |
 *
 * Each reference is exported twice: as a building block (a loop or a session)
 * that another scenario can alternate with its own repetitions, and as a
 * one-call measurement.
 */
import {
  alternateMedians,
  measureNsPerOp,
  median,
  percentile,
  startWorker,
  type BenchWorker,
  type OpLoop,
} from '../harness.js';
import {
  CTRL_ACK_INDEX,
  CTRL_BYTES,
  CTRL_HEAD_INDEX,
  CTRL_TAIL_INDEX,
  DRAIN_TIMEOUT_MS,
  RECORD_BYTES,
  RECORD_I32_SHIFT,
  RING_BYTES,
  RING_MASK,
  beginRun,
  clockOffsetMs,
  expectedChecksum,
  isRunFinished,
  requestExit,
  requestStop,
} from './layout.js';

/** One repetition of a cross-thread throughput measurement, on a live worker. */
export interface ThroughputSession {
  /** Runs for about `durationMs`, verifies the data, and returns items per second. */
  runOnce(durationMs: number): Promise<number>;
  /** Ends the worker. */
  close(): Promise<void>;
}

/** Options of the one-call measurements. */
export interface RepOptions {
  /** Timed repetitions (median taken). Default 5. */
  readonly reps?: number;
}

// ---------------------------------------------------------------------------
// Single thread: store + publish
// ---------------------------------------------------------------------------

/**
 * The raw_store_publish_ns loop: per call, `n` 16-byte records, each written as
 * 4 plain int32 stores into a SharedArrayBuffer ring (position masked), then
 * one `Atomics.store` of the head position. Nobody reads the ring: this is the
 * writer's cost alone.
 */
export function makeRawStorePublishLoop(): OpLoop {
  const ctrl = new Int32Array(new SharedArrayBuffer(CTRL_BYTES));
  const data = new Int32Array(new SharedArrayBuffer(RING_BYTES));
  let headPos = 0;
  return (n: number): void => {
    // Locals, not captured or imported bindings, inside the loop: V8 reloads those every iteration.
    const i32 = data;
    const head = ctrl;
    const headIndex = CTRL_HEAD_INDEX;
    const mask = RING_MASK;
    const shift = RECORD_I32_SHIFT;
    const recordBytes = RECORD_BYTES;
    let pos = headPos;
    for (let i = 0; i < n; i++) {
      const index = (pos & mask) << shift;
      i32[index] = recordBytes;
      i32[index + 1] = pos;
      i32[index + 2] = (pos + 1) | 0;
      i32[index + 3] = -pos | 0;
      pos = (pos + 1) | 0;
      // Publish the record written above (the release a real writer needs; no reader here).
      Atomics.store(head, headIndex, pos);
    }
    headPos = pos;
  };
}

/**
 * The raw_clock_store_publish_ns loop: like {@link makeRawStorePublishLoop}, but
 * each record carries a `performance.now()` read: `[RECORD_BYTES, pos, time as float64]`
 * (2 int32 stores + 1 float64 store, still 16 bytes).
 */
export function makeRawClockStorePublishLoop(): OpLoop {
  const ctrl = new Int32Array(new SharedArrayBuffer(CTRL_BYTES));
  const dataSab = new SharedArrayBuffer(RING_BYTES);
  const data = new Int32Array(dataSab);
  const time = new Float64Array(dataSab);
  let headPos = 0;
  return (n: number): void => {
    // Locals, not captured or imported bindings, inside the loop: V8 reloads those every iteration.
    const i32 = data;
    const f64 = time;
    const head = ctrl;
    const headIndex = CTRL_HEAD_INDEX;
    const mask = RING_MASK;
    const shift = RECORD_I32_SHIFT;
    const recordBytes = RECORD_BYTES;
    // The performance object, not the global: in Node 20 `performance` is a getter on globalThis
    // with a receiver check, about 30 ns a read here (src/clock.ts takes it once the same way).
    const perf = globalThis.performance;
    let pos = headPos;
    for (let i = 0; i < n; i++) {
      const index = (pos & mask) << shift;
      i32[index] = recordBytes;
      i32[index + 1] = pos;
      f64[(index >> 1) + 1] = perf.now(); // float64 index of int32 words 2..3
      pos = (pos + 1) | 0;
      // Publish the record written above (the release a real writer needs; no reader here).
      Atomics.store(head, headIndex, pos);
    }
    headPos = pos;
  };
}

/**
 * Measures raw_store_publish_ns.
 * @returns Median ns per record.
 */
export function rawStorePublishNs(opsPerRun = 1_000_000, reps = 15): number {
  return measureNsPerOp(makeRawStorePublishLoop(), opsPerRun, reps);
}

/**
 * Measures raw_clock_store_publish_ns.
 * @returns Median ns per record.
 */
export function rawClockStorePublishNs(opsPerRun = 1_000_000, reps = 15): number {
  return measureNsPerOp(makeRawClockStorePublishLoop(), opsPerRun, reps);
}

// ---------------------------------------------------------------------------
// Two threads: minimal SPSC ring, head published every `batch` records
// ---------------------------------------------------------------------------

/** Records per head publication of the raw_batched_ring_rps writer. */
export const RAW_RING_BATCH = 32;

/**
 * Starts the raw ring writer worker (bench/peers/raw-batched-writer.ts). The
 * main thread is the reader: each `runOnce()` spins on the head, sums the 4
 * words of every record into a checksum, publishes its tail after each batch it
 * consumed, and throws if the checksum is wrong.
 * @param batch Records per head publication (32 for raw_batched_ring_rps; 1 = publish every record).
 */
export async function openRawBatchedRing(batch = RAW_RING_BATCH): Promise<ThroughputSession> {
  const ctrlSab = new SharedArrayBuffer(CTRL_BYTES);
  const dataSab = new SharedArrayBuffer(RING_BYTES);
  const ctrl = new Int32Array(ctrlSab);
  const data = new Int32Array(dataSab);
  const bench = await startWorker(new URL('./raw-batched-writer.js', import.meta.url), { ctrlSab, dataSab, batch });
  const out = new Int32Array(2); // [tailPos, checksum] returned by readRawRing()
  let tailPos = 0;
  let runId = 0;
  return {
    runOnce(durationMs: number): Promise<number> {
      throwIfFailed(bench);
      runId += 1;
      const startPos = tailPos;
      beginRun(ctrl, runId);
      const elapsedMs = readRawRing(ctrl, data, startPos, durationMs, runId, out);
      tailPos = out[0]!;
      const count = (tailPos - startPos) | 0;
      const expected = expectedChecksum(startPos, count);
      if (out[1] !== expected) {
        throw new Error(`raw ring checksum mismatch: expected ${expected}, received ${out[1]} over ${count} records`);
      }
      return Promise.resolve(count / (elapsedMs / 1e3));
    },
    close: () => closeWorker(bench, ctrl),
  };
}

/**
 * The reader: consumes until `durationMs` has passed, then asks the writer to
 * stop and drains what it published. Writes [tailPos, checksum] to `out`.
 * @returns Elapsed ms from start to the end of the drain.
 */
function readRawRing(
  ctrl: Int32Array,
  data: Int32Array,
  startPos: number,
  durationMs: number,
  runId: number,
  out: Int32Array,
): number {
  // Locals, not imported bindings, inside the loop: V8 reloads those every iteration.
  const mask = RING_MASK;
  const shift = RECORD_I32_SHIFT;
  const headIndex = CTRL_HEAD_INDEX;
  const tailIndex = CTRL_TAIL_INDEX;
  let tail = startPos;
  let sum = 0;
  let spins = 0;
  let stopping = false;
  const t0 = performance.now();
  const deadline = t0 + durationMs;
  const giveUp = deadline + DRAIN_TIMEOUT_MS;
  for (;;) {
    // Read DONE before the head: once DONE is seen, the head loaded next is final.
    const finished = stopping && isRunFinished(ctrl, runId);
    // Acquire the records before head; pairs with Atomics.store(HEAD) in raw-batched-writer.ts#writeUntilStopped().
    const head = Atomics.load(ctrl, headIndex);
    if (head !== tail) {
      do {
        const index = (tail & mask) << shift;
        // index + 3 < data.length: the mask keeps every record inside the ring.
        sum = (sum + data[index]! + data[index + 1]! + data[index + 2]! + data[index + 3]!) | 0;
        tail = (tail + 1) | 0;
      } while (tail !== head);
      // Hand the consumed slots back to the writer; pairs with Atomics.load(TAIL) in raw-batched-writer.ts#writeUntilStopped().
      Atomics.store(ctrl, tailIndex, tail);
    }
    if (finished) break;
    if ((++spins & 63) === 0) {
      const now = performance.now();
      if (!stopping && now >= deadline) {
        stopping = true;
        requestStop(ctrl);
      } else if (now >= giveUp) {
        throw new Error(`raw ring writer did not finish run ${runId} within ${DRAIN_TIMEOUT_MS} ms`);
      }
    }
  }
  const elapsedMs = performance.now() - t0;
  out[0] = tail;
  out[1] = sum;
  return elapsedMs;
}

/**
 * Measures raw_batched_ring_rps: records per second through the minimal
 * cross-thread SPSC ring (writer in a worker, reader on the main thread).
 * @param durationMs Length of one repetition.
 * @returns Median records/s over `reps` repetitions, after one warm-up repetition.
 */
export async function rawBatchedRingRps(durationMs: number, opts: RepOptions & { readonly batch?: number } = {}): Promise<number> {
  const session = await openRawBatchedRing(opts.batch ?? RAW_RING_BATCH);
  try {
    const { ring } = await alternateMedians({ ring: () => session.runOnce(durationMs) }, opts.reps ?? 5);
    return ring;
  } finally {
    await session.close();
  }
}

// ---------------------------------------------------------------------------
// Two threads: postMessage
// ---------------------------------------------------------------------------

/** Messages a postmessage_rps sender may have in flight (flow control, so queues stay bounded). */
export const POSTMESSAGE_WINDOW = 4096;

/** The receiver acknowledges every 64 messages (a mask), not each: fewer cache-line transfers to the sender. */
const ACK_EVERY_MASK = 63;

/** Shape of the messages the sender posts; `seq` = -1 marks the end of a run. */
interface SenderMessage {
  readonly seq: number;
  readonly t: number;
}

const END_SEQ = -1;

/** Latency percentiles of one repetition, in ns. */
export interface LatencyFigures {
  readonly p50Ns: number;
  readonly p99Ns: number;
}

/** The latency distribution of one repetition, in ns. */
export interface LatencyDistribution extends LatencyFigures {
  readonly p999Ns: number;
  readonly maxNs: number;
}

/** The percentiles of one repetition's latencies (ns). */
export function latencyDistribution(latencyNs: Float64Array): LatencyDistribution {
  return {
    p50Ns: percentile(latencyNs, 50),
    p99Ns: percentile(latencyNs, 99),
    p999Ns: percentile(latencyNs, 99.9),
    maxNs: percentile(latencyNs, 100),
  };
}

/** A live postMessage latency sender. */
export interface LatencySession {
  /** Sends `samples` messages, one in flight at a time, and returns their latency percentiles. */
  runOnce(samples: number): Promise<LatencyDistribution>;
  close(): Promise<void>;
}

/**
 * Starts a worker that posts `{ seq, t }` objects to the parent as fast as a
 * window of {@link POSTMESSAGE_WINDOW} unacknowledged messages allows. Each
 * `runOnce()` returns messages per second received by the main thread.
 */
export async function openPostMessageRps(): Promise<ThroughputSession> {
  const ctrlSab = new SharedArrayBuffer(CTRL_BYTES);
  const ctrl = new Int32Array(ctrlSab);
  const bench = await startWorker(new URL('./postmessage-sender.js', import.meta.url), {
    ctrlSab,
    mode: 'rps',
    window: POSTMESSAGE_WINDOW,
  });
  let runId = 0;
  let received = 0; // all messages ever received, int32
  let onMessage: ((msg: SenderMessage) => void) | null = null;
  bench.worker.on('message', (msg: SenderMessage) => onMessage?.(msg));
  return {
    runOnce(durationMs: number): Promise<number> {
      throwIfFailed(bench);
      runId += 1;
      return new Promise<number>((resolve, reject) => {
        let counted = 0;
        let rate = NaN;
        let t0 = 0;
        let stopping = false;
        const timer = setTimeout(() => {
          onMessage = null;
          reject(new Error(`postMessage sender did not finish run ${runId} within ${durationMs + DRAIN_TIMEOUT_MS} ms`));
        }, durationMs + DRAIN_TIMEOUT_MS);
        onMessage = (msg) => {
          if (msg.seq === END_SEQ) {
            clearTimeout(timer);
            onMessage = null;
            resolve(rate);
            return;
          }
          received = (received + 1) | 0;
          if ((received & ACK_EVERY_MASK) === 0) {
            // Open the sender's window by 64 messages; pairs with Atomics.load(ACK) in postmessage-sender.ts#postUntilStopped().
            Atomics.store(ctrl, CTRL_ACK_INDEX, received);
          }
          if (stopping) return; // draining: messages after the deadline do not count
          counted += 1;
          const now = performance.now();
          if (now - t0 >= durationMs) {
            rate = counted / ((now - t0) / 1e3);
            stopping = true;
            requestStop(ctrl);
          }
        };
        t0 = performance.now();
        beginRun(ctrl, runId);
      });
    },
    close: () => closeWorker(bench, ctrl),
  };
}

/**
 * Starts a worker that posts one `{ seq, t }` message at a time and waits for
 * the parent's receipt before the next, so no message waits in a queue behind
 * another. Latency = receive time on the main thread minus `t`, both on the
 * process-wide monotonic clock (see layout.ts#clockOffsetMs() for why).
 * @param gapUs Pause of the sender between a receipt and the next message (bench/latency.ts), in µs.
 */
export async function openPostMessageLatency(gapUs = 0): Promise<LatencySession> {
  const ctrlSab = new SharedArrayBuffer(CTRL_BYTES);
  const ctrl = new Int32Array(ctrlSab);
  const bench = await startWorker(new URL('./postmessage-sender.js', import.meta.url), {
    ctrlSab,
    mode: 'latency',
    window: 1,
    gapUs,
  });
  const senderOffsetMs = readyClockOffset(bench.ready);
  const receiverOffsetMs = clockOffsetMs();
  // Send time on this thread's performance.now() scale: t + senderToReceiverMs.
  const senderToReceiverMs = senderOffsetMs - receiverOffsetMs;
  let runId = 0;
  let onMessage: ((msg: SenderMessage) => void) | null = null;
  bench.worker.on('message', (msg: SenderMessage) => onMessage?.(msg));
  return {
    runOnce(samples: number): Promise<LatencyDistribution> {
      throwIfFailed(bench);
      runId += 1;
      const latencyNs = new Float64Array(samples);
      return new Promise<LatencyDistribution>((resolve, reject) => {
        const timer = setTimeout(() => {
          onMessage = null;
          reject(new Error(`postMessage sender did not finish run ${runId} within ${DRAIN_TIMEOUT_MS} ms`));
        }, DRAIN_TIMEOUT_MS + samples); // generous: ~1 ms per message
        onMessage = (msg) => {
          const receivedAt = performance.now();
          if (msg.seq === END_SEQ) {
            clearTimeout(timer);
            onMessage = null;
            resolve(latencyDistribution(latencyNs));
            return;
          }
          latencyNs[msg.seq] = (receivedAt - (msg.t + senderToReceiverMs)) * 1e6;
          // The last sample: ask for the end marker. Stored before the ACK below, so the sender sees both together.
          if (msg.seq + 1 === samples) requestStop(ctrl);
          // Acknowledge message seq: lets the sender post the next; pairs with Atomics.load/wait(ACK) in postmessage-sender.ts#postOneAtATime().
          Atomics.store(ctrl, CTRL_ACK_INDEX, msg.seq + 1);
          // Wake the sender sleeping on ACK; pairs with Atomics.wait(ACK) in postmessage-sender.ts#postOneAtATime().
          Atomics.notify(ctrl, CTRL_ACK_INDEX);
        };
        // Reset the receipt count (the sender counts from 0 each run) before GO; read by postmessage-sender.ts#postOneAtATime().
        Atomics.store(ctrl, CTRL_ACK_INDEX, 0);
        beginRun(ctrl, runId);
      });
    },
    close: () => closeWorker(bench, ctrl),
  };
}

/**
 * Measures postmessage_rps.
 * @returns Median messages/s over `reps` repetitions of `durationMs`, after one warm-up repetition.
 */
export async function postMessageRps(durationMs: number, opts: RepOptions = {}): Promise<number> {
  const session = await openPostMessageRps();
  try {
    const { rps } = await alternateMedians({ rps: () => session.runOnce(durationMs) }, opts.reps ?? 5);
    return rps;
  } finally {
    await session.close();
  }
}

/**
 * Measures postmessage_latency_p50_ns / _p99_ns.
 * @param samples Messages per repetition.
 * @returns The median, over `reps` repetitions (after one warm-up), of each repetition's p50 and p99, in ns.
 */
export async function postMessageLatency(samples: number, opts: RepOptions = {}): Promise<LatencyFigures> {
  const session = await openPostMessageLatency();
  try {
    await session.runOnce(samples); // warm-up
    const p50s: number[] = [];
    const p99s: number[] = [];
    for (let rep = 0; rep < (opts.reps ?? 5); rep++) {
      const figures = await session.runOnce(samples);
      p50s.push(figures.p50Ns);
      p99s.push(figures.p99Ns);
    }
    return { p50Ns: median(p50s), p99Ns: median(p99s) };
  } finally {
    await session.close();
  }
}

// ---------------------------------------------------------------------------
// Helpers shared by the sessions (also used by ringbufjs.ts)
// ---------------------------------------------------------------------------

/** Throws the worker's failure, if any. */
export function throwIfFailed(bench: BenchWorker): void {
  const failure = bench.failure();
  if (failure !== null) throw failure;
}

/** Asks a worker blocked between runs to return, then terminates it. */
export async function closeWorker(bench: BenchWorker, ctrl: Int32Array): Promise<void> {
  requestStop(ctrl);
  requestExit(ctrl);
  await bench.stop();
}

/** The `clockOffsetMs` a worker sent in its ready message (see layout.ts#clockOffsetMs()). */
export function readyClockOffset(ready: unknown): number {
  const value = typeof ready === 'object' && ready !== null ? (ready as Record<string, unknown>)['clockOffsetMs'] : undefined;
  if (typeof value !== 'number') throw new TypeError('benchmark worker ready message lacks clockOffsetMs');
  return value;
}

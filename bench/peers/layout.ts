/**
 * Shared layout and protocol of the peer benchmarks (main thread <-> one worker).
 *
 * Control block: one Int32Array over its own SharedArrayBuffer. Every word sits
 * in its own 64-byte slot so that the writer's and the reader's words never
 * share a cache line:
 *
 *   byte  0  CTRL_HEAD      writer's head position (records), free-running int32
 *   byte 64  CTRL_TAIL      reader's tail position (records), free-running int32
 *   byte 128 CTRL_GO        id of the run the main thread asked for; CTRL_RUN_EXIT ends the worker
 *   byte 192 CTRL_STOP      1 = main thread asks the worker to finish the current run
 *   byte 256 CTRL_DONE      id of the last run the worker finished
 *   byte 320 CTRL_ACK       postMessage peers: messages received by the main thread
 *
 * Record: 16 bytes = 4 int32 words `[RECORD_BYTES, pos, pos + 1, -pos]`, so the
 * int32 sum of its words is `17 + pos` (mod 2^32). A reader sums every word it
 * reads and compares the total with {@link expectedChecksum}. A slot that is read
 * before the writer's stores are visible holds an older record (`pos - capacity`),
 * which breaks the sum.
 *
 * Positions are free-running int32 counters, masked only where used. Compare
 * them as `((a - b) | 0)`, which stays correct across the 2^31 wrap.
 *
 * Run protocol (both ring peers and the postMessage peers):
 *   main:   STOP = 0; GO = runId; notify(GO)           (beginRun)
 *   worker: wakes on GO (waitForRun), produces until it sees STOP = 1,
 *           publishes its last head, then DONE = runId
 *   main:   consumes; after the duration sets STOP = 1; drains until it sees DONE = runId
 */

const SLOT_I32 = 16; // 64 bytes per control word

export const CTRL_HEAD_INDEX = 0 * SLOT_I32;
export const CTRL_TAIL_INDEX = 1 * SLOT_I32;
export const CTRL_GO_INDEX = 2 * SLOT_I32;
export const CTRL_STOP_INDEX = 3 * SLOT_I32;
export const CTRL_DONE_INDEX = 4 * SLOT_I32;
export const CTRL_ACK_INDEX = 5 * SLOT_I32;
export const CTRL_BYTES = 6 * SLOT_I32 * Int32Array.BYTES_PER_ELEMENT;

/** Value of CTRL_GO that tells the worker to return. Run ids start at 1. */
export const CTRL_RUN_EXIT = -1;

export const RECORD_BYTES = 16;
export const RECORD_I32 = RECORD_BYTES / Int32Array.BYTES_PER_ELEMENT;
/** log2(RECORD_I32): record index -> int32 index. */
export const RECORD_I32_SHIFT = 2;

/** Ring capacity in records (64 KiB of records: stays in L2). A power of two. */
export const RING_RECORDS = 4096;
export const RING_MASK = RING_RECORDS - 1;
export const RING_BYTES = RING_RECORDS * RECORD_BYTES;

/** Longest time a main-thread reader waits for a worker that should have finished. */
export const DRAIN_TIMEOUT_MS = 5_000;

/**
 * The int32 sum of all words of `count` records starting at position `startPos`
 * (see the record layout above): `sum(17 + p)` for p in [startPos, startPos + count), mod 2^32.
 * A larger record (`recordBytes` > 16, bench/curves/) keeps the same 4 header words, with
 * `recordBytes` as its first word, and zero filler after them: `sum(recordBytes + 1 + p)`.
 */
export function expectedChecksum(startPos: number, count: number, recordBytes = RECORD_BYTES): number {
  const start = BigInt(startPos);
  const n = BigInt(count);
  const total = n * (BigInt(recordBytes) + 1n + start) + (n * (n - 1n)) / 2n;
  return Number(BigInt.asIntN(32, total));
}

/**
 * Main thread: starts run `runId` (>= 1) in a worker blocked in {@link waitForRun}.
 */
export function beginRun(ctrl: Int32Array, runId: number): void {
  // Clear the previous run's stop request before the new id is visible; read by the worker's produce loop.
  Atomics.store(ctrl, CTRL_STOP_INDEX, 0);
  // Publish the new run id (and the STOP reset above); pairs with Atomics.load(GO) in layout.ts#waitForRun().
  Atomics.store(ctrl, CTRL_GO_INDEX, runId);
  // Wake the worker sleeping on GO; pairs with Atomics.wait(GO) in layout.ts#waitForRun().
  Atomics.notify(ctrl, CTRL_GO_INDEX);
}

/** Main thread: asks the worker to finish the current run. */
export function requestStop(ctrl: Int32Array): void {
  // Ask the writer to finish; read by the worker's produce loop at its next check.
  Atomics.store(ctrl, CTRL_STOP_INDEX, 1);
}

/** Main thread: asks a worker blocked in {@link waitForRun} to return. */
export function requestExit(ctrl: Int32Array): void {
  // Publish the exit request; pairs with Atomics.load(GO) in layout.ts#waitForRun().
  Atomics.store(ctrl, CTRL_GO_INDEX, CTRL_RUN_EXIT);
  // Wake the worker sleeping on GO; pairs with Atomics.wait(GO) in layout.ts#waitForRun().
  Atomics.notify(ctrl, CTRL_GO_INDEX);
}

/**
 * Worker: sleeps until the main thread starts a run other than `lastRunId`.
 * @returns The new run id, or CTRL_RUN_EXIT.
 */
export function waitForRun(ctrl: Int32Array, lastRunId: number): number {
  for (;;) {
    // Acquire the run id and the STOP reset stored before it; pairs with Atomics.store(GO) in layout.ts#beginRun().
    const runId = Atomics.load(ctrl, CTRL_GO_INDEX);
    if (runId !== lastRunId) return runId;
    // Sleep while GO still holds lastRunId; woken by Atomics.notify(GO) in layout.ts#beginRun()/requestExit().
    Atomics.wait(ctrl, CTRL_GO_INDEX, lastRunId);
  }
}

type WaitAsync = (i32: Int32Array, index: number, value: number) => { async: boolean; value: Promise<unknown> | string };

/**
 * {@link waitForRun} for a worker that must keep its event loop running between runs (e.g. one
 * that owns a thread-stream): waits with `Atomics.waitAsync`, holding a timer meanwhile because a
 * waitAsync promise alone does not keep a worker alive.
 */
export async function waitForRunAsync(ctrl: Int32Array, lastRunId: number): Promise<number> {
  const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;
  const keepAlive = setInterval(() => undefined, 1 << 30);
  try {
    for (;;) {
      // Acquire the run id and the STOP reset stored before it; pairs with Atomics.store(GO) in layout.ts#beginRun().
      const runId = Atomics.load(ctrl, CTRL_GO_INDEX);
      if (runId !== lastRunId) return runId;
      // Sleep while GO still holds lastRunId; woken by Atomics.notify(GO) in layout.ts#beginRun()/requestExit().
      const r = waitAsync(ctrl, CTRL_GO_INDEX, lastRunId);
      if (r.async) await r.value;
    }
  } finally {
    clearInterval(keepAlive);
  }
}

/** Worker: reports that run `runId` is finished and everything it produced is published. */
export function finishRun(ctrl: Int32Array, runId: number): void {
  // Publish the end of the run, after the last head/message; pairs with Atomics.load(DONE) in the main-thread reader.
  Atomics.store(ctrl, CTRL_DONE_INDEX, runId);
}

/** Main thread: whether the worker has finished run `runId`. */
export function isRunFinished(ctrl: Int32Array, runId: number): boolean {
  // Acquire the end of the run: a head loaded after this covers every record; pairs with layout.ts#finishRun().
  return Atomics.load(ctrl, CTRL_DONE_INDEX) === runId;
}

/**
 * Offset, in ms, from this thread's `performance.now()` to the process-wide
 * monotonic clock behind `process.hrtime.bigint()`.
 *
 * Why: cross-thread latency is "receive time minus send time", taken on two
 * threads. `performance.now()` counts from a time origin that the HTML spec
 * makes per agent (per worker); Node 20 happens to share one origin, but
 * nothing guarantees it. `performance.timeOrigin + performance.now()` mixes in
 * a wall-clock reading taken at each thread's start, which can disagree by
 * microseconds and jumps with NTP. `process.hrtime` reads one monotonic
 * clock for the whole process, but allocates (an array or a BigInt) per call,
 * which would be measured too. So each thread calibrates once, off the hot path:
 * `hrtimeMs = performance.now() + offset`. It keeps the sample whose two
 * `performance.now()` reads are closest, bounding the error to that gap (< 1 µs).
 * Then the hot path calls only `performance.now()`.
 */
export function clockOffsetMs(): number {
  let bestGapMs = Infinity;
  let offsetMs = 0;
  for (let i = 0; i < 1_000; i++) {
    const before = performance.now();
    const hrMs = Number(process.hrtime.bigint()) / 1e6;
    const after = performance.now();
    if (after - before < bestGapMs) {
      bestGapMs = after - before;
      offsetMs = hrMs - (before + after) / 2;
    }
  }
  return offsetMs;
}

/**
 * Spins for `us` microseconds on `performance.now()`. The latency senders pause this long between
 * a receipt and the next message, so the receiver has gone back to sleep (its event loop, or
 * `reader.wait()`) and each figure is a wakeup. A spin, not a timed wait: a futex timeout would add
 * the kernel's timer slack (~50 us) and vary with it.
 */
export function pauseMicros(us: number): void {
  const until = performance.now() + us / 1e3;
  while (performance.now() < until) {
    // spin
  }
}

/** Narrows an unknown `workerData` field to a SharedArrayBuffer, or throws a TypeError. */
export function sabField(data: unknown, key: string): SharedArrayBuffer {
  const value = typeof data === 'object' && data !== null ? (data as Record<string, unknown>)[key] : undefined;
  if (!(value instanceof SharedArrayBuffer)) {
    throw new TypeError(`Invalid workerData: ${key} must be a SharedArrayBuffer`);
  }
  return value;
}

/** Narrows an unknown `workerData` field to a positive integer, or throws a TypeError. */
export function intField(data: unknown, key: string): number {
  const value = typeof data === 'object' && data !== null ? (data as Record<string, unknown>)[key] : undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new TypeError(`Invalid workerData: ${key} must be a positive integer, received ${String(value)}`);
  }
  return value;
}

/**
 * Worker: serves runs until the main thread asks it to exit. For each run, `produce(runId)` writes
 * until asked to stop (and publishes what it wrote); then the run is reported finished.
 */
export function serveRuns(ctrl: Int32Array, produce: (runId: number) => void): void {
  let runId = 0;
  for (;;) {
    runId = waitForRun(ctrl, runId);
    if (runId === CTRL_RUN_EXIT) return;
    produce(runId);
    finishRun(ctrl, runId);
  }
}

/**
 * Ring time: one time scale that every thread (and, on one machine, every process) attached to a ring
 * agrees on.
 *
 * `mono` time is nanoseconds since the ring was created. Each attaching thread computes a constant
 * offset so that `ringNs = floor(performance.now() * 1e6) + offsetNs`; the hot path then costs one
 * `performance.now()` (about 60 ns) and no allocation.
 *  - On Node, whose `process.hrtime.bigint` reads CLOCK_MONOTONIC, the offset is calibrated
 *    against it, since all threads and processes share it: the creator stores the
 *    monotonic reading of ring time 0 in the header, an attacher samples (performance.now(),
 *    hrtime) pairs and keeps the tightest one, so threads agree to within the gap of that pair
 *    (well under a microsecond here; the test checks causality to within a few microseconds).
 *  - Elsewhere (browsers, Deno, Bun) the offset comes from `performance.timeOrigin`, which the
 *    platform keeps on one base for a page or process and its workers; agreement is as good as
 *    that value. Deno's and Bun's `process.hrtime` are not CLOCK_MONOTONIC: in Deno 2.9 and Bun
 *    1.4 it counts from (about) the start of each thread, so a worker's first reading can be below
 *    its creator's reading from before the worker started, and calibrating against it put a
 *    worker's records tens of ms early (test/portability/runtimes.test.ts); they are not used.
 *
 * `counter` time is a ring-wide 32-bit sequence incremented by every record (a total order, no
 * clock read), unwrapped against a ring-wide recent value (H_COUNTER_BASE) that page preparations
 * keep fresh, so a lane idle for billions of other lanes' records still stamps correctly. `none` stamps 0.
 * A user clock is any function returning the same scale in every thread.
 */
import { CLOCK_COUNTER, CLOCK_MONO, CLOCK_NONE, CLOCK_USER } from "./layout.js";

/** The clock a ring stamps its records with. */
export type ClockKind = "mono" | "counter" | "none" | (() => number);

export function clockCode(kind: ClockKind): number {
  if (typeof kind === "function") return CLOCK_USER;
  switch (kind) {
    case "mono":
      return CLOCK_MONO;
    case "counter":
      return CLOCK_COUNTER;
    case "none":
      return CLOCK_NONE;
    default:
      throw new RangeError(
        `Cannot create ring: clock must be "mono", "counter", "none" or a function, received ${JSON.stringify(kind)}`,
      );
  }
}

type HrtimeBigint = () => bigint;

/**
 * Node's `process.hrtime.bigint` (CLOCK_MONOTONIC), without importing anything from Node. Undefined
 * elsewhere, including Deno and Bun, whose `process.hrtime` counts from each thread's start.
 */
export function findHrtime(): HrtimeBigint | undefined {
  const g = globalThis as { process?: { hrtime?: { bigint?: HrtimeBigint } }; Deno?: unknown; Bun?: unknown };
  if (g.Deno !== undefined || g.Bun !== undefined) return undefined;
  const proc = g.process;
  const fn = proc?.hrtime?.bigint;
  return typeof fn === "function" ? fn.bind(proc?.hrtime) : undefined;
}

/** CLOCK_MONOTONIC now, as [lo, hi] u32 words, or undefined where the runtime cannot read it. */
export function monotonicNowWords(): [number, number] | undefined {
  const hr = findHrtime();
  if (hr === undefined) return undefined;
  const t = hr();
  return [Number(t & 0xffffffffn), Number(t >> 32n)];
}

/**
 * Offset such that `floor(performance.now() * 1e6) + offset` is ring time in ns, calibrated against
 * CLOCK_MONOTONIC (`epochMono` = its reading at ring time 0). Takes the sample pair with the smallest
 * gap between the two performance.now() reads that bracket the hrtime read.
 */
export function calibrateMonotonic(epochMonoLo: number, epochMonoHi: number): number | undefined {
  const hr = findHrtime();
  if (hr === undefined) return undefined;
  const epoch = (BigInt(epochMonoHi >>> 0) << 32n) | BigInt(epochMonoLo >>> 0);
  let bestGap = Infinity;
  let bestOffset = 0;
  for (let i = 0; i < 25; i++) {
    const a = performance.now();
    const h = hr();
    const b = performance.now();
    const gap = b - a;
    if (gap < bestGap) {
      bestGap = gap;
      bestOffset = Number(h - epoch) - Math.floor(((a + b) / 2) * 1e6);
    }
  }
  return bestOffset;
}

/** Offset from `performance.timeOrigin` (used where CLOCK_MONOTONIC cannot be read). */
export function calibrateOrigin(epochOriginMs: number): number {
  return Math.round((performance.timeOrigin - epochOriginMs) * 1e6);
}

/**
 * The performance object, taken once: in Node 20 the global `performance` is an accessor on
 * globalThis with a receiver check, which made each clock read about 30 ns slower (measured in a
 * loop of reads; the http instrumentation profile showed it as a sixth of the clock's samples).
 */
const PERF: Performance = globalThis.performance;

/**
 * Reads ring time. One instance per attached ring and thread; `read(base)` is on the write path.
 * For the counter clock, `base` is the current page's base time and the 32-bit counter is unwrapped
 * against it.
 */
export class RingClock {
  readonly code: number;
  /** A user-clock ring attached without its clock function: it can be read, not written. */
  readonly userMissing: boolean;
  readonly #offsetNs: number;
  readonly #user: () => number;
  readonly #i32: Int32Array;
  readonly #f64: Float64Array;
  readonly #counterIndex: number;
  readonly #counterBaseIndex: number;

  constructor(
    code: number,
    offsetNs: number,
    user: (() => number) | undefined,
    i32: Int32Array,
    f64: Float64Array,
    counterIndex: number,
    counterBaseIndex: number,
  ) {
    this.code = code;
    this.#offsetNs = offsetNs;
    this.#user = user ?? zeroClock;
    this.userMissing = code === CLOCK_USER && user === undefined;
    this.#i32 = i32;
    this.#f64 = f64;
    this.#counterIndex = counterIndex;
    this.#counterBaseIndex = counterBaseIndex;
  }

  /** Ring time now. Allocates nothing. */
  read(base: number): number {
    switch (this.code) {
      case CLOCK_MONO:
        return Math.floor(PERF.now() * 1e6) + this.#offsetNs;
      case CLOCK_COUNTER: {
        // Take the next number of the ring-wide sequence; the add is the only ordering needed
        // (pairs with the other writers' Atomics.add on the same word).
        const c = (Atomics.add(this.#i32, this.#counterIndex, 1) + 1) >>> 0;
        return unwrap(c, this.#f64[this.#counterBaseIndex] ?? base);
      }
      case CLOCK_USER:
        return this.#user();
      default:
        return 0;
    }
  }

  /**
   * Ring time (ns) of a `performance.now()` reading `ms` taken in this thread (a PerformanceEntry's
   * startTime, an OpenTelemetry span's start): the offset {@link RingClock.read} adds, so events
   * timed by `performance.now()` land on the ring's timeline exactly. Mono clock only; NaN otherwise.
   */
  fromPerformanceNow(ms: number): number {
    return this.code === CLOCK_MONO ? Math.round(ms * 1e6) + this.#offsetNs : Number.NaN;
  }

  /** Ring time now without advancing the counter clock (for page base times). */
  peek(base: number): number {
    if (this.code === CLOCK_COUNTER) {
      // Read the sequence without taking a number; pairs with the writers' Atomics.add.
      const c = Atomics.load(this.#i32, this.#counterIndex) >>> 0;
      return unwrap(c, this.#f64[this.#counterBaseIndex] ?? base);
    }
    return this.read(base);
  }
}

/** The value nearest `ref` whose low 32 bits are `c` (valid within 2^31 of `ref`). */
function unwrap(c: number, ref: number): number {
  return ref + ((c - (ref >>> 0)) | 0);
}

function zeroClock(): number {
  return 0;
}

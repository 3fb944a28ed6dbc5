/**
 * What every Node integration writes through: one writer of this thread, the ring's clock, and a
 * guard that keeps instrumentation from ever throwing into the application. Node calls channel
 * subscribers synchronously inside its own code (an exception there would be re-thrown as an
 * uncaught exception on the next tick), so every handler runs under {@link Sink.guard}: errors are
 * counted and the last one is kept, nothing propagates.
 */
import { CLOCK_MONO } from "../layout.js";
import type { RingBuffer } from "../ring.js";
import type { RingWriter } from "../writer.js";

export class Sink {
  readonly ring: RingBuffer;
  /** Where events go; a later `instrument(ring, { writer })` of the same thread may redirect it (instrument.ts). */
  writer: RingWriter;
  errors = 0;
  lastError: unknown = undefined;
  closed = false;

  constructor(ring: RingBuffer, writer: RingWriter, what: string) {
    if (ring.geometry.clock !== CLOCK_MONO) {
      throw new RangeError(`Cannot ${what}: the ring's clock must be "mono" (its events carry start times and durations in ring nanoseconds), received clock code ${ring.geometry.clock}`);
    }
    this.ring = ring;
    this.writer = writer;
  }

  /** Ring time now (ns since ring creation). */
  now(): number {
    return this.ring.now();
  }

  /** A `performance.now()`-scale time (ms, e.g. a PerformanceEntry's startTime) as ring ns. */
  perfToRingNs(ms: number): number {
    return this.ring.clock.fromPerformanceNow(ms);
  }

  /** Count an error caught in a handler. */
  fail(e: unknown): void {
    this.errors++;
    this.lastError = e;
  }

  /**
   * `fn` (of up to 4 parameters) wrapped so that it does nothing once closed and never throws
   * (errors are counted). For handlers that run per connection or less often: every wrapper shares
   * one call site, which V8 cannot inline once it has seen several handlers, so the per-request
   * handlers (http, fetch) do the same inline instead.
   */
  guard<F extends (...args: never[]) => void>(fn: F): F {
    const call = fn as unknown as (a: unknown, b: unknown, c: unknown, d: unknown) => void;
    // Fixed parameters, not a rest array: no allocation per call on the request path.
    return ((a: unknown, b: unknown, c: unknown, d: unknown) => {
      if (this.closed) return;
      try {
        call(a, b, c, d);
      } catch (e) {
        this.fail(e);
      }
    }) as unknown as F;
  }
}

/** A string for a string field: values Node leaves undefined or null become "". */
export function str(v: unknown): string {
  return typeof v === "string" ? v : v == null ? "" : String(v);
}

/** An error's message, or "" for none. */
export function errorText(e: unknown): string {
  if (e == null) return "";
  if (e instanceof Error) return (e as { code?: unknown }).code !== undefined ? `${String((e as { code?: unknown }).code)}: ${e.message}` : e.message;
  return String(e);
}

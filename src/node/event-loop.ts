/**
 * Event-loop delay: `perf_hooks.monitorEventLoopDelay` runs a timer every `resolutionMs` and records
 * the time between its runs; every `intervalMs` the histogram becomes one event and is reset. The
 * histogram's values include the resolution itself (an idle loop reports about `resolutionMs`, as
 * seen on Node 20), so the event carries them minus the resolution, clamped at 0: the delay (min,
 * mean, p50, p99, max in ns) and the number of samples. The sampling timer is unref'd: it never keeps the
 * process alive. Closing writes the last, partial interval.
 */
import { monitorEventLoopDelay } from "node:perf_hooks";
import { defineEvent } from "../schema/index.js";
import { EVENT_LOOP_FIELDS, NODE_EVENTS } from "./events.js";
import type { Sink } from "./sink.js";

/** Options of the event-loop delay sampler. */
export interface EventLoopOptions {
  /** Length of one reported interval. Default 1000 ms. */
  intervalMs?: number;
  /** Resolution of the delay timer (monitorEventLoopDelay's `resolution`). Default 10 ms. */
  resolutionMs?: number;
}

/** Start sampling; returns the function that stops (after writing the last interval). */
export function sampleEventLoop(sink: Sink, options: EventLoopOptions): () => void {
  const intervalMs = options.intervalMs ?? 1000;
  const resolutionMs = options.resolutionMs ?? 10;
  if (!(intervalMs >= 1 && intervalMs <= 2 ** 31 - 1)) {
    throw new RangeError(`Cannot instrument the event loop: intervalMs must be from 1 to ${2 ** 31 - 1}, received ${intervalMs}`);
  }
  if (!(Number.isInteger(resolutionMs) && resolutionMs >= 1)) {
    throw new RangeError(`Cannot instrument the event loop: resolutionMs must be an integer >= 1, received ${resolutionMs}`);
  }
  const ev = defineEvent(sink.ring, NODE_EVENTS.eventLoop, EVENT_LOOP_FIELDS);
  const w = sink.writer;
  const resolutionNs = resolutionMs * 1e6;
  const h = monitorEventLoopDelay({ resolution: resolutionMs });
  h.enable();
  let from = sink.now();
  const sample = sink.guard(() => {
    const to = sink.now();
    if (h.count > 0) {
      const d = (v: number) => (v > resolutionNs ? v - resolutionNs : 0);
      ev.writeArgs(w, from, to - from, d(h.min), d(h.mean), d(h.percentile(50)), d(h.percentile(99)), d(h.max), h.count);
    }
    h.reset();
    from = to;
  });
  const timer = setInterval(() => sample(), intervalMs);
  timer.unref();
  return () => {
    clearInterval(timer);
    sample();
    h.disable();
  };
}

/**
 * Event-loop delay, sampled by a timer of our own: every `resolutionMs` a timer callback measures
 * how late it runs (the time since the previous run minus `resolutionMs`) and records it in a
 * `perf_hooks` histogram; the first run at or after `intervalMs` since the interval began records
 * its own delay, writes the interval as one event (min, mean, p50, p99, max in ns and the number
 * of samples) and resets the histogram.
 *
 * Why not `perf_hooks.monitorEventLoopDelay`: resetting its histogram also forgets its previous
 * tick (Node 20), so the delay that spans a reset is never recorded, and a long block ends exactly
 * when both our interval timer and its tick are due: the test of a 60 ms block lost it whenever
 * our reset ran first. Here the same callback records and resets, so nothing falls between
 * intervals. The timer is unref'd (it never keeps the process alive); at ~100 callbacks/s its cost
 * is negligible. Closing writes the last, partial interval.
 */
import { createHistogram } from "node:perf_hooks";
import { defineEvent } from "../schema/index.js";
import { EVENT_LOOP_FIELDS, NODE_EVENTS } from "./events.js";
import type { Sink } from "./sink.js";
import { checkOptions, optionKeys } from "../options.js";

/** Options of the event-loop delay sampler. */
export interface EventLoopOptions {
  /** Length of one reported interval. Default 1000 ms. */
  intervalMs?: number;
  /** Period of the sampling timer. Default 10 ms. */
  resolutionMs?: number;
}

/** Start sampling; returns the function that stops (after writing the last interval). */
export function sampleEventLoop(sink: Sink, options: EventLoopOptions): () => void {
  checkOptions("Cannot sample the event loop", options, EVENT_LOOP_OPTIONS_KEYS);
  const intervalMs = options.intervalMs ?? 1000;
  const resolutionMs = options.resolutionMs ?? 10;
  if (!(intervalMs >= 1 && intervalMs <= 2 ** 31 - 1)) {
    throw new RangeError(`Cannot instrument the event loop: intervalMs must be from 1 to ${2 ** 31 - 1}, received ${intervalMs}`);
  }
  if (!(Number.isInteger(resolutionMs) && resolutionMs >= 1)) {
    throw new RangeError(`Cannot instrument the event loop: resolutionMs must be an integer >= 1, received ${resolutionMs}`);
  }
  const ev = defineEvent(sink.ring, NODE_EVENTS.eventLoop, EVENT_LOOP_FIELDS);
  const h = createHistogram(); // records integers >= 1: a delay of 0 is recorded as 1 ns
  let from = sink.now();
  let prev = performance.now();
  const flush = sink.guard(() => {
    const to = sink.now();
    if (h.count > 0) {
      const ns = (v: number) => (v > 1 ? v : 0);
      ev.writeArgs(sink.writer, from, to - from, ns(h.min), ns(h.mean), ns(h.percentile(50)), ns(h.percentile(99)), ns(h.max), h.count);
    }
    h.reset();
    from = to;
  });
  const tick = sink.guard(() => {
    const now = performance.now();
    const delayNs = Math.round((now - prev - resolutionMs) * 1e6);
    prev = now;
    h.record(delayNs > 1 ? delayNs : 1);
    if (sink.now() - from >= intervalMs * 1e6) flush();
  });
  const timer = setInterval(tick, resolutionMs);
  timer.unref();
  return () => {
    clearInterval(timer);
    flush();
  };
}

const EVENT_LOOP_OPTIONS_KEYS = optionKeys<EventLoopOptions>({ intervalMs: true, resolutionMs: true });

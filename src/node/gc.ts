/**
 * Garbage collection pauses of this thread's heap, from a `PerformanceObserver` of `gc` entries.
 * Node delivers entries in batches after the fact, so the records are written a little later than
 * the pauses; `startNs` (from the entry's own start time) places them where they happened.
 */
import { PerformanceObserver, constants } from "node:perf_hooks";
import { defineEvent } from "../schema/index.js";
import { GC_FIELDS, GC_KINDS, NODE_EVENTS } from "./events.js";
import type { Sink } from "./sink.js";

/** Enum index (in GC_KINDS) of a NODE_PERFORMANCE_GC_* kind. */
function kindIndex(kind: unknown): number {
  switch (kind) {
    case constants.NODE_PERFORMANCE_GC_MINOR:
      return GC_KINDS.indexOf("minor");
    case constants.NODE_PERFORMANCE_GC_MAJOR:
      return GC_KINDS.indexOf("major");
    case constants.NODE_PERFORMANCE_GC_INCREMENTAL:
      return GC_KINDS.indexOf("incremental");
    case constants.NODE_PERFORMANCE_GC_WEAKCB:
      return GC_KINDS.indexOf("weakcb");
    default:
      return 0;
  }
}

/** Start observing; returns the function that stops. */
export function observeGc(sink: Sink): () => void {
  const ev = defineEvent(sink.ring, NODE_EVENTS.gc, GC_FIELDS);
  const write = sink.guard((e: PerformanceEntry) => {
    const detail = (e as { detail?: { kind?: unknown; flags?: unknown } }).detail;
    ev.writeArgs(sink.writer, sink.perfToRingNs(e.startTime), Math.round(e.duration * 1e6), kindIndex(detail?.kind), Number(detail?.flags) >>> 0);
  });
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) write(e);
  });
  observer.observe({ entryTypes: ["gc"] });
  return () => observer.disconnect();
}

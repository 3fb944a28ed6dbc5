/**
 * Export a trace to the Chrome Trace Event format (JSON object form), which Perfetto's UI,
 * chrome://tracing and Speedscope open. Streamed: one event is formatted and written at a time, so
 * memory does not grow with the trace.
 *
 * - pid 1 is the traced program; each lane is a thread, tid = lane + 1 (tid 0 is the idle thread
 *   to some tools), named by `thread_name` metadata and sorted by lane.
 * - `ts` and `dur` are microseconds since ring time 0 (ring ns / 1000, so ns precision survives as
 *   three decimals); `otherData.epochWallMs` is the wall-clock time of ts 0. A ring whose clock is
 *   not `mono` has one clock unit per µs.
 * - Shapes (shapes.ts, timeline.ts): complete `X` slices, `B`/`E` pairs, counters `C` (process-wide,
 *   named after the event), instants `i` with thread scope and the event's fields as `args`; lost
 *   records are instants named `lost` in category `urb.lost`, coloured `terrible` (red).
 */
import type { TraceFile } from "../tracefile/trace.js";
import { fieldsJson, jsonNumber } from "./fields.js";
import type { TextSink } from "./sink.js";
import { type BoundEvent, type InstantNote, type TimelineOptions, type TimelineSummary, walkTimeline } from "./timeline.js";

/** Options of {@link exportChrome}. */
export interface ChromeExportOptions extends TimelineOptions {
  /** The process name shown for pid 1. Default "urb trace". */
  processName?: string;
}

/** The pid of the traced program in the output. */
export const CHROME_PID = 1;

/** The tid of a lane (tid 0 is avoided). */
export function laneTid(lane: number): number {
  return lane + 1;
}

/** A lane's thread name: `lane 0`, `lane 4 (shared)`. */
export function laneName(trace: TraceFile, lane: number): string {
  return lane >= trace.geometry.ownLanes ? `lane ${lane} (shared)` : `lane ${lane}`;
}

/**
 * Write `trace` as Chrome Trace Event JSON into `out`. Returns what the pass saw.
 *
 * @example
 * ```ts
 * const out = new MemorySink();
 * exportChrome(openTraceFile("app.urb"), out, { processName: "my app" });
 * ```
 */
export function exportChrome(trace: TraceFile, out: TextSink, options: ChromeExportOptions = {}): TimelineSummary {
  const mono = trace.clock === "mono";
  // ns -> µs: three decimals keep every ns of an integer time. toFixed, not String(): see
  // fields.ts#numberText(). Other clocks: one unit per µs.
  const us = (ns: number): string => {
    if (!Number.isFinite(ns)) return "0";
    const v = mono ? ns / 1000 : ns;
    return Number.isInteger(ns) ? v.toFixed(mono ? 3 : 0) : v.toFixed(6);
  };
  const other = {
    source: "unified-ring-buffer",
    clock: trace.clock,
    ts: mono ? "microseconds since ring time 0" : `${trace.clock} clock units`,
    epochWallMs: trace.epochWallMs,
    epochWall: Number.isFinite(trace.epochWallMs) ? new Date(trace.epochWallMs).toISOString() : null,
    epochMonotonicNs: trace.epochMonotonicNs ?? null,
    lanes: trace.geometry.lanes,
    sharedLanes: trace.geometry.sharedLanes,
  };
  out.text(`{"displayTimeUnit":"ns","otherData":${JSON.stringify(other)},"traceEvents":[\n`);
  // Event names repeat: quote each once.
  const names = new Map<string, string>();
  const quoted = (name: string): string => {
    let q = names.get(name);
    if (q === undefined) {
      q = JSON.stringify(name);
      if (names.size < 65536) names.set(name, q);
    }
    return q;
  };
  const args = (ev: BoundEvent | undefined, extra: string): string => {
    const fields = ev === undefined ? "{}" : fieldsJson(ev.view, ev.schema);
    if (extra === "") return fields;
    return fields === "{}" ? `{${extra}}` : `{${extra},${fields.slice(1)}`;
  };

  out.text(`{"name":"process_name","ph":"M","pid":${CHROME_PID},"tid":0,"ts":0,"args":{"name":${JSON.stringify(options.processName ?? "urb trace")}}}`);
  // Thread metadata for a lane as its first event goes out: empty lanes make no empty threads.
  const named = new Uint8Array(trace.geometry.lanes);
  const head = (name: string, ph: string, lane: number, tsNs: number): string => {
    let s = "";
    if (named[lane] === 0) {
      named[lane] = 1;
      s = `,\n{"name":"thread_name","ph":"M","pid":${CHROME_PID},"tid":${laneTid(lane)},"ts":0,"args":{"name":${JSON.stringify(laneName(trace, lane))}}}` +
        `,\n{"name":"thread_sort_index","ph":"M","pid":${CHROME_PID},"tid":${laneTid(lane)},"ts":0,"args":{"sort_index":${lane}}}`;
    }
    return `${s},\n{"name":${quoted(name)},"ph":"${ph}","pid":${CHROME_PID},"tid":${laneTid(lane)},"ts":${us(tsNs)}`;
  };

  const summary = walkTimeline(
    trace,
    {
      slice(lane, startNs, durationNs, name, ev) {
        out.text(`${head(name, "X", lane, startNs)},"dur":${us(durationNs)},"cat":"urb","args":${args(ev, "")}}`);
      },
      begin(lane, timeNs, name, ev) {
        out.text(`${head(name, "B", lane, timeNs)},"cat":"urb","args":${args(ev, "")}}`);
      },
      end(lane, timeNs, name, _beginNs, ev) {
        out.text(`${head(name, "E", lane, timeNs)},"cat":"urb","args":${ev === undefined ? `{"unfinished":true}` : args(ev, "")}}`);
      },
      counter(lane, timeNs, name, field, value) {
        out.text(`${head(name, "C", lane, timeNs)},"cat":"urb","args":{${quoted(field)}:${jsonNumber(value)}}}`);
      },
      instant(lane, timeNs, name, ev, note: InstantNote) {
        let extra = note.unpaired ? `"unpaired":true` : "";
        if (note.raw !== undefined) extra = `"type":${note.raw.type},"bytes":${note.raw.length},"warning":${JSON.stringify(note.raw.warning)}`;
        out.text(`${head(name, "i", lane, timeNs)},"s":"t","cat":"urb","args":${args(ev, extra)}}`);
      },
      lost(lane, timeNs, count, cause) {
        out.text(`${head("lost", "i", lane, timeNs)},"s":"t","cat":"urb.lost","cname":"terrible","args":{"lost":${count === count ? count : `"unknown"`},"cause":${JSON.stringify(cause || "unknown")}}}`);
      },
    },
    options,
  );
  out.text("\n]}\n");
  return summary;
}

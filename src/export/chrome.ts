/**
 * Export a trace to the Chrome Trace Event format (JSON object form), which Perfetto's UI,
 * chrome://tracing and Speedscope open. Streamed: one event is formatted and written at a time, so
 * memory does not grow with the trace (only with its threads and async rows).
 *
 * - Processes and threads are the trace's (timeline.ts): pid = the process id, tid = the process id
 *   for the main thread (as the OS numbers it) and Node's threadId for a worker; records without a
 *   producer are threads tid = lane + 1 of pid 1 ("lane N"). `process_name`, `thread_name` and sort
 *   index metadata name and order them (written at the end, when every name is known).
 * - `ts` is microseconds since ring time 0 (ring ns / 1000, so ns precision survives as three
 *   decimals); `otherData.epochWallMs` is the wall-clock time of ts 0. A ring whose clock is not
 *   `mono` has one clock unit per µs.
 * - Synchronous slices (`_start`/`_end` pairs) are `B`/`E` on their thread: they nest by
 *   construction. Intervals (`durationNs`, placed at their `startNs`) are nestable async events
 *   `b`/`e` with `cat` = the event name and an `id` per async row (async-rows.ts): the intervals of
 *   one id never overlap. Counters are `C` (per process, named after the event), instants `i` with
 *   thread scope; names are labels (shapes.ts convention 5) and the fields are `args`. Lost records
 *   are instants named `lost` in category `urb.lost`, coloured `terrible` (red).
 */
import { AsyncRows } from "./async-rows.js";
import { fieldsJson, jsonNumber } from "./fields.js";
import type { TextSink } from "./sink.js";
import { type BoundEvent, type InstantNote, type TimelineOptions, type TimelineProcess, type TimelineSource, type TimelineSummary, type TimelineThread, walkTimeline } from "./timeline.js";

/** Options of {@link exportChrome}. */
export interface ChromeExportOptions extends TimelineOptions {
  /** The name of the process standing for lanes (records without a producer). Default "urb trace". */
  processName?: string;
}

/** The pid standing for lanes (records without a producer) in the output. */
export const CHROME_PID = 1;

/** The pid of a process in the outputs. */
export function pidOf(p: TimelineProcess): number {
  return p.pid === 0 ? CHROME_PID : p.pid;
}

/**
 * The tid of a thread in the outputs: the pid for a main thread (the OS numbers it so), Node's
 * threadId for a worker, lane + 1 for a lane (tid 0 is the idle thread to some tools), and for a
 * producer whose thread is unknown 0x7fff0000 + its index.
 */
export function tidOf(t: TimelineThread): number {
  if (t.lane >= 0) return t.lane + 1;
  if (t.threadId === 0) return t.process.pid;
  return t.threadId > 0 ? t.threadId : 0x7fff0000 + t.index;
}

/** Sort order of a thread within its process: main first, then by threadId; lanes by lane. */
export function threadSortIndex(t: TimelineThread): number {
  return t.lane >= 0 ? t.lane : t.threadId;
}

/** A time in ring clock units as output microseconds text (ns / 1000 with three decimals for `mono`). */
export function microseconds(mono: boolean): (ns: number) => string {
  // toFixed, not String(): see fields.ts#numberText().
  return (ns: number): string => {
    if (!Number.isFinite(ns)) return "0";
    const v = mono ? ns / 1000 : ns;
    return Number.isInteger(ns) ? v.toFixed(mono ? 3 : 0) : v.toFixed(6);
  };
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
export function exportChrome(trace: TimelineSource, out: TextSink, options: ChromeExportOptions = {}): TimelineSummary {
  const mono = trace.clock === "mono";
  const us = microseconds(mono);
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
  out.text(`{"displayTimeUnit":"ns","otherData":${JSON.stringify(other)},"traceEvents":[`);
  // Names repeat: quote each once (a bounded cache).
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
  let first = true;
  const head = (name: string, cat: string, ph: string, thread: TimelineThread, tsNs: number): string => {
    const s = `${first ? "\n" : ",\n"}{"name":${quoted(name)},"cat":${quoted(cat)},"ph":"${ph}","pid":${pidOf(thread.process)},"tid":${tidOf(thread)},"ts":${us(tsNs)}`;
    first = false;
    return s;
  };
  const catOf = (ev: BoundEvent | undefined): string => (ev === undefined ? "urb.raw" : ev.schema.name);
  const rows = new AsyncRows();

  const summary = walkTimeline(
    trace,
    {
      slice(thread, startNs, durationNs, name, ev) {
        const row = rows.place(thread, ev.schema.name, startNs, startNs + durationNs).row;
        const id = `"id":"0x${row.id.toString(16)}"`;
        out.text(`${head(name, ev.schema.name, "b", thread, startNs)},${id},"args":${args(ev, "")}}`);
        out.text(`${head(name, ev.schema.name, "e", thread, startNs + durationNs)},${id}}`);
      },
      begin(thread, timeNs, name, ev) {
        out.text(`${head(name, ev.schema.name, "B", thread, timeNs)},"args":${args(ev, "")}}`);
      },
      end(thread, timeNs, name, _beginNs, ev) {
        out.text(`${head(name, ev === undefined ? "urb" : ev.schema.name, "E", thread, timeNs)},"args":${ev === undefined ? `{"unfinished":true}` : args(ev, "")}}`);
      },
      counter(thread, timeNs, name, field, value) {
        out.text(`${head(name, name, "C", thread, timeNs)},"args":{${quoted(field)}:${jsonNumber(value)}}}`);
      },
      instant(thread, timeNs, name, ev, note: InstantNote) {
        let extra = note.unpaired ? `"unpaired":true` : "";
        if (note.raw !== undefined) extra = `"type":${note.raw.type},"bytes":${note.raw.length},"warning":${JSON.stringify(note.raw.warning)}`;
        out.text(`${head(name, catOf(ev), "i", thread, timeNs)},"s":"t","args":${args(ev, extra)}}`);
      },
      lost(thread, timeNs, count, cause) {
        out.text(`${head("lost", "urb.lost", "i", thread, timeNs)},"s":"t","cname":"terrible","args":{"lost":${count === count ? count : `"unknown"`},"cause":${JSON.stringify(cause || "unknown")}}}`);
      },
    },
    options,
  );
  // Names and order of every process and thread that has events (names may come late: convention 6).
  const meta = (name: string, pid: number, tid: number, arg: string): void => {
    out.text(`${first ? "\n" : ",\n"}{"name":"${name}","ph":"M","pid":${pid},"tid":${tid},"ts":0,"args":${arg}}`);
    first = false;
  };
  for (const p of summary.processes) {
    meta("process_name", pidOf(p), 0, `{"name":${JSON.stringify(p.name)}}`);
    meta("process_sort_index", pidOf(p), 0, `{"sort_index":${pidOf(p)}}`);
  }
  for (const t of summary.threads) {
    meta("thread_name", pidOf(t.process), tidOf(t), `{"name":${JSON.stringify(t.name)}}`);
    meta("thread_sort_index", pidOf(t.process), tidOf(t), `{"sort_index":${threadSortIndex(t)}}`);
  }
  out.text("\n]}\n");
  return summary;
}

/**
 * Export a trace as Perfetto's protobuf trace: a stream of `TracePacket`s (each one field 1 of the
 * `Trace` message), using only the stable TrackEvent API: `TrackDescriptor`s and `TrackEvent`s
 * (slice begin/end, instant, counter) with debug annotations for the fields. Written with the
 * hand-made {@link ProtoWriter}, one packet at a time.
 *
 * Tracks (described as their first event goes out): a process track per process (pid, name), a
 * thread track per thread under it (pid, tid, name: the same ids as the Chrome export), an async
 * track per async row (async-rows.ts: the intervals of one track never overlap) named
 * `kind (thread)`, the first of a (thread, kind) under the process and the others under that first
 * one, as Perfetto's docs model overlapping work (its UI draws them as one track), and a counter
 * track per (process, counter event) under the process. Synchronous `_start`/`_end` slices and
 * instants go on the thread track, intervals on their async track.
 *
 * Field numbers are those of perfetto's protos (protos/perfetto/trace/trace_packet.proto,
 * track_event/track_event.proto, track_descriptor.proto, process_descriptor.proto,
 * thread_descriptor.proto, debug_annotation.proto); the tests decode the output by them.
 *
 * Timestamps are ring ns (the packet's default clock); slices whose start would be negative start
 * at 0. Intervals are written at their end record (a BEGIN earlier than the packets before it): the
 * trace processor sorts packets by time.
 */
import type { EventView } from "../schema/codec.js";
import type { EventSchema } from "../schema/types.js";
import { hex } from "./fields.js";
import { AsyncRows, type AsyncRow } from "./async-rows.js";
import { pidOf, tidOf } from "./chrome.js";
import { ProtoWriter } from "./protobuf.js";
import type { ByteSink } from "./sink.js";
import { type BoundEvent, type TimelineOptions, type TimelineProcess, type TimelineSource, type TimelineSummary, type TimelineThread, walkTimeline } from "./timeline.js";

/** Field numbers (perfetto.protos). */
export const PF = {
  /** Trace.packet */
  TRACE_PACKET: 1,
  PACKET_TIMESTAMP: 8,
  PACKET_TRACK_EVENT: 11,
  PACKET_TRACK_DESCRIPTOR: 60,
  PACKET_SEQUENCE_ID: 10,
  PACKET_SEQUENCE_FLAGS: 13,
  SEQ_INCREMENTAL_STATE_CLEARED: 1,
  TD_UUID: 1,
  TD_NAME: 2,
  TD_PROCESS: 3,
  TD_THREAD: 4,
  TD_PARENT_UUID: 5,
  TD_COUNTER: 8,
  PROCESS_PID: 1,
  PROCESS_NAME: 6,
  THREAD_PID: 1,
  THREAD_TID: 2,
  THREAD_NAME: 5,
  TE_DEBUG_ANNOTATIONS: 4,
  TE_TYPE: 9,
  TE_TRACK_UUID: 11,
  TE_CATEGORIES: 22,
  TE_NAME: 23,
  TE_COUNTER_VALUE_DOUBLE: 44,
  TYPE_SLICE_BEGIN: 1,
  TYPE_SLICE_END: 2,
  TYPE_INSTANT: 3,
  TYPE_COUNTER: 4,
  DA_BOOL: 2,
  DA_UINT: 3,
  DA_INT: 4,
  DA_DOUBLE: 5,
  DA_STRING: 6,
  DA_NAME: 10,
} as const;

/** Track uuids: processes, threads, async rows and counters by their index (first appearance). */
export const processUuid = (p: TimelineProcess): number => 1 + p.index;
export const threadUuid = (t: TimelineThread): number => 0x100000 + t.index;
export const asyncUuid = (row: AsyncRow): number => 0x10000000 + row.id;
const COUNTER_UUID_BASE = 0x40000000;
/** Packet sequence of every packet (one writer). */
const SEQUENCE_ID = 1;

/** Options of {@link exportPerfetto}. */
export interface PerfettoExportOptions extends TimelineOptions {
  /** The name of the process standing for lanes (records without a producer). Default "urb trace". */
  processName?: string;
}

/**
 * Write `trace` as a Perfetto protobuf trace into `out`.
 *
 * @example
 * ```ts
 * const out = new MemorySink();
 * exportPerfetto(openTraceFile("app.urb"), out);
 * writeFileSync("app.pftrace", out.toBytes());
 * ```
 */
export function exportPerfetto(trace: TimelineSource, out: ByteSink, options: PerfettoExportOptions = {}): TimelineSummary {
  const w = new ProtoWriter();
  const mono = trace.clock === "mono";
  // Non-mono clocks: one unit per µs, as in the Chrome export.
  const ns = (t: number): number => Math.max(0, Math.round(mono ? t : t * 1000));
  const flush = (): void => {
    out.bytes(w.view());
    w.reset();
  };
  let firstPacket = true;
  const packet = (timeNs: number | undefined): void => {
    w.begin(PF.TRACE_PACKET);
    if (timeNs !== undefined) w.uint(PF.PACKET_TIMESTAMP, timeNs);
    w.uint(PF.PACKET_SEQUENCE_ID, SEQUENCE_ID);
    if (firstPacket) w.uint(PF.PACKET_SEQUENCE_FLAGS, PF.SEQ_INCREMENTAL_STATE_CLEARED);
    firstPacket = false;
  };
  /** A track descriptor packet: `body` writes the descriptor's fields after its uuid. */
  const describe = (uuid: number, parent: number | undefined, body: () => void): void => {
    packet(undefined);
    w.begin(PF.PACKET_TRACK_DESCRIPTOR);
    w.uint(PF.TD_UUID, uuid);
    if (parent !== undefined) w.uint(PF.TD_PARENT_UUID, parent);
    body();
    w.end();
    w.end();
    flush();
  };

  // Tracks are described as their first event goes out: empty lanes and threads make no tracks.
  /** The processes described, with the name they were described with. */
  const processes = new Map<TimelineProcess, string>();
  const describeProcess = (p: TimelineProcess): void => {
    processes.set(p, p.name);
    describe(processUuid(p), undefined, () => {
      w.begin(PF.TD_PROCESS);
      w.int(PF.PROCESS_PID, pidOf(p));
      w.string(PF.PROCESS_NAME, p.name);
      w.end();
    });
  };
  const processTrack = (p: TimelineProcess): number => {
    if (!processes.has(p)) describeProcess(p);
    return processUuid(p);
  };
  const threads = new Set<TimelineThread>();
  const threadTrack = (t: TimelineThread): number => {
    const uuid = threadUuid(t);
    if (threads.has(t)) return uuid;
    const parent = processTrack(t.process);
    threads.add(t);
    describe(uuid, parent, () => {
      w.begin(PF.TD_THREAD);
      w.int(PF.THREAD_PID, pidOf(t.process));
      w.int(PF.THREAD_TID, tidOf(t));
      w.string(PF.THREAD_NAME, t.name);
      w.end();
    });
    return uuid;
  };
  const rows = new AsyncRows();
  const asyncTrack = (t: TimelineThread, kind: string, start: number, end: number): number => {
    const placed = rows.place(t, kind, start, end);
    const row = placed.row;
    if (placed.fresh) {
      // As Perfetto's docs model overlapping work: the first row of a (thread, kind) under the
      // process, the others under the first with the same name (the UI shows them as one track).
      threadTrack(t);
      const parent = row.head === undefined ? processTrack(t.process) : asyncUuid(row.head);
      describe(asyncUuid(row), parent, () => w.string(PF.TD_NAME, `${row.kind} (${t.name})`));
    }
    return asyncUuid(row);
  };
  const counters = new Map<TimelineProcess, Map<string, number>>();
  let counterCount = 0;
  const counterTrack = (p: TimelineProcess, name: string): number => {
    let byName = counters.get(p);
    if (byName === undefined) counters.set(p, (byName = new Map()));
    let uuid = byName.get(name);
    if (uuid !== undefined) return uuid;
    uuid = COUNTER_UUID_BASE + counterCount++;
    byName.set(name, uuid);
    const parent = processTrack(p);
    describe(uuid, parent, () => {
      w.string(PF.TD_NAME, name);
      w.begin(PF.TD_COUNTER);
      w.end();
    });
    return uuid;
  };
  const event = (timeNs: number, type: number, track: number, name: string | undefined, category: string): void => {
    packet(ns(timeNs));
    w.begin(PF.PACKET_TRACK_EVENT);
    w.uint(PF.TE_TYPE, type);
    w.uint(PF.TE_TRACK_UUID, track);
    if (name !== undefined) {
      w.string(PF.TE_CATEGORIES, category);
      w.string(PF.TE_NAME, name);
    }
  };
  const done = (): void => {
    w.end(); // track_event
    w.end(); // packet
    flush();
  };
  const annotations = (ev: BoundEvent | undefined): void => {
    if (ev !== undefined) writeFields(w, ev.view, ev.schema);
  };
  const annotation = (name: string, value: string | number | boolean): void => {
    w.begin(PF.TE_DEBUG_ANNOTATIONS);
    w.string(PF.DA_NAME, name);
    if (typeof value === "string") w.string(PF.DA_STRING, value);
    else if (typeof value === "boolean") w.bool(PF.DA_BOOL, value);
    else if (Number.isSafeInteger(value)) w.int(PF.DA_INT, value);
    else w.double(PF.DA_DOUBLE, value);
    w.end();
  };

  const summary = walkTimeline(
    trace,
    {
      slice(thread, startNs, durationNs, name, ev) {
        // Placed by the times as written (ns() rounds): a row's strict gaps hold for the ns too.
        const track = asyncTrack(thread, ev.schema.name, ns(startNs), ns(startNs + durationNs));
        event(startNs, PF.TYPE_SLICE_BEGIN, track, name, ev.schema.name);
        annotations(ev);
        done();
        event(startNs + durationNs, PF.TYPE_SLICE_END, track, undefined, "");
        done();
      },
      begin(thread, timeNs, name, ev) {
        event(timeNs, PF.TYPE_SLICE_BEGIN, threadTrack(thread), name, ev.schema.name);
        annotations(ev);
        done();
      },
      end(thread, timeNs, _name, _beginNs, ev) {
        event(timeNs, PF.TYPE_SLICE_END, threadTrack(thread), undefined, "");
        if (ev === undefined) annotation("unfinished", true);
        else annotations(ev);
        done();
      },
      counter(thread, timeNs, name, _field, value) {
        const track = counterTrack(thread.process, name);
        event(timeNs, PF.TYPE_COUNTER, track, undefined, "");
        w.double(PF.TE_COUNTER_VALUE_DOUBLE, value);
        done();
      },
      instant(thread, timeNs, name, ev, note) {
        event(timeNs, PF.TYPE_INSTANT, threadTrack(thread), name, ev === undefined ? "urb.raw" : ev.schema.name);
        if (note.unpaired) annotation("unpaired", true);
        if (note.raw !== undefined) {
          annotation("type", note.raw.type);
          annotation("bytes", note.raw.length);
          annotation("warning", note.raw.warning);
        }
        annotations(ev);
        done();
      },
      lost(thread, timeNs, count, cause) {
        event(timeNs, PF.TYPE_INSTANT, threadTrack(thread), "lost", "urb.lost");
        annotation("lost", count === count ? count : "unknown");
        annotation("cause", cause || "unknown");
        done();
      },
    },
    options,
  );
  // A named process that wrote nothing (timeline.ts#addSilentProcesses) is a process track alone.
  for (const p of summary.processes) if (!processes.has(p)) describeProcess(p);
  // A process named after its first event (convention 6) is described again with its name: the
  // trace processor takes the latest descriptor of a track.
  for (const [p, name] of processes) if (p.name !== name) describeProcess(p);
  return summary;
}

/** The fields of a bound event as debug annotations (64-bit integers exact, bytes as hex). */
function writeFields(w: ProtoWriter, view: EventView, s: EventSchema): void {
  for (let i = 0; i < s.fields.length; i++) {
    const f = s.fields[i] as { name: string; type: string };
    w.begin(PF.TE_DEBUG_ANNOTATIONS);
    w.string(PF.DA_NAME, f.name);
    switch (f.type) {
      case "u64": w.bigUint(PF.DA_UINT, view.bigint(i)); break;
      case "i64": w.bigUint(PF.DA_INT, view.bigint(i)); break;
      case "f32":
      case "f64": w.double(PF.DA_DOUBLE, view.number(i)); break;
      case "bool": w.bool(PF.DA_BOOL, view.bool(i)); break;
      case "enum":
      case "string": w.string(PF.DA_STRING, view.string(i)); break;
      case "array":
      case "bytes": w.string(PF.DA_STRING, hex(view.bytesOf(i))); break;
      default: w.int(PF.DA_INT, view.number(i));
    }
    w.end();
  }
}

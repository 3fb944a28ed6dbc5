/**
 * Export a trace as Perfetto's protobuf trace: a stream of `TracePacket`s (each one field 1 of the
 * `Trace` message), using only the stable TrackEvent API: `TrackDescriptor` (a process, one thread
 * track per lane, counter tracks) and `TrackEvent` (slice begin/end, instant, counter) with debug
 * annotations for the fields. Written with the hand-made {@link ProtoWriter}, one packet at a time.
 *
 * Field numbers are those of perfetto's protos (protos/perfetto/trace/trace_packet.proto,
 * track_event/track_event.proto, track_descriptor.proto, process_descriptor.proto,
 * thread_descriptor.proto, debug_annotation.proto); the tests decode the output by them.
 *
 * Timestamps are ring ns (the packet's default clock); slices whose start would be negative start at 0.
 * Complete slices (`durationNs`) become a BEGIN and an END packet; the trace processor sorts packets
 * by time, so a BEGIN earlier than the packets before it is fine.
 */
import type { TraceFile } from "../tracefile/trace.js";
import type { EventView } from "../schema/codec.js";
import type { EventSchema } from "../schema/types.js";
import { hex } from "./fields.js";
import { CHROME_PID, laneName, laneTid } from "./chrome.js";
import { ProtoWriter } from "./protobuf.js";
import type { ByteSink } from "./sink.js";
import { type BoundEvent, type TimelineOptions, type TimelineSummary, walkTimeline } from "./timeline.js";

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

/** Track uuids: the process, each lane's thread, counters (by first appearance). */
export const PROCESS_UUID = 1;
export const laneUuid = (lane: number): number => 0x1000 + lane;
const COUNTER_UUID_BASE = 0x100000;
/** Packet sequence of every packet (one writer). */
const SEQUENCE_ID = 1;

/** Options of {@link exportPerfetto}. */
export interface PerfettoExportOptions extends TimelineOptions {
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
export function exportPerfetto(trace: TraceFile, out: ByteSink, options: PerfettoExportOptions = {}): TimelineSummary {
  const w = new ProtoWriter();
  const mono = trace.clock === "mono";
  // Non-mono clocks: one unit per µs, as in the Chrome export.
  const ns = (t: number): number => Math.max(0, Math.round(mono ? t : t * 1000));
  const flush = (): void => {
    out.bytes(w.view());
    w.reset();
  };
  const packet = (timeNs: number | undefined, flags = 0): void => {
    w.begin(PF.TRACE_PACKET);
    if (timeNs !== undefined) w.uint(PF.PACKET_TIMESTAMP, timeNs);
    w.uint(PF.PACKET_SEQUENCE_ID, SEQUENCE_ID);
    if (flags !== 0) w.uint(PF.PACKET_SEQUENCE_FLAGS, flags);
  };

  packet(undefined, PF.SEQ_INCREMENTAL_STATE_CLEARED);
  w.begin(PF.PACKET_TRACK_DESCRIPTOR);
  w.uint(PF.TD_UUID, PROCESS_UUID);
  w.begin(PF.TD_PROCESS);
  w.int(PF.PROCESS_PID, CHROME_PID);
  w.string(PF.PROCESS_NAME, options.processName ?? "urb trace");
  w.end();
  w.end();
  w.end();
  flush();

  // A lane's thread track is described as its first event goes out: empty lanes make no tracks.
  const described = new Uint8Array(trace.geometry.lanes);
  const laneTrack = (lane: number): number => {
    if (described[lane] === 1) return laneUuid(lane);
    described[lane] = 1;
    packet(undefined);
    w.begin(PF.PACKET_TRACK_DESCRIPTOR);
    w.uint(PF.TD_UUID, laneUuid(lane));
    w.uint(PF.TD_PARENT_UUID, PROCESS_UUID);
    w.begin(PF.TD_THREAD);
    w.int(PF.THREAD_PID, CHROME_PID);
    w.int(PF.THREAD_TID, laneTid(lane));
    w.string(PF.THREAD_NAME, laneName(trace, lane));
    w.end();
    w.end();
    w.end();
    return laneUuid(lane);
  };

  const counters = new Map<string, number>();
  const counterTrack = (name: string): number => {
    let uuid = counters.get(name);
    if (uuid !== undefined) return uuid;
    uuid = COUNTER_UUID_BASE + counters.size;
    counters.set(name, uuid);
    packet(undefined);
    w.begin(PF.PACKET_TRACK_DESCRIPTOR);
    w.uint(PF.TD_UUID, uuid);
    w.uint(PF.TD_PARENT_UUID, PROCESS_UUID);
    w.string(PF.TD_NAME, name);
    w.begin(PF.TD_COUNTER);
    w.end();
    w.end();
    w.end();
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

  return walkTimeline(
    trace,
    {
      slice(lane, startNs, durationNs, name, ev) {
        event(startNs, PF.TYPE_SLICE_BEGIN, laneTrack(lane), name, "urb");
        annotations(ev);
        done();
        event(startNs + durationNs, PF.TYPE_SLICE_END, laneTrack(lane), undefined, "");
        done();
      },
      begin(lane, timeNs, name, ev) {
        event(timeNs, PF.TYPE_SLICE_BEGIN, laneTrack(lane), name, "urb");
        annotations(ev);
        done();
      },
      end(lane, timeNs, _name, _beginNs, ev) {
        event(timeNs, PF.TYPE_SLICE_END, laneTrack(lane), undefined, "");
        if (ev === undefined) annotation("unfinished", true);
        else annotations(ev);
        done();
      },
      counter(_lane, timeNs, name, _field, value) {
        const track = counterTrack(name);
        event(timeNs, PF.TYPE_COUNTER, track, undefined, "");
        w.double(PF.TE_COUNTER_VALUE_DOUBLE, value);
        done();
      },
      instant(lane, timeNs, name, ev, note) {
        event(timeNs, PF.TYPE_INSTANT, laneTrack(lane), name, "urb");
        if (note.unpaired) annotation("unpaired", true);
        if (note.raw !== undefined) {
          annotation("type", note.raw.type);
          annotation("bytes", note.raw.length);
          annotation("warning", note.raw.warning);
        }
        annotations(ev);
        done();
      },
      lost(lane, timeNs, count, cause) {
        event(timeNs, PF.TYPE_INSTANT, laneTrack(lane), "lost", "urb.lost");
        annotation("lost", count === count ? count : "unknown");
        annotation("cause", cause || "unknown");
        done();
      },
    },
    options,
  );
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

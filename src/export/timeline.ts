/**
 * One pass over a trace that turns records into timeline events by the conventions of
 * shapes.ts: complete slices, begin/end pairs matched per lane, counters, instants and loss
 * markers. The exporters (Chrome JSON, Perfetto protobuf, the HTML view) render what it reports;
 * the pairing rules live here once.
 *
 * Pairing: each lane (one writing thread) keeps a stack of open `<base>_start` slices. An
 * `<base>_end` closes the innermost open slice when its base matches; otherwise (its start was lost
 * or is not the innermost: overlapping asynchronous work, for which `durationNs` is the convention)
 * it is reported as an *unpaired* instant, so begin/end always nest. Slices still open at the end
 * are closed at the trace's last timestamp, flagged *unfinished*.
 *
 * Memory: the open stacks (bounded by nesting depth, at most {@link MAX_OPEN_PER_LANE} per lane)
 * and the reader's one chunk per lane.
 */
import type { RingRecord } from "../reader.js";
import type { EventView } from "../schema/codec.js";
import type { EventSchema } from "../schema/types.js";
import type { TraceFile, TraceReadOptions } from "../tracefile/trace.js";
import { ShapeCache } from "./shapes.js";

/** Open begin slices kept per lane; a deeper begin becomes an unpaired instant. */
export const MAX_OPEN_PER_LANE = 1024;

/** A decoded event's schema and its view (bound to the record until the visitor returns). */
export interface BoundEvent {
  readonly schema: EventSchema;
  readonly view: EventView;
}

/** What a timeline pass reports, in time order of the records (a slice's start may be earlier). */
export interface TimelineVisitor {
  /** A complete slice `[startNs, startNs + durationNs]` (convention 1), reported at its end record. */
  slice(lane: number, startNs: number, durationNs: number, name: string, ev: BoundEvent): void;
  /** A `<base>_start` opened slice `name` on `lane`. */
  begin(lane: number, timeNs: number, name: string, ev: BoundEvent): void;
  /** The innermost open slice of `lane` closed (`ev` undefined when closed at the end of the trace: unfinished). */
  end(lane: number, timeNs: number, name: string, beginNs: number, ev: BoundEvent | undefined): void;
  /** A counter sample (convention 3). */
  counter(lane: number, timeNs: number, name: string, field: string, value: number): void;
  /** Anything else. `ev` is undefined for a raw record (no schema, or one its payload does not fit). */
  instant(lane: number, timeNs: number, name: string, ev: BoundEvent | undefined, note: InstantNote): void;
  /** Records lost at this point of `lane` (`count` NaN when unknown). */
  lost(lane: number, timeNs: number, count: number, cause: string): void;
}

/** Why an instant is one, beyond its shape. */
export interface InstantNote {
  /** An `_end` that closed nothing. */
  unpaired: boolean;
  /** A raw record: its type, payload length, and why it was not decoded. */
  raw: { type: number; length: number; warning: string } | undefined;
}

/** Options of {@link walkTimeline}. */
export interface TimelineOptions extends TraceReadOptions {
  /** Only data records of these types (and loss markers when {@link lost} is not false). Default: all. */
  types?: ReadonlySet<number> | undefined;
  /** Report loss markers. Default true. */
  lost?: boolean;
  /** Called every {@link PROGRESS_EVERY} records with the count so far. */
  onProgress?: (records: number) => void;
}

export const PROGRESS_EVERY = 1 << 16;

/** What a pass saw. */
export interface TimelineSummary {
  records: number;
  lost: number;
  /** Timestamp of the last record (NaN when none). */
  lastNs: number;
  unpaired: number;
  unfinished: number;
}

interface OpenSlice {
  name: string;
  beginNs: number;
}

/**
 * Walk `trace` once, reporting timeline events to `visitor`.
 *
 * @example
 * ```ts
 * walkTimeline(trace, { ...visitor, slice: (lane, start, dur, name) => console.log(lane, name, start, dur) });
 * ```
 */
export function walkTimeline(trace: TraceFile, visitor: TimelineVisitor, options: TimelineOptions = {}): TimelineSummary {
  const registry = trace.registry;
  const shapes = new ShapeCache();
  const open: OpenSlice[][] = Array.from({ length: trace.geometry.lanes }, () => []);
  const summary: TimelineSummary = { records: 0, lost: 0, lastNs: Number.NaN, unpaired: 0, unfinished: 0 };
  const note: InstantNote = { unpaired: false, raw: undefined };
  const rawNote = { type: 0, length: 0, warning: "" };
  const bound = { schema: undefined as unknown as EventSchema, view: undefined as unknown as EventView };
  const onProgress = options.onProgress;
  const types = options.types;
  const withLost = options.lost !== false;
  const readOptions: TraceReadOptions = {};
  if (options.lanes !== undefined) readOptions.lanes = options.lanes;
  if (options.from !== undefined) readOptions.from = options.from;
  if (options.to !== undefined) readOptions.to = options.to;

  const visit = (r: RingRecord): void => {
    const n = ++summary.records;
    if (onProgress !== undefined && (n & (PROGRESS_EVERY - 1)) === 0) onProgress(n);
    const t = r.timestamp;
    summary.lastNs = t;
    if (r.kind === "lost") {
      if (!withLost) return;
      if (r.lost === r.lost) summary.lost += r.lost;
      visitor.lost(r.lane, t, r.lost, r.cause);
      return;
    }
    if (types !== undefined && !types.has(r.type)) return;
    const v = registry === undefined ? "no schemas in the file" : registry.view(r);
    note.unpaired = false;
    if (typeof v === "string") {
      rawNote.type = r.type;
      rawNote.length = r.length;
      rawNote.warning = v;
      note.raw = rawNote;
      visitor.instant(r.lane, t, `type ${r.type}`, undefined, note);
      return;
    }
    note.raw = undefined;
    const s = v.schema as EventSchema;
    bound.schema = s;
    bound.view = v;
    const shape = shapes.get(s);
    switch (shape.kind) {
      case "duration": {
        const d = Math.max(0, v.number(shape.field));
        visitor.slice(r.lane, t - d, d, s.name, bound);
        return;
      }
      case "begin": {
        const stack = open[r.lane] as OpenSlice[];
        if (stack.length < MAX_OPEN_PER_LANE) {
          stack.push({ name: shape.base, beginNs: t });
          visitor.begin(r.lane, t, shape.base, bound);
          return;
        }
        break;
      }
      case "end": {
        const stack = open[r.lane] as OpenSlice[];
        const top = stack[stack.length - 1];
        if (top !== undefined && top.name === shape.base) {
          stack.pop();
          visitor.end(r.lane, t, top.name, top.beginNs, bound);
          return;
        }
        note.unpaired = true;
        summary.unpaired++;
        break;
      }
      case "counter":
        visitor.counter(r.lane, t, s.name, (s.fields[shape.field] as { name: string }).name, v.number(shape.field));
        return;
      case "instant":
        break;
    }
    visitor.instant(r.lane, t, s.name, bound, note);
  };
  trace.read(visit, readOptions);

  for (let lane = 0; lane < open.length; lane++) {
    const stack = open[lane] as OpenSlice[];
    for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
      summary.unfinished++;
      visitor.end(lane, summary.lastNs, top.name, top.beginNs, undefined);
    }
  }
  return summary;
}

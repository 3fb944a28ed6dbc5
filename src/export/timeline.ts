/**
 * One pass over a trace that turns records into timeline events by the conventions of shapes.ts:
 * intervals (asynchronous), begin/end pairs (synchronous, matched per thread), counters, instants
 * and loss markers, each on the thread that wrote it. The exporters (Chrome JSON, Perfetto
 * protobuf, the HTML view) render what it reports; the rules live here once.
 *
 * Threads: a record whose producer is known (`pid` set: docs/FORMAT.md) belongs to the thread
 * (pid, threadId), whatever lane it was written on, named by its `threadName`, in the process
 * `pid` (named by the ring's process entry for the pid, docs/FORMAT.md 12.6, or a `process_name`
 * event; else "pid N"). A record without a producer (a trace
 * written before producer identity, a loss marker nobody claimed) belongs to its lane, shown as a
 * thread "lane N" of a process standing for the lanes. Records of one thread arrive in time order.
 *
 * Pairing: each thread keeps a stack of open `<base>_start` slices. An `<base>_end` closes the
 * innermost open slice when its base matches; otherwise (its start was lost or is not the
 * innermost) it is reported as an *unpaired* instant, so begin/end always nest. Slices still open
 * at the end are closed at the trace's last timestamp, flagged *unfinished*.
 *
 * Memory: one entry per thread (open stacks bounded by {@link MAX_OPEN_PER_THREAD}) and the
 * reader's one chunk per lane.
 */
import type { RingRecord } from "../reader.js";
import type { EventView } from "../schema/codec.js";
import type { EventSchema } from "../schema/types.js";
import type { TraceFile, TraceReadOptions } from "../tracefile/trace.js";
import { PROCESS_NAME_EVENT, ShapeCache } from "./shapes.js";

/** Open begin slices kept per thread; a deeper begin becomes an unpaired instant. */
export const MAX_OPEN_PER_THREAD = 1024;

/** What a timeline pass needs of a trace (a {@link TraceFile}, or a stand-in that supplies records). */
export type TimelineSource = Pick<TraceFile, "registry" | "geometry" | "clock" | "epochWallMs" | "epochMonotonicNs" | "read">;

/** A decoded event's schema and its view (bound to the record until the visitor returns). */
export interface BoundEvent {
  readonly schema: EventSchema;
  readonly view: EventView;
}

/** A process of the timeline: a real one (`pid` > 0) or the stand-in for records without a producer. */
export interface TimelineProcess {
  /** 0, 1, 2... in order of appearance. */
  readonly index: number;
  /** The process id; 0 for the lanes' stand-in. */
  readonly pid: number;
  /** The name of its process entry or `process_name` event, else "pid N"; the lanes' stand-in: the trace's name. */
  name: string;
}

/** A thread of the timeline: one row in every output. */
export interface TimelineThread {
  /** 0, 1, 2... in order of appearance. */
  readonly index: number;
  readonly process: TimelineProcess;
  /** Node's threadId (0: main, -1: unknown) for a producer; -1 for a lane. */
  readonly threadId: number;
  /** The lane of a thread standing for a lane (records without a producer); -1 for a producer. */
  readonly lane: number;
  /** The thread's name ("main", a worker's name), "thread N" when it has none; "lane N" for a lane. */
  name: string;
}

/** What a timeline pass reports, in time order of the records (an interval's start may be earlier). */
export interface TimelineVisitor {
  /** An interval `[startNs, startNs + durationNs]` (convention 1: asynchronous), reported at its record. `name` is its label. */
  slice(thread: TimelineThread, startNs: number, durationNs: number, name: string, ev: BoundEvent): void;
  /** A `<base>_start` opened slice `name` on `thread`. */
  begin(thread: TimelineThread, timeNs: number, name: string, ev: BoundEvent): void;
  /** The innermost open slice of `thread` closed (`ev` undefined when closed at the end of the trace: unfinished). */
  end(thread: TimelineThread, timeNs: number, name: string, beginNs: number, ev: BoundEvent | undefined): void;
  /** A counter sample (convention 3). */
  counter(thread: TimelineThread, timeNs: number, name: string, field: string, value: number): void;
  /** Anything else, named by its label. `ev` is undefined for a raw record (no schema, or one its payload does not fit). */
  instant(thread: TimelineThread, timeNs: number, name: string, ev: BoundEvent | undefined, note: InstantNote): void;
  /** Records lost at this point of `thread` (`count` NaN when unknown). */
  lost(thread: TimelineThread, timeNs: number, count: number, cause: string): void;
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
  /** The name of the process standing for lanes (records without a producer). Default "urb trace". */
  processName?: string;
  /**
   * Name intervals and instants by their labels (shapes.ts convention 5). Default true; false
   * passes the event's name, for a visitor that makes the labels it keeps itself ({@link ShapeCache.label}).
   */
  labels?: boolean;
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
  /** The processes and threads that have records, in order of appearance; then the named processes that have none ({@link ThreadTable.addSilentProcesses}). */
  processes: TimelineProcess[];
  threads: TimelineThread[];
}

interface OpenSlice {
  name: string;
  beginNs: number;
}

/** A thread's state in the pass. */
interface ThreadState extends TimelineThread {
  readonly open: OpenSlice[];
}

/**
 * Who wrote each record: the threads and processes of a trace, made as records name them.
 *
 * @example
 * ```ts
 * const threads = new ThreadTable(trace.geometry.ownLanes, "app.urb");
 * trace.read((r) => console.log(threads.of(r).name));
 * ```
 */
export class ThreadTable {
  readonly processes: TimelineProcess[] = [];
  readonly threads: ThreadState[] = [];
  readonly #byPid = new Map<number, { process: TimelineProcess; threads: Map<number, ThreadState> }>();
  readonly #byLane: (ThreadState | undefined)[] = [];
  readonly #ownLanes: number;
  readonly #lanesName: string;
  readonly #processNames: ReadonlyMap<number, string> | undefined;
  #lanes: TimelineProcess | undefined;
  #last: ThreadState | undefined;

  /** `processNames`: the names of the ring's process entries (`registry.processNames()`). */
  constructor(ownLanes: number, lanesName: string, processNames?: ReadonlyMap<number, string>) {
    this.#ownLanes = ownLanes;
    this.#lanesName = lanesName;
    this.#processNames = processNames;
  }

  /** The thread of record `r` (made on first sight). */
  of(r: RingRecord): ThreadState {
    const last = this.#last;
    // Not `=== 0`: a record object of an older reader has no pid at all.
    if (!(r.pid > 0)) {
      const t = this.#byLane[r.lane] ?? this.#laneThread(r.lane);
      this.#last = t;
      return t;
    }
    if (last !== undefined && last.process.pid === r.pid && last.threadId === r.threadId && last.lane < 0) {
      if (last.name === "" && r.threadName !== "") last.name = r.threadName;
      return last;
    }
    let p = this.#byPid.get(r.pid);
    if (p === undefined) {
      p = { process: { index: this.processes.length, pid: r.pid, name: this.#processNames?.get(r.pid) ?? `pid ${r.pid}` }, threads: new Map() };
      this.processes.push(p.process);
      this.#byPid.set(r.pid, p);
    }
    let t = p.threads.get(r.threadId);
    if (t === undefined) {
      const name = r.threadName !== "" ? r.threadName : r.threadId === 0 ? "main" : r.threadId < 0 ? "thread ?" : `thread ${r.threadId}`;
      t = { index: this.threads.length, process: p.process, threadId: r.threadId, lane: -1, name, open: [] };
      this.threads.push(t);
      p.threads.set(r.threadId, t);
    } else if (r.threadName !== "" && t.name !== r.threadName) {
      t.name = r.threadName;
    }
    this.#last = t;
    return t;
  }

  /**
   * Add the processes the ring names (process entries, docs/FORMAT.md 12.6) that wrote no record
   * (a process of the tree that ended, or was cut off, before its first event): every output then
   * shows them, as a named process with no thread in it, rather than hiding that they ran.
   */
  addSilentProcesses(): void {
    if (this.#processNames === undefined) return;
    for (const [pid, name] of this.#processNames) {
      if (this.#byPid.has(pid) || !(pid > 0)) continue;
      const process: TimelineProcess = { index: this.processes.length, pid, name };
      this.processes.push(process);
      this.#byPid.set(pid, { process, threads: new Map() });
    }
  }

  #laneThread(lane: number): ThreadState {
    if (this.#lanes === undefined) {
      this.#lanes = { index: this.processes.length, pid: 0, name: this.#lanesName };
      this.processes.push(this.#lanes);
    }
    const t: ThreadState = { index: this.threads.length, process: this.#lanes, threadId: -1, lane, name: laneName(this.#ownLanes, lane), open: [] };
    this.threads.push(t);
    this.#byLane[lane] = t;
    return t;
  }
}

/** The process names of a trace's metadata; none when it has no metadata or its entries do not parse (the schemas' warning says so). */
function processNamesOf(registry: TimelineSource["registry"]): ReadonlyMap<number, string> | undefined {
  try {
    return registry?.processNames();
  } catch {
    return undefined;
  }
}

/** A lane's thread name: `lane 0`, `lane 4 (shared)`. */
export function laneName(ownLanes: number, lane: number): string {
  return lane >= ownLanes ? `lane ${lane} (shared)` : `lane ${lane}`;
}

/**
 * Walk `trace` once, reporting timeline events to `visitor`.
 *
 * @example
 * ```ts
 * walkTimeline(trace, { ...visitor, slice: (thread, start, dur, name) => console.log(thread.name, name, start, dur) });
 * ```
 */
export function walkTimeline(trace: TimelineSource, visitor: TimelineVisitor, options: TimelineOptions = {}): TimelineSummary {
  const registry = trace.registry;
  const shapes = new ShapeCache();
  const table = new ThreadTable(trace.geometry.ownLanes, options.processName ?? "urb trace", processNamesOf(registry));
  const summary: TimelineSummary = { records: 0, lost: 0, lastNs: Number.NaN, unpaired: 0, unfinished: 0, processes: table.processes, threads: table.threads };
  const note: InstantNote = { unpaired: false, raw: undefined };
  const rawNote = { type: 0, length: 0, warning: "" };
  const bound = { schema: undefined as unknown as EventSchema, view: undefined as unknown as EventView };
  const onProgress = options.onProgress;
  const types = options.types;
  const withLost = options.lost !== false;
  const labels = options.labels !== false;
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
      visitor.lost(table.of(r), t, r.lost, r.cause);
      return;
    }
    if (types !== undefined && !types.has(r.type)) return;
    const thread = table.of(r);
    const v = registry === undefined ? "no schemas in the file" : registry.view(r);
    note.unpaired = false;
    if (typeof v === "string") {
      rawNote.type = r.type;
      rawNote.length = r.length;
      rawNote.warning = v;
      note.raw = rawNote;
      visitor.instant(thread, t, `type ${r.type}`, undefined, note);
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
        const start = shape.start >= 0 ? v.number(shape.start) : Number.NaN;
        // A start that is not a finite time (or a non-finite duration) falls back to [t - d, t].
        visitor.slice(thread, Number.isFinite(start) ? start : t - d, Number.isFinite(d) ? d : 0, labels ? shapes.label(s, v) : s.name, bound);
        return;
      }
      case "begin": {
        const stack = thread.open;
        if (stack.length < MAX_OPEN_PER_THREAD) {
          stack.push({ name: shape.base, beginNs: t });
          visitor.begin(thread, t, shape.base, bound);
          return;
        }
        break;
      }
      case "end": {
        const stack = thread.open;
        const top = stack[stack.length - 1];
        if (top !== undefined && top.name === shape.base) {
          stack.pop();
          visitor.end(thread, t, top.name, top.beginNs, bound);
          return;
        }
        note.unpaired = true;
        summary.unpaired++;
        break;
      }
      case "counter": {
        const value = v.number(shape.field);
        // A counter track plots numbers: an infinite sample (or NaN) has no place on it, and Chrome's
        // JSON cannot even carry it as a number. It becomes an instant with its fields, not lost.
        if (!Number.isFinite(value)) break;
        visitor.counter(thread, t, s.name, (s.fields[shape.field] as { name: string }).name, value);
        return;
      }
      case "instant":
        if (s.name === PROCESS_NAME_EVENT && thread.process.pid !== 0) {
          const i = v.index("name");
          if (i >= 0 && s.fields[i]?.type === "string" && v.string(i) !== "") thread.process.name = v.string(i);
        }
        break;
    }
    visitor.instant(thread, t, note.unpaired || !labels ? s.name : shapes.label(s, v), bound, note);
  };
  trace.read(visit, readOptions);
  table.addSilentProcesses();

  for (const thread of table.threads) {
    const stack = thread.open;
    for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
      summary.unfinished++;
      visitor.end(thread, summary.lastNs, top.name, top.beginNs, undefined);
    }
  }
  return summary;
}

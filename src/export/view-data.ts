/**
 * What the HTML timeline (`urb view`) shows, gathered in one streaming pass over a trace with
 * bounded memory, whatever the trace's size:
 *
 * - rows: one per thread (timeline.ts: a producer's (pid, threadId), or a lane when records do not
 *   say who wrote them), grouped by process, each followed by its async rows (async-rows.ts: its
 *   intervals, one row per event kind and concurrent operation). Synchronous `_start`/`_end` slices,
 *   instants, counter samples and loss markers are on the thread's row.
 * - events: each row's events (start, duration, type, label, details), kept whole up to
 *   {@link MAX_VIEW_EVENTS}. Past that, every row keeps one event in `stride` (its 0th, stride-th,
 *   2*stride-th, ...), the stride doubling each time the budget is exceeded, so the sample stays
 *   uniform in each row; the page says "1 in N shown". Labels and details (all fields, as JSON) are
 *   strings in one table, kept while it holds less than {@link MAX_VIEW_TEXT} characters.
 * - bins: exact counts per event type and per row over {@link VIEW_BINS} equal time bins spanning
 *   the trace (the bin width doubles, merging pairs, as the trace grows), so rates and the density
 *   strip under each row are exact even when events are sampled.
 * - loss markers: every one, up to {@link MAX_VIEW_LOST}, and exact lost counts in the bins.
 *
 * Times are ns from the first record (`originNs`), rounded to whole ns, delta-encoded per row.
 */
import { type AsyncRow, AsyncRows, asyncRowName } from "./async-rows.js";
import { pidOf, threadSortIndex, tidOf } from "./chrome.js";
import { fieldsJson } from "./fields.js";
import { ShapeCache } from "./shapes.js";
import { type BoundEvent, type TimelineOptions, type TimelineSource, type TimelineThread, walkTimeline } from "./timeline.js";

export const MAX_VIEW_EVENTS = 200_000;
export const MAX_VIEW_LOST = 20_000;
export const VIEW_BINS = 1000;
/** Characters of labels and details the page embeds; past that, events show their type and times only. */
export const MAX_VIEW_TEXT = 16_000_000;
const FIRST_BIN_NS = 1;

/** The data embedded in the page (JSON). */
export interface ViewData {
  readonly title: string;
  readonly clock: string;
  readonly epochWallMs: number;
  /** Ring time of the first record; every time below is relative to it. */
  readonly originNs: number;
  /** Last record time minus originNs. */
  readonly spanNs: number;
  readonly records: number;
  readonly lostTotal: number;
  /** Keep one event in `stride` per row (1: every event is in the rows). */
  readonly stride: number;
  /** The processes, in the order their rows are shown. */
  readonly processes: readonly ViewProcess[];
  /** Rows, grouped by process (in the order of `processes`); each thread's async rows follow it. */
  readonly rows: readonly ViewRow[];
  readonly types: readonly ViewType[];
  /** Labels and details of events (indices in a row's `l` and `a`). */
  readonly strings: readonly string[];
  /** Details were left out past {@link MAX_VIEW_TEXT} characters. */
  readonly textCut: boolean;
  readonly binNs: number;
  /** Per type index: counts per bin. */
  readonly typeBins: readonly number[][];
  /** Per row (index in `rows`): records per bin, and records lost per bin. */
  readonly rowBins: readonly number[][];
  readonly lostBins: readonly number[][];
  /** Loss markers (the first MAX_VIEW_LOST). */
  readonly lost: readonly ViewLost[];
}

export interface ViewProcess {
  /** The process id (the lanes' stand-in for records without a producer: 1, as in the exports). */
  readonly pid: number;
  readonly name: string;
}

export interface ViewRow {
  /** Index in `processes`. */
  readonly process: number;
  /** `thread`: a thread's own row; `async`: one of its async rows (just after it). */
  readonly kind: "thread" | "async";
  /** The thread's name; an async row: its event kind (`node.http.server 2`). */
  readonly name: string;
  /** The thread's tid (as in the exports); async rows: their thread's. */
  readonly tid: number;
  /** The lane of a row standing for a lane (records without a producer), else -1. */
  readonly lane: number;
  readonly records: number;
  readonly lost: number;
  /** Delta-encoded start times (ns from origin), durations (ns, 0 for instants), type indices; sorted by start. */
  readonly t: readonly number[];
  readonly d: readonly number[];
  readonly k: readonly number[];
  /** Per event: its label and its details (a JSON object of its fields) as indices in `strings`, -1 when none. */
  readonly l: readonly number[];
  readonly a: readonly number[];
}

export interface ViewType {
  readonly name: string;
  /** slice (`_start`/`_end` pairs), interval (durationNs), counter, instant, raw. */
  readonly shape: "slice" | "interval" | "counter" | "instant" | "raw";
  count: number;
}

export interface ViewLost {
  /** Index in `rows`. */
  readonly row: number;
  readonly t: number;
  readonly n: number;
}

/** Options of {@link buildViewData}. */
export interface ViewDataOptions extends TimelineOptions {
  title?: string;
  /** Override {@link MAX_VIEW_EVENTS} (tests). */
  maxEvents?: number;
  /** Override {@link MAX_VIEW_TEXT} (tests). */
  maxText?: number;
}

interface RowAcc {
  readonly thread: TimelineThread;
  readonly async: AsyncRow | undefined;
  seq: number;
  s: number[]; // sequence numbers of kept events (for thinning)
  t: number[];
  d: number[];
  k: number[];
  l: number[];
  a: number[];
  records: number;
  lost: number;
  bins: number[];
  lostBins: number[];
}

/**
 * Gather the view data of `trace` in one pass.
 *
 * @example
 * ```ts
 * const data = buildViewData(openTraceFile("app.urb"), { title: "app.urb" });
 * console.log(data.stride, data.rows.map((r) => r.name));
 * ```
 */
export function buildViewData(trace: TimelineSource, options: ViewDataOptions = {}): ViewData {
  const maxEvents = options.maxEvents ?? MAX_VIEW_EVENTS;
  const maxText = options.maxText ?? MAX_VIEW_TEXT;
  const threadRows = new Map<TimelineThread, RowAcc>();
  const asyncRows = new Map<AsyncRow, RowAcc>();
  const placer = new AsyncRows();
  const types: ViewType[] = [];
  const typeIndex = new Map<ViewType["shape"], Map<string, number>>();
  const typeBins: number[][] = [];
  const lost: { row: RowAcc; t: number; n: number }[] = [];
  const strings: string[] = [];
  const stringIndex = new Map<string, number>();
  let textChars = 0;
  let textCut = false;
  /** Per thread: the details of its open `_start` slices (an `_end` shows both). */
  const openDetails = new Map<TimelineThread, string[]>();
  let origin = Number.NaN;
  let last = Number.NaN;
  let binNs = FIRST_BIN_NS;
  let stride = 1;
  let kept = 0;
  let records = 0;
  let lostTotal = 0;

  const newRow = (thread: TimelineThread, async: AsyncRow | undefined): RowAcc => ({
    thread, async, seq: 0, s: [], t: [], d: [], k: [], l: [], a: [], records: 0, lost: 0, bins: new Array<number>(VIEW_BINS).fill(0), lostBins: new Array<number>(VIEW_BINS).fill(0),
  });
  const rowOf = (thread: TimelineThread): RowAcc => {
    let r = threadRows.get(thread);
    if (r === undefined) threadRows.set(thread, (r = newRow(thread, undefined)));
    return r;
  };
  const allRows = (): RowAcc[] => [...threadRows.values(), ...asyncRows.values()];
  /** A string's index in the table; labels (`shared`: they repeat) once each, details (mostly unique) as they come. */
  const text = (s: string, shared: boolean): number => {
    let i = shared ? stringIndex.get(s) : undefined;
    if (i !== undefined) return i;
    if (textChars + s.length > maxText) {
      textCut = true;
      return -1;
    }
    i = strings.length;
    strings.push(s);
    if (shared) stringIndex.set(s, i);
    textChars += s.length;
    return i;
  };
  const details = (ev: BoundEvent | undefined): string => (ev === undefined ? "{}" : fieldsJson(ev.view, ev.schema));
  const typeOf = (name: string, shape: ViewType["shape"]): number => {
    let byName = typeIndex.get(shape);
    if (byName === undefined) typeIndex.set(shape, (byName = new Map()));
    let i = byName.get(name);
    if (i === undefined) {
      i = types.length;
      byName.set(name, i);
      types.push({ name, shape, count: 0 });
      typeBins.push(new Array<number>(VIEW_BINS).fill(0));
    }
    return i;
  };
  /** The bin of record time t, merging bins pairwise until it fits. */
  const binOf = (t: number): number => {
    if (origin !== origin) origin = t;
    last = t;
    let b = Math.floor((t - origin) / binNs);
    while (b >= VIEW_BINS) {
      for (const bins of typeBins) mergePairs(bins);
      for (const a of allRows()) {
        mergePairs(a.bins);
        mergePairs(a.lostBins);
      }
      binNs *= 2;
      b = Math.floor((t - origin) / binNs);
    }
    return Math.max(0, b);
  };
  const thin = (): void => {
    stride *= 2;
    kept = 0;
    for (const a of allRows()) {
      let j = 0;
      for (let i = 0; i < a.s.length; i++) {
        if ((a.s[i] as number) % stride !== 0) continue;
        a.s[j] = a.s[i] as number;
        a.t[j] = a.t[i] as number;
        a.d[j] = a.d[i] as number;
        a.k[j] = a.k[i] as number;
        a.l[j] = a.l[i] as number;
        a.a[j] = a.a[i] as number;
        j++;
      }
      a.s.length = a.t.length = a.d.length = a.k.length = a.l.length = a.a.length = j;
      kept += j;
    }
    compactText();
  };
  /** Keep only the strings that kept events use (after thinning), so the text budget counts those. */
  const compactText = (): void => {
    const old = strings.splice(0);
    const shared = new Set(stringIndex.values());
    stringIndex.clear();
    textChars = 0;
    const moved = new Map<number, number>();
    const move = (i: number): number => {
      if (i < 0) return -1;
      let j = moved.get(i);
      if (j === undefined) {
        j = strings.length;
        const str = old[i] as string;
        strings.push(str);
        if (shared.has(i)) stringIndex.set(str, j);
        textChars += str.length;
        moved.set(i, j);
      }
      return j;
    };
    for (const a of allRows()) {
      for (let i = 0; i < a.l.length; i++) {
        a.l[i] = move(a.l[i] as number);
        a.a[i] = move(a.a[i] as number);
      }
    }
  };
  /** Count a record of row `a` at time `at`; returns its bin. */
  const count = (a: RowAcc, at: number): number => {
    const b = binOf(at);
    records++;
    a.records++;
    a.bins[b] = (a.bins[b] as number) + 1;
    return b;
  };
  /**
   * Count the record of an event at time `at` (none for a slice closed at the end of the trace:
   * `at` undefined), and take the event (start, duration, type) if the sample keeps it: then the
   * caller gives its label and details to {@link keep} (made only for the events kept).
   */
  const take = (a: RowAcc, at: number | undefined, start: number, dur: number, k: number): boolean => {
    if (at !== undefined) {
      const b = count(a, at);
      const tb = typeBins[k] as number[];
      tb[b] = (tb[b] as number) + 1;
      (types[k] as ViewType).count++;
    }
    const seq = a.seq++;
    if (seq % stride !== 0) return false;
    a.s.push(seq);
    a.t.push(start);
    a.d.push(dur);
    a.k.push(k);
    return true;
  };
  const keep = (a: RowAcc, label: string, about: string): void => {
    a.l.push(text(label, true));
    a.a.push(textCut ? -1 : text(about, false));
    if (++kept > maxEvents) thin();
  };

  const shapes = new ShapeCache();
  const summary = walkTimeline(
    trace,
    {
      slice: (thread, start, dur, _name, ev) => {
        rowOf(thread); // the thread's row comes before its async rows
        const row = placer.place(thread, ev.schema.name, start, start + dur).row;
        let a = asyncRows.get(row);
        if (a === undefined) asyncRows.set(row, (a = newRow(thread, row)));
        if (take(a, start + dur, start, dur, typeOf(ev.schema.name, "interval"))) keep(a, shapes.label(ev.schema, ev.view), details(ev));
      },
      begin: (thread, t, _name, ev) => {
        count(rowOf(thread), t); // drawn when it ends, as a slice
        let open = openDetails.get(thread);
        if (open === undefined) openDetails.set(thread, (open = []));
        // Its fields are shown with its end's; once events are sampled, only the end's (which
        // slices are kept is known at their end: computing every start's would cost every record).
        open.push(textCut || stride > 1 ? "" : details(ev));
      },
      end: (thread, t, name, beginNs, ev) => {
        const started = openDetails.get(thread)?.pop() || `"not kept (sampled)"`;
        const a = rowOf(thread);
        if (take(a, ev === undefined ? undefined : t, beginNs, t - beginNs, typeOf(name, "slice"))) keep(a, name, `{"start":${started},"end":${ev === undefined ? `{"unfinished":true}` : details(ev)}}`);
      },
      counter: (thread, t, name, field, value) => {
        const a = rowOf(thread);
        if (take(a, t, t, 0, typeOf(name, "counter"))) keep(a, name, JSON.stringify({ [field]: value }));
      },
      instant: (thread, t, name, ev, note) => {
        const a = rowOf(thread);
        if (!take(a, t, t, 0, typeOf(ev === undefined ? name : ev.schema.name, note.raw !== undefined ? "raw" : "instant"))) return;
        if (ev === undefined) keep(a, name, JSON.stringify(note.raw === undefined ? {} : { type: note.raw.type, bytes: note.raw.length, warning: note.raw.warning }));
        else if (note.unpaired) {
          const fields = details(ev);
          keep(a, name, `{"unpaired":true${fields === "{}" ? "" : `,${fields.slice(1)}`}`);
        } else keep(a, shapes.label(ev.schema, ev.view), details(ev));
      },
      lost: (thread, t, lostCount) => {
        const a = rowOf(thread);
        const n = lostCount === lostCount ? lostCount : 0;
        const b = binOf(t);
        a.lost += n;
        lostTotal += n;
        a.lostBins[b] = (a.lostBins[b] as number) + n;
        if (lost.length < MAX_VIEW_LOST) lost.push({ row: a, t, n });
      },
    },
    { ...options, labels: false },
  );

  const o = origin === origin ? origin : 0;
  // Rows in order: by pid (the lanes' stand-in first), its threads (main first), each followed by its async rows.
  const byThread = new Map<TimelineThread, RowAcc[]>();
  for (const a of asyncRows.values()) {
    let list = byThread.get(a.thread);
    if (list === undefined) byThread.set(a.thread, (list = []));
    list.push(a);
  }
  const threads = [...threadRows.keys()].sort((x, y) => x.process.pid - y.process.pid || threadSortIndex(x) - threadSortIndex(y) || x.index - y.index);
  const processes: ViewProcess[] = [];
  const processIndex = new Map<number, number>();
  const ordered: RowAcc[] = [];
  // Named processes without rows (timeline.ts#addSilentProcesses): a header alone, in pid order.
  const withRows = new Set(threads.map((th) => th.process));
  const silent = summary.processes.filter((p) => !withRows.has(p)).sort((x, y) => x.pid - y.pid);
  let nextSilent = 0;
  const silentUpTo = (pid: number): void => {
    for (let p = silent[nextSilent]; p !== undefined && p.pid < pid; p = silent[++nextSilent]) processes.push({ pid: pidOf(p), name: p.name });
  };
  for (const th of threads) {
    if (!processIndex.has(th.process.index)) {
      silentUpTo(th.process.pid);
      processIndex.set(th.process.index, processes.length);
      processes.push({ pid: pidOf(th.process), name: th.process.name });
    }
    ordered.push(threadRows.get(th) as RowAcc);
    const list = (byThread.get(th) ?? []).sort((x, y) => ((x.async as AsyncRow).kind < (y.async as AsyncRow).kind ? -1 : (x.async as AsyncRow).kind > (y.async as AsyncRow).kind ? 1 : (x.async as AsyncRow).n - (y.async as AsyncRow).n));
    ordered.push(...list);
  }
  silentUpTo(Infinity);
  // Only the strings that kept events use, renumbered.
  const used = new Map<number, number>();
  const keptStrings: string[] = [];
  const remap = (i: number): number => {
    if (i < 0) return -1;
    let j = used.get(i);
    if (j === undefined) {
      j = keptStrings.length;
      keptStrings.push(strings[i] as string);
      used.set(i, j);
    }
    return j;
  };
  const rows: ViewRow[] = [];
  const rowIndex = new Map<RowAcc, number>();
  for (const a of ordered) {
    // Slices are reported at their end: sort each row by start before delta-encoding.
    const order = a.t.map((_, i) => i).sort((x, y) => (a.t[x] as number) - (a.t[y] as number));
    const t: number[] = [];
    const d: number[] = [];
    const k: number[] = [];
    const l: number[] = [];
    const about: number[] = [];
    let prev = 0;
    for (const i of order) {
      const rel = Math.round((a.t[i] as number) - o);
      t.push(rel - prev);
      prev = rel;
      d.push(Math.round(a.d[i] as number));
      k.push(a.k[i] as number);
      l.push(remap(a.l[i] as number));
      about.push(remap(a.a[i] as number));
    }
    rowIndex.set(a, rows.length);
    rows.push({
      process: processIndex.get(a.thread.process.index) as number,
      kind: a.async === undefined ? "thread" : "async",
      name: a.async === undefined ? a.thread.name : asyncRowName(a.async),
      tid: tidOf(a.thread),
      lane: a.thread.lane,
      records: a.records,
      lost: a.lost,
      t,
      d,
      k,
      l,
      a: about,
    });
  }
  return {
    title: options.title ?? "urb trace",
    clock: trace.clock,
    epochWallMs: trace.epochWallMs,
    originNs: o,
    spanNs: last === last ? last - o : 0,
    records,
    lostTotal,
    stride,
    processes,
    rows,
    types,
    strings: keptStrings,
    textCut,
    binNs,
    typeBins,
    rowBins: ordered.map((a) => a.bins),
    lostBins: ordered.map((a) => a.lostBins),
    lost: lost.map((x) => ({ row: rowIndex.get(x.row) as number, t: Math.round(x.t - o), n: x.n })),
  };
}

function mergePairs(bins: number[]): void {
  const n = bins.length;
  for (let i = 0; i < n / 2; i++) bins[i] = (bins[2 * i] as number) + (bins[2 * i + 1] as number);
  for (let i = n / 2; i < n; i++) bins[i] = 0;
}

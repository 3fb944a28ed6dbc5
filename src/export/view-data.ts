/**
 * What the HTML timeline (`urb view`) shows, gathered in one streaming pass over a trace with
 * bounded memory, whatever the trace's size:
 *
 * - events: each lane's events (time, duration, type), kept whole up to {@link MAX_VIEW_EVENTS}.
 *   Past that, every lane keeps one event in `stride` (its 0th, stride-th, 2*stride-th, ...) and
 *   the stride doubles each time the budget is exceeded, so the sample stays uniform in each lane;
 *   the page says "1 in N shown".
 * - bins: exact counts per event type and per lane over {@link VIEW_BINS} equal time bins spanning
 *   the trace (the bin width doubles, merging pairs, as the trace grows), so rates and the density
 *   strip under each lane are exact even when events are sampled.
 * - loss markers: every one, up to {@link MAX_VIEW_LOST}, and exact lost counts in the bins.
 *
 * Times are ns from the first record (`originNs`), rounded to whole ns, delta-encoded per lane.
 */
import type { TraceFile } from "../tracefile/trace.js";
import { laneName } from "./chrome.js";
import { type TimelineOptions, walkTimeline } from "./timeline.js";

export const MAX_VIEW_EVENTS = 200_000;
export const MAX_VIEW_LOST = 20_000;
export const VIEW_BINS = 1000;
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
  /** Keep one event in `stride` per lane (1: every event is in `events`). */
  readonly stride: number;
  readonly lanes: readonly ViewLane[];
  readonly types: readonly ViewType[];
  readonly binNs: number;
  /** Per type index: counts per bin. */
  readonly typeBins: readonly number[][];
  /** Per lane (index in `lanes`): records per bin, and records lost per bin. */
  readonly laneBins: readonly number[][];
  readonly lostBins: readonly number[][];
  /** Loss markers (the first MAX_VIEW_LOST). */
  readonly lost: readonly ViewLost[];
}

export interface ViewLane {
  readonly lane: number;
  readonly name: string;
  readonly records: number;
  readonly lost: number;
  /** Delta-encoded start times (ns from origin), durations (ns, 0 for instants), type indices; sorted by start. */
  readonly t: readonly number[];
  readonly d: readonly number[];
  readonly k: readonly number[];
}

export interface ViewType {
  readonly name: string;
  /** slice (durationNs or _start/_end pairs), counter, instant, raw. */
  readonly shape: "slice" | "counter" | "instant" | "raw";
  count: number;
}

export interface ViewLost {
  readonly lane: number;
  readonly t: number;
  readonly n: number;
}

/** Options of {@link buildViewData}. */
export interface ViewDataOptions extends TimelineOptions {
  title?: string;
  /** Override {@link MAX_VIEW_EVENTS} (tests). */
  maxEvents?: number;
}

interface LaneAcc {
  seq: number;
  s: number[]; // sequence numbers of kept events (for thinning)
  t: number[];
  d: number[];
  k: number[];
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
 * console.log(data.stride, data.lanes.length);
 * ```
 */
export function buildViewData(trace: TraceFile, options: ViewDataOptions = {}): ViewData {
  const maxEvents = options.maxEvents ?? MAX_VIEW_EVENTS;
  const laneIds = options.lanes ?? Array.from({ length: trace.geometry.lanes }, (_, i) => i);
  const acc = new Map<number, LaneAcc>();
  for (const lane of laneIds) acc.set(lane, { seq: 0, s: [], t: [], d: [], k: [], records: 0, lost: 0, bins: new Array<number>(VIEW_BINS).fill(0), lostBins: new Array<number>(VIEW_BINS).fill(0) });
  const types: ViewType[] = [];
  const typeIndex = new Map<string, number>();
  const typeBins: number[][] = [];
  const lost: ViewLost[] = [];
  let origin = Number.NaN;
  let last = Number.NaN;
  let binNs = FIRST_BIN_NS;
  let stride = 1;
  let kept = 0;
  let records = 0;
  let lostTotal = 0;

  const typeOf = (name: string, shape: ViewType["shape"]): number => {
    const key = `${shape}:${name}`;
    let i = typeIndex.get(key);
    if (i === undefined) {
      i = types.length;
      typeIndex.set(key, i);
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
      for (const a of acc.values()) {
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
    for (const a of acc.values()) {
      let j = 0;
      for (let i = 0; i < a.s.length; i++) {
        if ((a.s[i] as number) % stride !== 0) continue;
        a.s[j] = a.s[i] as number;
        a.t[j] = a.t[i] as number;
        a.d[j] = a.d[i] as number;
        a.k[j] = a.k[i] as number;
        j++;
      }
      a.s.length = a.t.length = a.d.length = a.k.length = j;
      kept += j;
    }
  };
  /** Count a record of `lane` at time `at`; returns its bin, or -1 for a lane not shown. */
  const count = (lane: number, at: number): number => {
    const a = acc.get(lane);
    if (a === undefined) return -1;
    const b = binOf(at);
    records++;
    a.records++;
    a.bins[b] = (a.bins[b] as number) + 1;
    return b;
  };
  /**
   * Count the record of an event at time `at` (none for a slice closed at the end of the trace:
   * `at` undefined), and keep the event (start, duration) if the sample takes it.
   */
  const add = (lane: number, at: number | undefined, start: number, dur: number, k: number): void => {
    const a = acc.get(lane);
    if (a === undefined) return;
    if (at !== undefined) {
      const b = count(lane, at);
      const tb = typeBins[k] as number[];
      tb[b] = (tb[b] as number) + 1;
      (types[k] as ViewType).count++;
    }
    const seq = a.seq++;
    if (seq % stride !== 0) return;
    a.s.push(seq);
    a.t.push(start);
    a.d.push(dur);
    a.k.push(k);
    if (++kept > maxEvents) thin();
  };

  walkTimeline(
    trace,
    {
      slice: (lane, start, dur, name) => add(lane, start + dur, start, dur, typeOf(name, "slice")),
      begin: (lane, t) => void count(lane, t), // drawn when it ends, as a slice
      end: (lane, t, name, beginNs, ev) => add(lane, ev === undefined ? undefined : t, beginNs, t - beginNs, typeOf(name, "slice")),
      counter: (lane, t, name) => add(lane, t, t, 0, typeOf(name, "counter")),
      instant: (lane, t, name, _ev, note) => add(lane, t, t, 0, typeOf(name, note.raw !== undefined ? "raw" : "instant")),
      lost: (lane, t, lostCount) => {
        const a = acc.get(lane);
        if (a === undefined) return;
        const n = lostCount === lostCount ? lostCount : 0;
        const b = binOf(t);
        a.lost += n;
        lostTotal += n;
        a.lostBins[b] = (a.lostBins[b] as number) + n;
        if (lost.length < MAX_VIEW_LOST) lost.push({ lane, t, n });
      },
    },
    options,
  );

  const o = origin === origin ? origin : 0;
  const lanes: ViewLane[] = [];
  const laneBins: number[][] = [];
  const lostBins: number[][] = [];
  // Lanes with nothing in them are left out (all of them are kept when every lane is empty).
  const shown = [...acc].filter(([, a]) => a.records > 0 || a.lost > 0);
  for (const [lane, a] of shown.length > 0 ? shown : [...acc]) {
    // Slices are reported at their end: sort each lane by start before delta-encoding.
    const order = a.t.map((_, i) => i).sort((x, y) => (a.t[x] as number) - (a.t[y] as number));
    const t: number[] = [];
    const d: number[] = [];
    const k: number[] = [];
    let prev = 0;
    for (const i of order) {
      const rel = Math.round((a.t[i] as number) - o);
      t.push(rel - prev);
      prev = rel;
      d.push(Math.round(a.d[i] as number));
      k.push(a.k[i] as number);
    }
    lanes.push({ lane, name: laneName(trace, lane), records: a.records, lost: a.lost, t, d, k });
    laneBins.push(a.bins);
    lostBins.push(a.lostBins);
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
    lanes,
    types,
    binNs,
    typeBins,
    laneBins,
    lostBins,
    lost: lost.map((l) => ({ lane: l.lane, t: Math.round(l.t - o), n: l.n })),
  };
}

function mergePairs(bins: number[]): void {
  const n = bins.length;
  for (let i = 0; i < n / 2; i++) bins[i] = (bins[2 * i] as number) + (bins[2 * i + 1] as number);
  for (let i = n / 2; i < n; i++) bins[i] = 0;
}

/**
 * The script of the HTML timeline written by `urb view` (html-view.ts inlines its compiled form
 * into the page: no network at view time). It reads the page's embedded {@link ViewData} and draws:
 *
 * - a timeline on a canvas: a header per process (name and pid), under it a row per thread (its
 *   name and tid) and the thread's async rows (its intervals: requests, spans, GC pauses...).
 *   Slices are bars with their label inside when it fits (nested `_start`/`_end` slices step
 *   down), instants and counter samples are ticks labelled when there is room, coloured by event
 *   type (a distinct colour each); a density strip under each thread row from the exact bins; lost
 *   records as red markers;
 * - a details panel: every field of the event clicked (the tooltip names the one under the pointer);
 * - a search box: only events whose label, type or fields contain the text are drawn;
 * - a rate chart: events per second of each type over the visible window (from the events when
 *   every one is embedded, else from the exact bins);
 * - a legend (click a type to hide or show it).
 *
 * Zoom with the wheel (around the pointer), the +/- buttons or keys, drag to pan, 0 or "reset" to
 * see everything. The state is on `window.urbView` for tests. No imports: the file must stand alone.
 */
import type { ViewData } from "./view-data.js";

interface Row {
  readonly index: number;
  readonly kind: "thread" | "async";
  readonly name: string;
  readonly tid: number;
  readonly process: number;
  readonly records: number;
  /** A thread row: the records of the thread, its async rows' included (what its label counts). */
  threadRecords: number;
  readonly lost: number;
  readonly t: Float64Array;
  readonly d: Float64Array;
  readonly k: Uint16Array;
  readonly l: Int32Array;
  readonly a: Int32Array;
  /** Nesting depth of each slice among the row's slices (0 for instants). */
  readonly depth: Uint8Array;
  /** Longest duration: how far before the window a slice may start and still show. */
  readonly maxDur: number;
  /** 1 where the event matches the search (all 1 without one). */
  readonly match: Uint8Array;
}

/** A band of the timeline: a process header or a row, at `y` (CSS px) with height `h`. */
interface Band {
  readonly y: number;
  readonly h: number;
  readonly process: number;
  readonly row: Row | undefined;
}

/** An event, by its row and index there. */
interface Pick {
  readonly row: number;
  readonly i: number;
}

/** What the page exposes for tests and the console. */
interface ViewApi {
  ready: boolean;
  readonly from: number;
  readonly to: number;
  /** What the last timeline draw drew. */
  drawn: { events: number; labels: number; lost: number; rowsWithEvents: number; draws: number; matches: number };
  /** The selected event's details as shown, or undefined. */
  selected: { name: string; type: string; thread: string; fields: Record<string, unknown> } | undefined;
  zoom(factor: number, anchor?: number): void;
  reset(): void;
  /** Where (page CSS px) the first drawn event labelled `label` is, to click it; undefined when none is drawn. */
  locate(label: string): { x: number; y: number } | undefined;
  /** Each type's colour, by type index. */
  readonly colours: string[];
  /** The timeline's layout (CSS px in the canvas): the names column's width, and each band (a process header or a row). */
  readonly layout: { gutter: number; bands: { y: number; h: number; kind: "process" | "thread" | "async"; name: string; records: number }[] };
}

const GUTTER = 200;
const AXIS = 26;
const PROCESS_ROW = 20;
const THREAD_ROW = 34;
const ASYNC_ROW = 20;
const DENSITY = 5;
const RATE_HEIGHT = 160;
const LOST_COLOR = "#d7191c";
const MIN_SPAN_NS = 100;
const LABEL_FONT = "11px system-ui, sans-serif";
/** Average width of a label character at LABEL_FONT (labels are cut to fit without measuring each). */
const CHAR_PX = 6.2;

/** Distinct colours for the first event types (no red: red marks losses), then hues by the golden angle. */
const PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#a05195", "#76b7b2", "#edc948", "#9c755f", "#ff9da7", "#17becf", "#6b6ecf", "#bcbd22", "#1f3f8f"];

function color(i: number): string {
  if (i < PALETTE.length) return PALETTE[i] as string;
  const j = i - PALETTE.length;
  // Golden-angle hues, three lightness levels: no two types get the same colour.
  return `hsl(${((j * 137.508 + 20) % 360).toFixed(1)}, 58%, ${[42, 55, 34][j % 3]}%)`;
}

/** A time span in ns as text in a unit that suits `scale` (the window's span). */
function formatTime(ns: number, scale: number): string {
  const a = Math.abs(scale);
  if (a >= 5e9) return `${(ns / 1e9).toFixed(a >= 5e10 ? 1 : 2)} s`;
  if (a >= 5e6) return `${(ns / 1e6).toFixed(a >= 5e7 ? 0 : a >= 5e6 ? 1 : 2)} ms`;
  if (a >= 5e3) return `${(ns / 1e3).toFixed(a >= 5e4 ? 0 : 1)} µs`;
  return `${Math.round(ns)} ns`;
}

/** A "nice" tick step (1, 2 or 5 times a power of ten) for about `count` ticks over `span`. */
function tickStep(span: number, count: number): number {
  const raw = span / Math.max(1, count);
  const p = Math.pow(10, Math.floor(Math.log10(raw)));
  const m = raw / p;
  return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}

/** First index i with a[i] >= x (a sorted). */
function lowerBound(a: Float64Array, x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((a[mid] as number) < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** `s` cut to about `px` pixels of label text ("" when not even two characters fit). */
function fit(s: string, px: number): string {
  const n = Math.floor(px / CHAR_PX);
  if (n < 2) return "";
  return s.length <= n ? s : `${s.slice(0, n - 1)}…`;
}

function element<T extends HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (e === null) throw new Error(`urb view: the page has no #${id}`);
  return e as T;
}

function decodeRows(data: ViewData): Row[] {
  const rows = data.rows.map((r, index): Row => {
    const n = r.t.length;
    const t = new Float64Array(n);
    const d = new Float64Array(n);
    const k = new Uint16Array(n);
    const depth = new Uint8Array(n);
    /** End times of the slices enclosing the current one (events are sorted by start). */
    const open: number[] = [];
    let at = 0;
    let maxDur = 0;
    for (let i = 0; i < n; i++) {
      at += r.t[i] as number;
      t[i] = at;
      const dur = r.d[i] as number;
      d[i] = dur;
      k[i] = r.k[i] as number;
      if (dur > maxDur) maxDur = dur;
      if (dur > 0 && r.kind === "thread") {
        while (open.length > 0 && (open[open.length - 1] as number) <= at) open.pop();
        depth[i] = Math.min(255, open.length);
        open.push(at + dur);
      }
    }
    return {
      index, kind: r.kind, name: r.name, tid: r.tid, process: r.process, records: r.records, threadRecords: r.records, lost: r.lost,
      t, d, k, l: Int32Array.from(r.l), a: Int32Array.from(r.a), depth, maxDur, match: new Uint8Array(n).fill(1),
    };
  });
  // A thread's async rows follow it: its label counts their records too.
  let thread: Row | undefined;
  for (const row of rows) {
    if (row.kind === "thread") thread = row;
    else if (thread !== undefined) thread.threadRecords += row.records;
  }
  return rows;
}

function start(data: ViewData): void {
  const rows = decodeRows(data);
  const timeline = element<HTMLCanvasElement>("timeline");
  const rates = element<HTMLCanvasElement>("rates");
  const tooltip = element<HTMLDivElement>("tooltip");
  const range = element<HTMLSpanElement>("range");
  const search = element<HTMLInputElement>("search");
  const found = element<HTMLSpanElement>("found");
  const detailsPanel = element<HTMLDivElement>("details");
  const hidden = new Set<number>();
  const pad = Math.max(data.spanNs * 0.02, 1000);
  const full = { from: -pad, to: data.spanNs + pad };
  const view = { from: full.from, to: full.to };
  const mono = data.clock === "mono";
  const colours = data.types.map((_, k) => color(k));
  let query = "";
  let selected: Pick | undefined;

  // The bands: a header per process (also one that wrote no record: a header alone), then its rows
  // (in data order, grouped by process).
  const bands: Band[] = [];
  let y = AXIS;
  data.processes.forEach((_, process) => {
    bands.push({ y, h: PROCESS_ROW, process, row: undefined });
    y += PROCESS_ROW;
    for (const row of rows) {
      if (row.process !== process) continue;
      const h = row.kind === "thread" ? THREAD_ROW : ASYNC_ROW;
      bands.push({ y, h, process, row });
      y += h;
    }
  });
  const height = y + 4;
  const bandOf = (row: Row): Band => bands.find((b) => b.row === row) as Band;

  const labelOf = (row: Row, i: number): string => {
    const s = row.l[i] as number;
    return s >= 0 ? (data.strings[s] as string) : (data.types[row.k[i] as number]?.name ?? "?");
  };
  const fieldsOf = (row: Row, i: number): Record<string, unknown> => {
    const s = row.a[i] as number;
    if (s < 0) return {};
    try {
      return JSON.parse(data.strings[s] as string) as Record<string, unknown>;
    } catch {
      return {};
    }
  };
  const visible = (row: Row, i: number): boolean => !hidden.has(row.k[i] as number) && row.match[i] === 1;

  const api: ViewApi = {
    ready: false,
    get from() {
      return view.from;
    },
    get to() {
      return view.to;
    },
    drawn: { events: 0, labels: 0, lost: 0, rowsWithEvents: 0, draws: 0, matches: 0 },
    selected: undefined,
    zoom(factor: number, anchor?: number) {
      const span = view.to - view.from;
      const at = anchor ?? view.from + span / 2;
      const next = Math.min(Math.max(span * factor, MIN_SPAN_NS), (full.to - full.from) * 4);
      view.from = at - ((at - view.from) * next) / span;
      view.to = view.from + next;
      schedule();
    },
    reset() {
      view.from = full.from;
      view.to = full.to;
      schedule();
    },
    locate(label: string) {
      const box = timeline.getBoundingClientRect();
      for (const row of rows) {
        for (let i = 0; i < row.t.length; i++) {
          if (labelOf(row, i) !== label || !visible(row, i)) continue;
          const a = Math.max(row.t[i] as number, view.from);
          const b = Math.min((row.t[i] as number) + (row.d[i] as number), view.to);
          if (b < a) continue;
          const band = bandOf(row);
          const bar = barOf(row, i, band);
          const yy = (row.d[i] as number) > 0 ? bar.top + bar.h / 2 : band.y + band.h / 2;
          return { x: box.left + window.scrollX + (xOf(a) + xOf(b)) / 2, y: box.top + window.scrollY + yy };
        }
      }
      return undefined;
    },
    colours,
    layout: {
      gutter: GUTTER,
      // records: what the band's label counts (a thread: its async rows' too).
      bands: bands.map((b) => ({ y: b.y, h: b.h, kind: b.row?.kind ?? "process", name: b.row?.name ?? data.processes[b.process]?.name ?? "?", records: b.row === undefined ? 0 : b.row.kind === "thread" ? b.row.threadRecords : b.row.records })),
    },
  };
  (window as unknown as { urbView: ViewApi }).urbView = api;

  /** Size a canvas to its CSS width and `h` CSS pixels, for the device's pixel ratio. */
  const fitCanvas = (c: HTMLCanvasElement, h: number): CanvasRenderingContext2D => {
    const dpr = window.devicePixelRatio || 1;
    const width = c.clientWidth;
    c.style.height = `${h}px`;
    c.width = Math.round(width * dpr);
    c.height = Math.round(h * dpr);
    const ctx = c.getContext("2d");
    if (ctx === null) throw new Error("urb view: no 2D canvas");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    return ctx;
  };
  const plotWidth = (): number => Math.max(10, timeline.clientWidth - GUTTER - 8);
  const xOf = (t: number): number => GUTTER + ((t - view.from) / (view.to - view.from)) * plotWidth();
  const tOf = (x: number): number => view.from + ((x - GUTTER) / plotWidth()) * (view.to - view.from);

  const drawAxis = (ctx: CanvasRenderingContext2D, top: number, bottom: number): void => {
    const span = view.to - view.from;
    const step = tickStep(span, plotWidth() / 110);
    ctx.font = "11px system-ui, sans-serif";
    ctx.textBaseline = "middle";
    for (let t = Math.ceil(view.from / step) * step; t <= view.to; t += step) {
      const x = Math.round(xOf(t)) + 0.5;
      ctx.strokeStyle = "#e3e3e3";
      ctx.beginPath();
      ctx.moveTo(x, top);
      ctx.lineTo(x, bottom);
      ctx.stroke();
      ctx.fillStyle = "#555";
      ctx.fillText(formatTime(t, step * 10), x + 3, top - 12);
    }
  };

  /** The slice bar of event i of `row` in band `band`: its top and height. */
  const barOf = (row: Row, i: number, band: Band): { top: number; h: number } => {
    if (row.kind === "async") return { top: band.y + 3, h: band.h - 6 };
    const level = Math.min(3, row.depth[i] as number);
    return { top: band.y + 3 + level * 4, h: 14 - level * 2 };
  };

  const drawTimeline = (): void => {
    const ctx = fitCanvas(timeline, height);
    const width = timeline.clientWidth;
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, width, height);
    drawAxis(ctx, AXIS, height);
    const scale = plotWidth() / (view.to - view.from);
    let events = 0;
    let labels = 0;
    let lostDrawn = 0;
    let withEvents = 0;
    bands.forEach((band, n) => {
      const row = band.row;
      if (row === undefined) {
        const p = data.processes[band.process];
        ctx.fillStyle = "#e9edf3";
        ctx.fillRect(0, band.y, width, band.h);
        ctx.fillStyle = "#1d2a3a";
        ctx.font = "600 12px system-ui, sans-serif";
        ctx.textBaseline = "middle";
        ctx.fillText(p === undefined ? "?" : p.name === `pid ${p.pid}` ? p.name : `${p.name}  (pid ${p.pid})`, 6, band.y + band.h / 2);
        return;
      }
      ctx.fillStyle = n % 2 === 0 ? "rgba(0,0,0,0.03)" : "rgba(0,0,0,0.0)";
      ctx.fillRect(0, band.y, width, band.h);
      ctx.textBaseline = "middle";
      if (row.kind === "thread") {
        ctx.fillStyle = "#222";
        ctx.font = "600 12px system-ui, sans-serif";
        ctx.fillText(fit(row.name, GUTTER - 20), 12, band.y + band.h / 2 - 6);
        ctx.fillStyle = "#888";
        ctx.font = "10px system-ui, sans-serif";
        ctx.fillText(`tid ${row.tid} · ${row.threadRecords.toLocaleString()} rec${row.lost ? `, ${row.lost.toLocaleString()} lost` : ""}`, 12, band.y + band.h / 2 + 8);
      } else {
        ctx.fillStyle = "#555";
        ctx.font = "11px system-ui, sans-serif";
        ctx.fillText(fit(`↳ ${row.name}`, GUTTER - 30), 24, band.y + band.h / 2);
      }
      ctx.save();
      ctx.beginPath();
      ctx.rect(GUTTER, band.y, plotWidth(), band.h);
      ctx.clip();
      if (row.kind === "thread") {
        // Density strip: exact records per bin, darker where busier.
        const bins = data.rowBins[row.index] ?? [];
        let max = 0;
        for (const c of bins) if (c > max) max = c;
        if (max > 0) {
          for (let b = 0; b < bins.length; b++) {
            const c = bins[b] as number;
            if (c === 0) continue;
            const x0 = xOf(b * data.binNs);
            const x1 = xOf((b + 1) * data.binNs);
            if (x1 < GUTTER || x0 > width) continue;
            ctx.fillStyle = `rgba(40,60,90,${(0.15 + 0.85 * Math.sqrt(c / max)).toFixed(3)})`;
            ctx.fillRect(x0, band.y + band.h - DENSITY - 1, Math.max(1, x1 - x0), DENSITY);
          }
        }
      }
      // Events: slices as bars with their label inside when it fits, instants as ticks labelled
      // when the next tick leaves room; one tick per pixel column and type.
      const lastX = new Map<number, number>();
      let i = lowerBound(row.t, view.from - row.maxDur);
      let drawnHere = 0;
      let labelEnd = -Infinity;
      ctx.font = LABEL_FONT;
      for (; i < row.t.length; i++) {
        const t = row.t[i] as number;
        if (t > view.to) break;
        if (!visible(row, i)) continue;
        const k = row.k[i] as number;
        const d = row.d[i] as number;
        if (d > 0 && t + d < view.from) continue;
        const x = xOf(t);
        const isSelected = selected !== undefined && selected.row === row.index && selected.i === i;
        ctx.fillStyle = colours[k] as string;
        if (d > 0) {
          const bar = barOf(row, i, band);
          // Whole pixels: a bar narrower than a pixel at a fractional x would be blended into two
          // faint columns, and a row of short intervals would look empty.
          const left = Math.floor(x);
          const w = Math.max(1, Math.round(x + d * scale) - left);
          ctx.fillRect(left, bar.top, w, bar.h);
          if (isSelected) {
            ctx.strokeStyle = "#000";
            ctx.lineWidth = 2;
            ctx.strokeRect(left, bar.top, w, bar.h);
            ctx.lineWidth = 1;
          }
          const x0 = Math.max(left, GUTTER);
          const room = Math.min(left + w, GUTTER + plotWidth()) - x0 - 4;
          const text = room > 12 && bar.h >= 10 ? fit(labelOf(row, i), room) : "";
          if (text !== "") {
            ctx.fillStyle = "#fff";
            ctx.fillText(text, x0 + 2, bar.top + bar.h / 2 + 0.5);
            labels++;
          }
        } else {
          const px = Math.floor(x);
          if (lastX.get(k) === px && !isSelected) continue;
          lastX.set(k, px);
          const top = band.y + (row.kind === "thread" ? 17 : 3);
          const h = row.kind === "thread" ? band.h - DENSITY - 19 : band.h - 6;
          ctx.fillRect(px, top, isSelected ? 3 : 1, h);
          // A label to the right of the tick, if nothing is drawn there before the next tick.
          const next = i + 1 < row.t.length ? xOf(row.t[i + 1] as number) : GUTTER + plotWidth();
          if (px > labelEnd && row.kind === "thread") {
            const text = fit(labelOf(row, i), Math.min(next, GUTTER + plotWidth()) - px - 6);
            if (text !== "") {
              ctx.fillStyle = "#333";
              ctx.fillText(text, px + 3, top + h / 2);
              labelEnd = px + 3 + text.length * CHAR_PX;
              labels++;
            }
          }
        }
        drawnHere++;
      }
      events += drawnHere;
      if (drawnHere > 0) withEvents++;
      ctx.restore();
    });
    // Loss markers: a red line through the row and a triangle on top.
    for (const l of data.lost) {
      const row = rows[l.row];
      if (row === undefined || l.t < view.from || l.t > view.to) continue;
      const band = bandOf(row);
      const x = Math.round(xOf(l.t)) + 0.5;
      ctx.strokeStyle = LOST_COLOR;
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      ctx.moveTo(x, band.y + 2);
      ctx.lineTo(x, band.y + band.h - 2);
      ctx.stroke();
      ctx.fillStyle = LOST_COLOR;
      ctx.beginPath();
      ctx.moveTo(x - 5, band.y + 1);
      ctx.lineTo(x + 5, band.y + 1);
      ctx.lineTo(x, band.y + 8);
      ctx.fill();
      ctx.lineWidth = 1;
      lostDrawn++;
    }
    ctx.strokeStyle = "#bbb";
    ctx.beginPath();
    ctx.moveTo(GUTTER - 0.5, AXIS);
    ctx.lineTo(GUTTER - 0.5, height);
    ctx.stroke();
    api.drawn = { events, labels, lost: lostDrawn, rowsWithEvents: withEvents, draws: api.drawn.draws + 1, matches: api.drawn.matches };
    timeline.dataset["from"] = String(view.from);
    timeline.dataset["to"] = String(view.to);
    range.textContent = `${formatTime(view.from, view.to - view.from)} to ${formatTime(view.to, view.to - view.from)} (${formatTime(view.to - view.from, view.to - view.from)} shown)`;
  };

  /** Events of each type per column of the visible window, as rates (per second of ring time). */
  const rateSeries = (columns: number): number[][] => {
    const colNs = (view.to - view.from) / columns;
    const series = data.types.map(() => new Array<number>(columns).fill(0));
    if (data.stride === 1) {
      for (const row of rows) {
        let i = lowerBound(row.t, view.from - row.maxDur);
        for (; i < row.t.length; i++) {
          const t0 = row.t[i] as number;
          if (t0 > view.to) break;
          const at = t0 + (row.d[i] as number); // counted at its record: a slice's end
          const c = Math.floor((at - view.from) / colNs);
          if (c < 0 || c >= columns) continue;
          const s = series[row.k[i] as number] as number[];
          s[c] = (s[c] as number) + 1;
        }
      }
    } else {
      // Spread each bin's exact count over the columns it overlaps.
      data.typeBins.forEach((bins, k) => {
        const s = series[k] as number[];
        for (let b = 0; b < bins.length; b++) {
          const n = bins[b] as number;
          if (n === 0) continue;
          const b0 = b * data.binNs;
          const b1 = b0 + data.binNs;
          if (b1 < view.from || b0 > view.to) continue;
          const c0 = Math.max(0, Math.floor((b0 - view.from) / colNs));
          const c1 = Math.min(columns - 1, Math.floor((b1 - view.from) / colNs));
          for (let c = c0; c <= c1; c++) {
            const lo = Math.max(b0, view.from + c * colNs);
            const hi = Math.min(b1, view.from + (c + 1) * colNs);
            if (hi > lo) s[c] = (s[c] as number) + (n * (hi - lo)) / data.binNs;
          }
        }
      });
    }
    const perSecond = 1e9 / colNs;
    return series.map((s) => s.map((n) => n * perSecond));
  };

  const drawRates = (): void => {
    const ctx = fitCanvas(rates, RATE_HEIGHT);
    const width = rates.clientWidth;
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, width, RATE_HEIGHT);
    const top = AXIS;
    const bottom = RATE_HEIGHT - 8;
    drawAxis(ctx, top, bottom);
    const columns = Math.max(10, Math.min(400, Math.floor(plotWidth() / 3)));
    const series = rateSeries(columns);
    let max = 0;
    series.forEach((s, k) => {
      if (!hidden.has(k)) for (const v of s) if (v > max) max = v;
    });
    ctx.fillStyle = "#555";
    ctx.font = "11px system-ui, sans-serif";
    ctx.textBaseline = "middle";
    ctx.fillText(`${max > 0 ? Math.round(max).toLocaleString() : 0} ${mono ? "/s" : "/1e9 units"}`, 8, top + 6);
    ctx.fillText("0", 8, bottom - 4);
    if (max === 0) return;
    const colW = plotWidth() / columns;
    series.forEach((s, k) => {
      if (hidden.has(k)) return;
      ctx.strokeStyle = colours[k] as string;
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      s.forEach((v, c) => {
        const x = GUTTER + (c + 0.5) * colW;
        const yy = bottom - (v / max) * (bottom - top - 4);
        if (c === 0) ctx.moveTo(x, yy);
        else ctx.lineTo(x, yy);
      });
      ctx.stroke();
    });
    ctx.lineWidth = 1;
  };

  let pending = false;
  function schedule(): void {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      drawTimeline();
      drawRates();
    });
  }

  // Zoom around the pointer with the wheel; drag to pan (a press without a move is a click).
  const onWheel = (e: WheelEvent): void => {
    e.preventDefault();
    const x = e.offsetX;
    api.zoom(Math.exp(e.deltaY * 0.0015), x >= GUTTER ? tOf(x) : undefined);
  };
  timeline.addEventListener("wheel", onWheel, { passive: false });
  rates.addEventListener("wheel", onWheel, { passive: false });
  let drag: { x: number; from: number; to: number; moved: boolean } | undefined;
  timeline.addEventListener("mousedown", (e) => {
    drag = { x: e.clientX, from: view.from, to: view.to, moved: false };
  });
  window.addEventListener("mouseup", () => {
    drag = undefined;
  });
  window.addEventListener("mousemove", (e) => {
    if (drag === undefined) return;
    if (Math.abs(e.clientX - drag.x) < 3 && !drag.moved) return;
    drag.moved = true;
    const dt = ((e.clientX - drag.x) / plotWidth()) * (drag.to - drag.from);
    view.from = drag.from - dt;
    view.to = drag.to - dt;
    schedule();
  });
  element("zoom-in").addEventListener("click", () => api.zoom(0.5));
  element("zoom-out").addEventListener("click", () => api.zoom(2));
  element("zoom-reset").addEventListener("click", () => api.reset());
  window.addEventListener("keydown", (e) => {
    if (e.target === search) return;
    if (e.key === "+" || e.key === "=") api.zoom(0.5);
    else if (e.key === "-") api.zoom(2);
    else if (e.key === "0") api.reset();
  });
  window.addEventListener("resize", schedule);

  /** The event under (x, y) (CSS px in the canvas): a bar containing it, else the nearest tick within 4 px. */
  const hit = (x: number, yy: number): Pick | undefined => {
    const band = bands.find((b) => yy >= b.y && yy < b.y + b.h);
    const row = band?.row;
    if (band === undefined || row === undefined || x < GUTTER) return undefined;
    const t = tOf(x);
    const slack = (4 / plotWidth()) * (view.to - view.from);
    let best = -1;
    let bestScore = Infinity;
    for (let i = Math.max(0, lowerBound(row.t, t - slack - row.maxDur)); i < row.t.length && (row.t[i] as number) <= t + slack; i++) {
      if (!visible(row, i)) continue;
      const a = row.t[i] as number;
      const d = row.d[i] as number;
      const dist = t < a ? a - t : t > a + d ? t - a - d : 0;
      if (dist > slack) continue;
      // Inside a bar: the innermost (deepest, shortest) wins; a bar must be under the pointer vertically.
      if (d > 0) {
        const bar = barOf(row, i, band);
        if (yy < bar.top - 1 || yy > bar.top + bar.h + 1) continue;
      }
      const score = dist * 1e6 + d;
      if (score < bestScore) {
        best = i;
        bestScore = score;
      }
    }
    return best < 0 ? undefined : { row: row.index, i: best };
  };

  const threadOf = (row: Row): string => {
    const p = data.processes[row.process];
    let name = row.name;
    if (row.kind === "async") for (let j = row.index; j >= 0; j--) if (rows[j]?.kind === "thread") { name = `${(rows[j] as Row).name} ↳ ${row.name}`; break; }
    return `${name} · ${p?.name ?? "?"} (pid ${p?.pid ?? "?"}, tid ${row.tid})`;
  };

  timeline.addEventListener("mousemove", (e) => {
    const p = drag === undefined ? hit(e.offsetX, e.offsetY) : undefined;
    if (p === undefined) {
      tooltip.hidden = true;
      return;
    }
    const row = rows[p.row] as Row;
    const type = data.types[row.k[p.i] as number];
    const a = row.t[p.i] as number;
    const d = row.d[p.i] as number;
    tooltip.textContent = `${labelOf(row, p.i)} · ${type?.name ?? "?"} · ${row.name} · at ${formatTime(a, view.to - view.from)}${d > 0 ? ` · lasted ${formatTime(d, d)}` : ""}`;
    tooltip.hidden = false;
    // Kept inside the page: a tooltip past its right edge would widen it.
    tooltip.style.left = `${Math.max(0, Math.min(e.pageX + 12, document.documentElement.clientWidth + window.scrollX - tooltip.offsetWidth - 8))}px`;
    tooltip.style.top = `${e.pageY + 12}px`;
  });
  timeline.addEventListener("mouseleave", () => {
    tooltip.hidden = true;
  });

  /** Show event `p` in the details panel (every field), or clear it. */
  const showDetails = (p: Pick | undefined): void => {
    selected = p;
    detailsPanel.replaceChildren();
    if (p === undefined) {
      api.selected = undefined;
      detailsPanel.textContent = "Click an event to see all its fields.";
      schedule();
      return;
    }
    const row = rows[p.row] as Row;
    const type = data.types[row.k[p.i] as number];
    const fields = fieldsOf(row, p.i);
    const a = row.t[p.i] as number;
    const d = row.d[p.i] as number;
    const title = document.createElement("div");
    title.className = "title";
    const swatch = document.createElement("span");
    swatch.className = "swatch";
    swatch.style.background = colours[row.k[p.i] as number] as string;
    title.append(swatch, labelOf(row, p.i));
    const table = document.createElement("table");
    const line = (k: string, v: string): void => {
      const tr = document.createElement("tr");
      const th = document.createElement("th");
      th.textContent = k;
      const td = document.createElement("td");
      td.textContent = v;
      tr.append(th, td);
      table.append(tr);
    };
    line("event", `${type?.name ?? "?"} (${type?.shape ?? "?"})`);
    line("thread", threadOf(row));
    line("start", `${(a / 1e6).toFixed(6)} ms from the first record (ring time ${((data.originNs + a) / 1e9).toFixed(9)} s)`);
    if (d > 0) line("duration", `${formatTime(d, d)} (${d} ns)`);
    const flat = (prefix: string, o: Record<string, unknown>): void => {
      for (const [k, v] of Object.entries(o)) {
        if (v !== null && typeof v === "object" && !Array.isArray(v)) flat(`${prefix}${k}.`, v as Record<string, unknown>);
        else line(`${prefix}${k}`, typeof v === "string" ? v : JSON.stringify(v));
      }
    };
    flat("", fields);
    if ((row.a[p.i] as number) < 0) line("fields", data.textCut ? "not kept (the page's text budget was spent)" : "none");
    detailsPanel.append(title, table);
    api.selected = { name: labelOf(row, p.i), type: type?.name ?? "?", thread: threadOf(row), fields };
    schedule();
  };
  timeline.addEventListener("click", (e) => {
    if (drag?.moved === true) return;
    showDetails(hit(e.offsetX, e.offsetY));
  });

  // Search: only events whose label, type or fields contain the text are drawn.
  const applySearch = (): void => {
    query = search.value.trim().toLowerCase();
    let matches = 0;
    for (const row of rows) {
      for (let i = 0; i < row.t.length; i++) {
        let m = 1;
        if (query !== "") {
          const s = row.a[i] as number;
          const hay = `${labelOf(row, i)}\n${data.types[row.k[i] as number]?.name ?? ""}\n${s >= 0 ? data.strings[s] : ""}`.toLowerCase();
          m = hay.includes(query) ? 1 : 0;
        }
        row.match[i] = m;
        matches += m;
      }
    }
    api.drawn.matches = matches;
    found.textContent = query === "" ? "" : `${matches.toLocaleString()} match${matches === 1 ? "" : "es"}`;
    schedule();
  };
  search.addEventListener("input", applySearch);

  // Legend: one entry per type; click to hide or show.
  const legend = element<HTMLDivElement>("legend");
  data.types.forEach((type, k) => {
    const item = document.createElement("button");
    item.className = "type";
    item.type = "button";
    const swatch = document.createElement("span");
    swatch.className = "swatch";
    swatch.style.background = colours[k] as string;
    item.append(swatch, `${type.name} `);
    const meta = document.createElement("small");
    meta.textContent = `${type.shape}, ${type.count.toLocaleString()}`;
    item.append(meta);
    item.addEventListener("click", () => {
      if (hidden.has(k)) hidden.delete(k);
      else hidden.add(k);
      item.classList.toggle("off", hidden.has(k));
      schedule();
    });
    legend.append(item);
  });
  if (data.lostTotal > 0 || data.lost.length > 0) {
    const item = document.createElement("span");
    item.className = "type";
    const swatch = document.createElement("span");
    swatch.className = "swatch";
    swatch.style.background = LOST_COLOR;
    item.append(swatch, `lost records: ${data.lostTotal.toLocaleString()}`);
    legend.append(item);
  }

  applySearch();
  showDetails(undefined);
  drawTimeline();
  drawRates();
  api.ready = true;
}

const source = document.getElementById("urb-data");
if (source?.textContent) start(JSON.parse(source.textContent) as ViewData);

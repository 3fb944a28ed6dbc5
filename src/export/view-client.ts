/**
 * The script of the HTML timeline written by `urb view` (html-view.ts inlines its compiled form
 * into the page: no network at view time). It reads the page's embedded {@link ViewData} and draws:
 *
 * - a timeline on a canvas, one row per lane: slices as bars, instants as ticks, coloured by event
 *   type; under each row a density strip from the exact per-lane bins; lost records as red markers;
 * - a rate chart: events per second of each type over the visible window (from the events when
 *   every one is embedded, else from the exact bins);
 * - a legend (click a type to hide or show it) and a tooltip for the event under the pointer.
 *
 * Zoom with the wheel (around the pointer), the +/- buttons or keys, drag to pan, 0 or "reset" to
 * see everything. The state is on `window.urbView` for tests. No imports: the file must stand alone.
 */
import type { ViewData } from "./view-data.js";

interface Lane {
  readonly lane: number;
  readonly name: string;
  readonly records: number;
  readonly lost: number;
  readonly t: Float64Array;
  readonly d: Float64Array;
  readonly k: Uint16Array;
  /** Nesting depth of each slice among the lane's slices (0 for instants). */
  readonly depth: Uint8Array;
  /** Longest duration: how far before the window a slice may start and still show. */
  readonly maxDur: number;
}

/** What the page exposes for tests and the console. */
interface ViewApi {
  ready: boolean;
  readonly from: number;
  readonly to: number;
  /** What the last timeline draw drew. */
  drawn: { events: number; lost: number; lanesWithEvents: number; draws: number };
  zoom(factor: number, anchor?: number): void;
  reset(): void;
}

const GUTTER = 128;
const AXIS = 26;
const ROW = 36;
const DENSITY = 6;
const RATE_HEIGHT = 200;
const LOST_COLOR = "#d7191c";
const MIN_SPAN_NS = 100;

/** Distinct colours for the first event types (no red: red marks losses), then hues by the golden angle. */
const PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#76b7b2", "#edc948", "#9c755f", "#ff9da7", "#17becf", "#8c564b", "#bcbd22", "#1f3f8f"];

function color(i: number): string {
  return PALETTE[i] ?? `hsl(${Math.round((i * 137.508) % 360)}, 62%, 46%)`;
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

function element<T extends HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (e === null) throw new Error(`urb view: the page has no #${id}`);
  return e as T;
}

function decodeLanes(data: ViewData): Lane[] {
  return data.lanes.map((l) => {
    const n = l.t.length;
    const t = new Float64Array(n);
    const d = new Float64Array(n);
    const k = new Uint16Array(n);
    const depth = new Uint8Array(n);
    /** End times of the slices enclosing the current one (events are sorted by start). */
    const open: number[] = [];
    let at = 0;
    let maxDur = 0;
    for (let i = 0; i < n; i++) {
      at += l.t[i] as number;
      t[i] = at;
      const dur = l.d[i] as number;
      d[i] = dur;
      k[i] = l.k[i] as number;
      if (dur > maxDur) maxDur = dur;
      if (dur > 0) {
        while (open.length > 0 && (open[open.length - 1] as number) <= at) open.pop();
        depth[i] = Math.min(255, open.length);
        open.push(at + dur);
      }
    }
    return { lane: l.lane, name: l.name, records: l.records, lost: l.lost, t, d, k, depth, maxDur };
  });
}

function start(data: ViewData): void {
  const lanes = decodeLanes(data);
  const timeline = element<HTMLCanvasElement>("timeline");
  const rates = element<HTMLCanvasElement>("rates");
  const tooltip = element<HTMLDivElement>("tooltip");
  const range = element<HTMLSpanElement>("range");
  const hidden = new Set<number>();
  const pad = Math.max(data.spanNs * 0.02, 1000);
  const full = { from: -pad, to: data.spanNs + pad };
  const view = { from: full.from, to: full.to };
  const mono = data.clock === "mono";

  const api: ViewApi = {
    ready: false,
    get from() {
      return view.from;
    },
    get to() {
      return view.to;
    },
    drawn: { events: 0, lost: 0, lanesWithEvents: 0, draws: 0 },
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
  };
  (window as unknown as { urbView: ViewApi }).urbView = api;

  /** Size a canvas to its CSS width and `height` CSS pixels, for the device's pixel ratio. */
  const fit = (c: HTMLCanvasElement, height: number): CanvasRenderingContext2D => {
    const dpr = window.devicePixelRatio || 1;
    const width = c.clientWidth;
    c.style.height = `${height}px`;
    c.width = Math.round(width * dpr);
    c.height = Math.round(height * dpr);
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

  const drawTimeline = (): void => {
    const height = AXIS + lanes.length * ROW + 4;
    const ctx = fit(timeline, height);
    const width = timeline.clientWidth;
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, width, height);
    drawAxis(ctx, AXIS, height);
    const scale = plotWidth() / (view.to - view.from);
    let events = 0;
    let lostDrawn = 0;
    let withEvents = 0;
    lanes.forEach((lane, row) => {
      const y = AXIS + row * ROW;
      ctx.fillStyle = row % 2 === 0 ? "rgba(0,0,0,0.035)" : "rgba(0,0,0,0.0)";
      ctx.fillRect(0, y, width, ROW);
      ctx.fillStyle = "#222";
      ctx.font = "12px system-ui, sans-serif";
      ctx.textBaseline = "middle";
      ctx.fillText(lane.name, 8, y + ROW / 2 - 6);
      ctx.fillStyle = "#888";
      ctx.font = "10px system-ui, sans-serif";
      ctx.fillText(`${lane.records.toLocaleString()} rec${lane.lost ? `, ${lane.lost.toLocaleString()} lost` : ""}`, 8, y + ROW / 2 + 8);
      ctx.save();
      ctx.beginPath();
      ctx.rect(GUTTER, y, plotWidth(), ROW);
      ctx.clip();
      // Density strip: exact records per bin, darker where busier.
      const bins = data.laneBins[row] ?? [];
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
          ctx.fillRect(x0, y + ROW - DENSITY - 2, Math.max(1, x1 - x0), DENSITY);
        }
      }
      // Events: slices as bars (upper part), instants as ticks; one tick per pixel column and type.
      const lastX = new Map<number, number>();
      let i = lowerBound(lane.t, view.from - lane.maxDur);
      let drawnHere = 0;
      for (; i < lane.t.length; i++) {
        const t = lane.t[i] as number;
        if (t > view.to) break;
        const k = lane.k[i] as number;
        if (hidden.has(k)) continue;
        const d = lane.d[i] as number;
        if (d > 0 && t + d < view.from) continue;
        const x = xOf(t);
        ctx.fillStyle = color(k);
        if (d > 0) {
          // Nested slices step down and get thinner, so an enclosing one stays visible.
          const level = Math.min(3, lane.depth[i] as number);
          ctx.fillRect(x, y + 3 + level * 4, Math.max(1, d * scale), 10 - level * 2);
        } else {
          const px = Math.floor(x);
          if (lastX.get(k) === px) continue;
          lastX.set(k, px);
          ctx.fillRect(px, y + 17, 1, ROW - DENSITY - 20);
        }
        drawnHere++;
      }
      events += drawnHere;
      if (drawnHere > 0) withEvents++;
      ctx.restore();
    });
    // Loss markers: a red line through the lane and a triangle on top.
    for (const l of data.lost) {
      const row = lanes.findIndex((x) => x.lane === l.lane);
      if (row < 0 || l.t < view.from || l.t > view.to) continue;
      const x = Math.round(xOf(l.t)) + 0.5;
      const y = AXIS + row * ROW;
      ctx.strokeStyle = LOST_COLOR;
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      ctx.moveTo(x, y + 2);
      ctx.lineTo(x, y + ROW - 2);
      ctx.stroke();
      ctx.fillStyle = LOST_COLOR;
      ctx.beginPath();
      ctx.moveTo(x - 5, y + 1);
      ctx.lineTo(x + 5, y + 1);
      ctx.lineTo(x, y + 8);
      ctx.fill();
      ctx.lineWidth = 1;
      lostDrawn++;
    }
    ctx.strokeStyle = "#bbb";
    ctx.beginPath();
    ctx.moveTo(GUTTER - 0.5, AXIS);
    ctx.lineTo(GUTTER - 0.5, height);
    ctx.stroke();
    api.drawn = { events, lost: lostDrawn, lanesWithEvents: withEvents, draws: api.drawn.draws + 1 };
    timeline.dataset["from"] = String(view.from);
    timeline.dataset["to"] = String(view.to);
    range.textContent = `${formatTime(view.from, view.to - view.from)} to ${formatTime(view.to, view.to - view.from)} (${formatTime(view.to - view.from, view.to - view.from)} shown)`;
  };

  /** Events of each type per column of the visible window, as rates (per second of ring time). */
  const rateSeries = (columns: number): number[][] => {
    const colNs = (view.to - view.from) / columns;
    const series = data.types.map(() => new Array<number>(columns).fill(0));
    if (data.stride === 1) {
      for (const lane of lanes) {
        let i = lowerBound(lane.t, view.from - lane.maxDur);
        for (; i < lane.t.length; i++) {
          const t0 = lane.t[i] as number;
          if (t0 > view.to) break;
          const at = t0 + (lane.d[i] as number); // counted at its record: a slice's end
          const c = Math.floor((at - view.from) / colNs);
          if (c < 0 || c >= columns) continue;
          const s = series[lane.k[i] as number] as number[];
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
    const ctx = fit(rates, RATE_HEIGHT);
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
      ctx.strokeStyle = color(k);
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      s.forEach((v, c) => {
        const x = GUTTER + (c + 0.5) * colW;
        const y = bottom - (v / max) * (bottom - top - 4);
        if (c === 0) ctx.moveTo(x, y);
        else ctx.lineTo(x, y);
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

  // Zoom around the pointer with the wheel; drag to pan.
  const onWheel = (e: WheelEvent): void => {
    e.preventDefault();
    const x = e.offsetX;
    api.zoom(Math.exp(e.deltaY * 0.0015), x >= GUTTER ? tOf(x) : undefined);
  };
  timeline.addEventListener("wheel", onWheel, { passive: false });
  rates.addEventListener("wheel", onWheel, { passive: false });
  let drag: { x: number; from: number; to: number } | undefined;
  timeline.addEventListener("mousedown", (e) => {
    drag = { x: e.clientX, from: view.from, to: view.to };
  });
  window.addEventListener("mouseup", () => {
    drag = undefined;
  });
  window.addEventListener("mousemove", (e) => {
    if (drag === undefined) return;
    const dt = ((e.clientX - drag.x) / plotWidth()) * (drag.to - drag.from);
    view.from = drag.from - dt;
    view.to = drag.to - dt;
    schedule();
  });
  element("zoom-in").addEventListener("click", () => api.zoom(0.5));
  element("zoom-out").addEventListener("click", () => api.zoom(2));
  element("zoom-reset").addEventListener("click", () => api.reset());
  window.addEventListener("keydown", (e) => {
    if (e.key === "+" || e.key === "=") api.zoom(0.5);
    else if (e.key === "-") api.zoom(2);
    else if (e.key === "0") api.reset();
  });
  window.addEventListener("resize", schedule);

  // Tooltip: the nearest event within 4 px in the row under the pointer.
  timeline.addEventListener("mousemove", (e) => {
    const row = Math.floor((e.offsetY - AXIS) / ROW);
    const lane = lanes[row];
    if (lane === undefined || e.offsetX < GUTTER || drag !== undefined) {
      tooltip.hidden = true;
      return;
    }
    const t = tOf(e.offsetX);
    const slack = (4 / plotWidth()) * (view.to - view.from);
    let best = -1;
    let bestDist = Infinity;
    for (let i = Math.max(0, lowerBound(lane.t, t - slack - lane.maxDur)); i < lane.t.length && (lane.t[i] as number) <= t + slack; i++) {
      if (hidden.has(lane.k[i] as number)) continue;
      const a = lane.t[i] as number;
      const b = a + (lane.d[i] as number);
      const dist = t < a ? a - t : t > b ? t - b : 0;
      if (dist <= slack && dist < bestDist) {
        best = i;
        bestDist = dist;
      }
    }
    if (best < 0) {
      tooltip.hidden = true;
      return;
    }
    const type = data.types[lane.k[best] as number];
    const a = lane.t[best] as number;
    const d = lane.d[best] as number;
    tooltip.textContent = `${type?.name ?? "?"} · ${lane.name} · at ${((data.originNs + a) / 1e9).toFixed(9)} s${d > 0 ? ` · lasted ${formatTime(d, d)}` : ""}`;
    tooltip.style.left = `${e.pageX + 12}px`;
    tooltip.style.top = `${e.pageY + 12}px`;
    tooltip.hidden = false;
  });
  timeline.addEventListener("mouseleave", () => {
    tooltip.hidden = true;
  });

  // Legend: one entry per type; click to hide or show.
  const legend = element<HTMLDivElement>("legend");
  data.types.forEach((type, k) => {
    const item = document.createElement("button");
    item.className = "type";
    item.type = "button";
    const swatch = document.createElement("span");
    swatch.className = "swatch";
    swatch.style.background = color(k);
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

  drawTimeline();
  drawRates();
  api.ready = true;
}

const source = document.getElementById("urb-data");
if (source?.textContent) start(JSON.parse(source.textContent) as ViewData);

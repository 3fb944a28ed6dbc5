/**
 * A line chart as a self-contained SVG string, for BENCHMARKS.md: categorical x axis (record sizes,
 * thread counts), logarithmic y axis (the series span 4 decades), one polyline with point markers
 * per series, a legend. No dependency and no network: the report generator writes the string to a
 * file. Text is XML-escaped; missing or non-positive values leave a gap in their line.
 */

export interface ChartSeries {
  readonly label: string;
  /** One value per x label, or null where the series has no figure. */
  readonly values: readonly (number | null)[];
  /** A reference drawn dashed (a limit or a bound rather than a competitor). */
  readonly dashed?: boolean;
  /** Drawn thicker (ours). */
  readonly emphasis?: boolean;
}

export interface LineChartSpec {
  readonly title: string;
  /** A smaller second line under the title (e.g. the machine and the load). */
  readonly subtitle?: string;
  readonly xTitle: string;
  readonly yTitle: string;
  readonly xLabels: readonly string[];
  readonly series: readonly ChartSeries[];
}

const WIDTH = 900;
const HEIGHT = 480;
const PLOT = { left: 78, right: 590, top: 64, bottom: 416 } as const;
const LEGEND_X = 610;
/** Colour-blind-safe palette (Okabe-Ito), then a grey. */
const PALETTE = ['#0072B2', '#56B4E9', '#D55E00', '#CC79A7', '#E69F00', '#009E73', '#000000', '#999999'];

/** Escapes text for SVG element content and attribute values. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] ?? c);
}

/** 950, 1.2k, 35M, 1G: short labels for the log axis. */
export function formatCount(value: number): string {
  const units: readonly [number, string][] = [
    [1e9, 'G'],
    [1e6, 'M'],
    [1e3, 'k'],
  ];
  for (const [size, suffix] of units) {
    if (Math.abs(value) >= size) return `${trim(value / size)}${suffix}`;
  }
  return trim(value);
}

function trim(value: number): string {
  return Number(value.toPrecision(3)).toString();
}

function usable(value: number | null): value is number {
  return value !== null && Number.isFinite(value) && value > 0;
}

/**
 * Renders the chart.
 * @throws {RangeError} If a series' values do not match the x labels one to one.
 */
export function renderLineChart(spec: LineChartSpec): string {
  const n = spec.xLabels.length;
  for (const s of spec.series) {
    if (s.values.length !== n) {
      throw new RangeError(`Cannot render chart "${spec.title}": series "${s.label}" has ${s.values.length} values for ${n} x labels`);
    }
  }
  const all = spec.series.flatMap((s) => s.values.filter(usable));
  // Decades that hold every value; one decade if there is nothing to draw.
  let loExp = all.length === 0 ? 0 : Math.floor(Math.log10(Math.min(...all)));
  let hiExp = all.length === 0 ? 1 : Math.ceil(Math.log10(Math.max(...all)));
  if (hiExp <= loExp) hiExp = loExp + 1;
  loExp = Math.min(loExp, hiExp - 1);
  const plotW = PLOT.right - PLOT.left;
  const plotH = PLOT.bottom - PLOT.top;
  const xAt = (i: number): number => PLOT.left + ((i + 0.5) * plotW) / Math.max(1, n);
  const yAt = (v: number): number => PLOT.bottom - ((Math.log10(v) - loExp) / (hiExp - loExp)) * plotH;
  const fmt = (v: number): string => v.toFixed(1);

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<title>${escapeXml(spec.title)}</title>`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`,
    `<text x="${PLOT.left}" y="24" font-size="16" font-weight="bold">${escapeXml(spec.title)}</text>`,
  );
  if (spec.subtitle !== undefined) out.push(`<text x="${PLOT.left}" y="44" fill="#555555">${escapeXml(spec.subtitle)}</text>`);

  // Grid: a line per decade (labelled) and light lines at 2x and 5x.
  for (let e = loExp; e <= hiExp; e++) {
    const y = fmt(yAt(10 ** e));
    out.push(`<line class="grid" x1="${PLOT.left}" x2="${PLOT.right}" y1="${y}" y2="${y}" stroke="#cccccc"/>`);
    out.push(`<text x="${PLOT.left - 8}" y="${y}" text-anchor="end" dominant-baseline="middle">${formatCount(10 ** e)}</text>`);
    if (e < hiExp) {
      for (const m of [2, 5]) {
        const ym = fmt(yAt(m * 10 ** e));
        out.push(`<line x1="${PLOT.left}" x2="${PLOT.right}" y1="${ym}" y2="${ym}" stroke="#eeeeee"/>`);
      }
    }
  }
  out.push(`<rect x="${PLOT.left}" y="${PLOT.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333333"/>`);
  spec.xLabels.forEach((label, i) => {
    const x = fmt(xAt(i));
    out.push(`<line x1="${x}" x2="${x}" y1="${PLOT.bottom}" y2="${PLOT.bottom + 5}" stroke="#333333"/>`);
    out.push(`<text x="${x}" y="${PLOT.bottom + 20}" text-anchor="middle">${escapeXml(label)}</text>`);
  });
  out.push(`<text x="${fmt((PLOT.left + PLOT.right) / 2)}" y="${HEIGHT - 24}" text-anchor="middle">${escapeXml(spec.xTitle)}</text>`);
  out.push(
    `<text transform="translate(18 ${fmt((PLOT.top + PLOT.bottom) / 2)}) rotate(-90)" text-anchor="middle">${escapeXml(spec.yTitle)}</text>`,
  );

  spec.series.forEach((s, k) => {
    const color = PALETTE[k % PALETTE.length]!; // k % length < length
    const width = s.emphasis === true ? 3 : 1.5;
    const dash = s.dashed === true ? ' stroke-dasharray="6 4"' : '';
    // A path that lifts the pen over missing values.
    let d = '';
    let penDown = false;
    s.values.forEach((v, i) => {
      if (!usable(v)) {
        penDown = false;
        return;
      }
      d += `${penDown ? 'L' : 'M'}${fmt(xAt(i))} ${fmt(yAt(v))} `;
      penDown = true;
    });
    out.push(`<g class="series" data-label="${escapeXml(s.label)}">`);
    if (d !== '') out.push(`<path d="${d.trim()}" fill="none" stroke="${color}" stroke-width="${width}"${dash}/>`);
    s.values.forEach((v, i) => {
      if (usable(v)) out.push(`<circle cx="${fmt(xAt(i))}" cy="${fmt(yAt(v))}" r="3" fill="${color}"><title>${escapeXml(`${s.label}: ${formatCount(v)}`)}</title></circle>`);
    });
    out.push('</g>');
    const ly = PLOT.top + 8 + k * 22;
    out.push(`<line x1="${LEGEND_X}" x2="${LEGEND_X + 28}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="${width}"${dash}/>`);
    out.push(`<text x="${LEGEND_X + 36}" y="${ly}" dominant-baseline="middle">${escapeXml(s.label)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

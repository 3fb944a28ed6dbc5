import { test } from 'node:test';
import assert from 'node:assert/strict';
import { escapeXml, formatCount, renderLineChart, type LineChartSpec } from '../../bench/svg-chart.js';

const spec: LineChartSpec = {
  title: 'T <&> "q"',
  xTitle: 'x',
  yTitle: 'y',
  xLabels: ['16 B', '64 B', '256 B'],
  series: [
    { label: 'a & b', values: [1e6, 2e6, 4e6], emphasis: true },
    { label: 'gap', values: [50, null, 5e7], dashed: true },
    { label: 'empty', values: [null, 0, Number.NaN] },
  ],
};

function circles(svg: string, label: string): { cx: number; cy: number }[] {
  const group = svg.split(`<g class="series" data-label="${escapeXml(label)}">`)[1]?.split('</g>')[0] ?? '';
  return [...group.matchAll(/<circle cx="([\d.]+)" cy="([\d.]+)"/g)].map((m) => ({ cx: Number(m[1]), cy: Number(m[2]) }));
}

test('renderLineChart() draws one group per series, a marker per usable value, higher values higher up', () => {
  const svg = renderLineChart(spec);
  assert.equal(svg.match(/<g class="series"/g)?.length, 3);
  const a = circles(svg, 'a & b');
  assert.equal(a.length, 3);
  // Same x order as the labels; on a log axis 1M -> 2M -> 4M rise by equal steps.
  assert.ok(a[0]!.cx < a[1]!.cx && a[1]!.cx < a[2]!.cx);
  assert.ok(a[0]!.cy > a[1]!.cy && a[1]!.cy > a[2]!.cy);
  assert.ok(Math.abs(a[0]!.cy - a[1]!.cy - (a[1]!.cy - a[2]!.cy)) < 0.2);
  // Every marker inside the plot area (the axis covers the smallest and largest value).
  const all = [...a, ...circles(svg, 'gap')];
  for (const c of all) assert.ok(c.cy >= 64 && c.cy <= 416, `marker at y=${c.cy} outside the plot`);
  assert.equal(circles(svg, 'empty').length, 0);
});

test('renderLineChart() lifts the pen over a missing value and escapes all text', () => {
  const svg = renderLineChart(spec);
  const gap = svg.split('data-label="gap">')[1]!.split('</g>')[0]!;
  assert.equal(gap.match(/ d="([^"]*)"/)?.[1]?.match(/M/g)?.length, 2, 'two segments around the null');
  assert.ok(svg.includes('T &lt;&amp;&gt; &quot;q&quot;'));
  assert.ok(!svg.includes('a & b'));
  // No raw '&' other than entities anywhere.
  assert.equal(svg.match(/&(?!amp;|lt;|gt;|quot;|apos;)/g), null);
});

test('renderLineChart() refuses series that do not match the x labels', () => {
  assert.throws(() => renderLineChart({ ...spec, series: [{ label: 's', values: [1, 2] }] }), RangeError);
});

test('formatCount() gives short axis labels', () => {
  assert.deepEqual([1, 950, 1000, 1234, 35e6, 1e9].map(formatCount), ['1', '950', '1k', '1.23k', '35M', '1G']);
});

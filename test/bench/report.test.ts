import { test } from 'node:test';
import assert from 'node:assert/strict';
import { curveMetricName } from '../../bench/curves.js';
import { metric, planFor, referenceMetric, type Metric } from '../../bench/harness.js';
import type { LoadSample } from '../../bench/machine.js';
import { formatValue, renderCurveChart, renderReport, type ReportInput } from '../../bench/report.js';
import { TARGETS, targetMet } from '../../bench/targets.js';

function load(one: number): LoadSample {
  return { at: new Date('2025-01-01T00:00:00Z'), loadavg: [one, one, one], runnable: Math.round(one) };
}

function input(metrics: Metric[], loadavg: number, error?: string): ReportInput {
  return {
    machine: { cpuModel: 'Test CPU', cores: 2, memoryBytes: 2 ** 33, node: 'v20.0.0', platform: 'linux/x64' },
    loadStart: load(loadavg),
    loadEnd: { ...load(loadavg), at: new Date('2025-01-01T00:02:05Z') },
    quick: false,
    plan: planFor({ json: false, quick: false, only: null, report: false }),
    argv: [],
    results: [
      { name: 'ring_write', metrics, seconds: 3 },
      ...(error === undefined ? [] : [{ name: 'broken', metrics: [], seconds: 1, error }]),
    ],
  };
}

test('the report shows each figure with its reference, ratio and target verdict', () => {
  const md = renderReport(
    input(
      [
        metric('write_none_ns', 45, 'ns/op', { name: 'raw_store_publish_ns', value: 13 }),
        metric('xthread_rps', 60e6, 'records/s', { name: 'ringbufjs_rps', value: 10e6 }),
        referenceMetric('postmessage_rps', 250e3, 'msgs/s'),
      ],
      0.1,
    ),
  );
  assert.match(md, /\| `write_none_ns` \| 45\.0 ns\/op \| `raw_store_publish_ns` \| 13\.0 ns\/op \| 3\.46 \| ≤ 1\.5 \(issue 2\): missed \(\[why\]\(#targets-missed-where-the-time-goes\)\) \|/);
  assert.match(md, /\| `xthread_rps` \| 60M\/s \| `ringbufjs_rps` \| 10M\/s \| 6\.00 \| ≥ 5 \(issue 2\): met \|/);
  assert.match(md, /\| `postmessage_rps` \| 250k\/s \| \(reference\) \|/);
  assert.match(md, /\| cores \| 2 \|/);
  assert.match(md, /run time \| 2 min 5 s/);
  assert.doesNotMatch(md, /shared the machine/);
  assert.match(md, /\| `write_none_ns` \|/);
});

test('the notes on missed targets are included as written, under one section, their headings one level down', () => {
  const md = renderReport(input([], 0.1), ['# write path\n\nWhere it goes.\n\n## `write_none_ns`\n\nthe waiter load\n', '# read side\n']);
  assert.match(md, /## Targets missed: where the time goes\n/);
  assert.match(md, /\n### write path\n\nWhere it goes\.\n\n#### `write_none_ns`\n\nthe waiter load\n\n### read side\n$/);
  assert.doesNotMatch(renderReport(input([], 0.1)), /Targets missed/);
});

test('the report warns about a loaded machine and names failed scenarios', () => {
  const md = renderReport(input([], 9.5, 'Error: boom\n    at x'));
  assert.match(md, /may have shared the machine during this run\*\* \(load average 9\.50 on 2 cores\n> at the start; 10 other thread\(s\) runnable/);
  assert.match(md, /### broken\n\n\*\*Failed\*\* after 1\.0 s: `Error: boom`/);
  assert.match(md, /1 scenario\(s\) failed in this run:\*\* broken/);
});

test('curve figures become a table per axis and a chart with a line per series', () => {
  const metrics = [16, 4096].flatMap((size) => [
    metric(curveMetricName('size', size, 'ring_own'), 2e6 / size, 'records/s', { name: curveMetricName('size', size, 'ringbufjs'), value: 1e6 / size }),
    metric(curveMetricName('size', size, 'ringbufjs'), 1e6 / size, 'records/s', { name: curveMetricName('size', size, 'raw_store'), value: 8e6 / size }),
    referenceMetric(curveMetricName('size', size, 'raw_store'), 8e6 / size, 'records/s'),
  ]);
  const report = input(metrics, 0.1);
  const md = renderReport(report);
  assert.match(md, /\| our ring, own lanes \| 125k \| - \| - \| - \| 488 \|/);
  assert.match(md, /!\[throughput vs record size\]\(docs\/bench\/throughput-vs-record-size\.svg\)/);
  assert.doesNotMatch(md, /## Throughput vs writer threads/);
  const svg = renderCurveChart('size', report);
  assert.equal(svg?.match(/<g class="series"/g)?.length, 3);
  assert.equal(renderCurveChart('writers', report), null);
});

test('formatValue() and the targets read as people expect', () => {
  assert.equal(formatValue(8400, 'ns'), '8.4 µs');
  assert.equal(formatValue(2.5e6, 'ns'), '2.50 ms');
  assert.equal(formatValue(1.54e9, 'B/s'), '1.54GB/s');
  assert.equal(formatValue(155e6, 'B'), '155MB');
  assert.equal(formatValue(0, 'bytes'), '0B');
  assert.equal(targetMet(TARGETS['write_none_ns']!, 1.5), true);
  assert.equal(targetMet(TARGETS['write_heap_growth_bytes']!, 1), false);
  assert.equal(targetMet(TARGETS['xthread_rps']!, 4.99), false);
});

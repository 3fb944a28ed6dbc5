/**
 * The targets the issues set for a figure's ratio (value / reference), by metric name, as listed in
 * bench/README.md. BENCHMARKS.md prints each beside the measured ratio. A metric the issues only
 * ask to report has no entry. Names not yet measured by any scenario (later issues) may be listed:
 * the report shows a target only for figures a run produced.
 */

export interface Target {
  readonly op: '<=' | '<' | '>=';
  readonly bound: number;
  /** Where the target was set, e.g. "issue 2". */
  readonly source: string;
}

export const TARGETS: Readonly<Record<string, Target>> = {
  write_none_ns: { op: '<=', bound: 1.5, source: 'issue 2' },
  write_mono_ns: { op: '<=', bound: 1.3, source: 'issue 2' },
  xthread_rps: { op: '>=', bound: 5, source: 'issue 2' },
  xthread_vs_limit_rps: { op: '>=', bound: 0.6, source: 'issue 2' },
  write_heap_growth_bytes: { op: '<', bound: 1, source: 'issue 2' },
  for_await_rps: { op: '>=', bound: 0.8, source: 'issue 3' },
  for_await_batches_rps: { op: '>=', bound: 0.8, source: 'issue 15 item 4: one promise per batch' },
  page_to_file_Bps: { op: '>=', bound: 0.8, source: 'issue 3' },
  typed_event_ns: { op: '<=', bound: 1.5, source: 'issue 4' },
  typed_event_vs_pino_ns: { op: '<=', bound: 0.1, source: 'issue 4' },
  typed_heap_growth_bytes: { op: '<', bound: 1, source: 'issue 4' },
  xprocess_rps: { op: '>=', bound: 0.8, source: 'issue 5' },
  export_peak_rss_bytes: { op: '<', bound: 0.25, source: 'issue 6' },
  http_instrumented_rps: { op: '>=', bound: 0.95, source: 'issue 7' },
  merged_read_8_lanes_ns: { op: '<=', bound: 1.3, source: 'issue 15' },
  merged_read_8_lanes_none_ns: { op: '<=', bound: 1.1, source: 'issue 15' },
  xthread_batch_rps: { op: '>=', bound: 0.5, source: 'issue 15' },
  record_tree_overhead_rps: { op: '>=', bound: 0.9, source: 'issue 14' },
  otel_span_ns: { op: '<', bound: 1, source: 'issue 7, an aim' },
  ring_transport_lines_ps: { op: '>=', bound: 2, source: 'issue 16' },
  ring_transport_e2e_lines_ps: { op: '>=', bound: 1.5, source: 'issue 16' },
};

/** Whether `ratio` meets `target`. */
export function targetMet(target: Target, ratio: number): boolean {
  switch (target.op) {
    case '<=':
      return ratio <= target.bound;
    case '<':
      return ratio < target.bound;
    case '>=':
      return ratio >= target.bound;
  }
}

/** `≤ 1.5`, `< 1`, `≥ 5`. */
export function formatTarget(target: Target): string {
  const op = target.op === '<=' ? '≤' : target.op === '>=' ? '≥' : '<';
  return `${op} ${target.bound}`;
}

/**
 * Every export of a trace, checked: the Chrome JSON against the Trace Event rules
 * (trace-event-rules.ts), the Perfetto protobuf against its track rules (perfetto-decode.ts), and
 * the two against each other: the same slices (name, start, end to the ns) in both.
 */
import { exportChrome } from '../../src/export/chrome.js';
import { exportPerfetto } from '../../src/export/perfetto.js';
import { MemorySink } from '../../src/export/sink.js';
import type { TimelineOptions, TimelineSource } from '../../src/export/timeline.js';
import { decodeTrace, type Decoded } from './perfetto-decode.js';
import { checkTraceEvents, type RulesReport, type TraceEvent } from './trace-event-rules.js';

export interface ChromeDoc {
  traceEvents: TraceEvent[];
  otherData: Record<string, unknown>;
  displayTimeUnit: string;
}

export interface Validated {
  chrome: ChromeDoc;
  rules: RulesReport;
  perfetto: Decoded;
  /** Slices that one format has and the other has not. */
  mismatched: string[];
}

/** The slices of a Chrome export (B/E by stack per thread, b/e by stack per async id, in time order) as `name|startNs|endNs`. */
export function chromeSlices(doc: ChromeDoc): string[] {
  const out: string[] = [];
  const ns = (us: number) => Math.max(0, Math.round(us * 1000));
  const stacks = new Map<string, TraceEvent[]>();
  const async = new Map<string, { e: TraceEvent; at: number }[]>();
  doc.traceEvents.forEach((e, at) => {
    if (e.ph === 'B' || e.ph === 'E') {
      const key = `${String(e.pid)}/${String(e.tid)}`;
      let s = stacks.get(key);
      if (s === undefined) stacks.set(key, (s = []));
      if (e.ph === 'B') s.push(e);
      else {
        const b = s.pop();
        if (b !== undefined) out.push(`${String(b.name)}|${ns(b.ts as number)}|${ns(e.ts as number)}`);
      }
    } else if (e.ph === 'b' || e.ph === 'e') {
      const key = `${String(e.pid)}/${String(e.cat)}/${JSON.stringify(e.id ?? e.id2)}`;
      let list = async.get(key);
      if (list === undefined) async.set(key, (list = []));
      list.push({ e, at });
    }
  });
  for (const list of async.values()) {
    const s: TraceEvent[] = [];
    for (const { e } of list.sort((a, b) => (a.e.ts as number) - (b.e.ts as number) || a.at - b.at)) {
      if (e.ph === 'b') s.push(e);
      else {
        const b = s.pop();
        if (b !== undefined) out.push(`${String(b.name)}|${ns(b.ts as number)}|${ns(e.ts as number)}`);
      }
    }
  }
  return out.sort();
}

/** Export `trace` both ways and check both. */
export function validateExports(trace: TimelineSource, options: TimelineOptions = {}): Validated {
  const json = new MemorySink();
  exportChrome(trace, json, options);
  const chrome = JSON.parse(json.toString()) as ChromeDoc;
  const proto = new MemorySink();
  exportPerfetto(trace, proto, options);
  const perfetto = decodeTrace(proto.toBytes());
  const a = chromeSlices(chrome);
  const b = perfetto.slices.map((s) => `${s.name}|${s.start}|${s.end}`).sort();
  const mismatched: string[] = [];
  const count = new Map<string, number>();
  for (const s of a) count.set(s, (count.get(s) ?? 0) + 1);
  for (const s of b) count.set(s, (count.get(s) ?? 0) - 1);
  for (const [s, n] of count) if (n !== 0 && mismatched.length < 20) mismatched.push(`${s}: ${n > 0 ? `${n} more in Chrome` : `${-n} more in Perfetto`}`);
  return { chrome, rules: checkTraceEvents(chrome), perfetto, mismatched };
}

/** Everything wrong with the exports of `trace` (empty when both need no repair and agree). */
export function exportViolations(v: Validated): string[] {
  return [...v.rules.violations.map((s) => `chrome: ${s}`), ...v.perfetto.violations.map((s) => `perfetto: ${s}`), ...v.mismatched.map((s) => `chrome vs perfetto: ${s}`)];
}

/**
 * What a ring holds, for people: counts per event type, and a window of the timeline with every
 * event of every thread in time order. Intervals (events with startNs/durationNs, see
 * docs/INTEGRATIONS.md) are placed at their start; instants at their record timestamp.
 */
import { eventRegistry, type DecodedEvent, type RingBuffer } from '../src/index.js';
import { readLog } from '../src/pino/index.js';

/** One decoded event placed on the timeline. */
export interface TimelineEntry {
  readonly at: number;
  readonly durationNs: number;
  readonly event: DecodedEvent;
  readonly text: string;
}

const ms = (ns: number) => `${(ns / 1e6).toFixed(3)} ms`;

/** A short description of an event of the integrations (the field values for any other). */
export function describe(e: DecodedEvent): string {
  const f = e.fields;
  switch (e.name) {
    case 'node.http.server':
      return `served ${String(f.method)} ${String(f.url)} -> ${String(f.status)}`;
    case 'node.http.client':
      return `http ${String(f.method)} ${String(f.host)}${String(f.path)} -> ${String(f.status)} ${String(f.error)}`;
    case 'node.fetch':
      return `fetch ${String(f.method)} ${String(f.origin)}${String(f.path)} -> ${String(f.status)} (head after ${ms(f.headersNs as number)}) ${String(f.error)}`;
    case 'node.net.connect':
      return `connect ${String(f.host) || String(f.address)}:${String(f.port)} ${String(f.error)}`;
    case 'node.net.accept':
      return `accept from ${String(f.remoteAddress)}:${String(f.remotePort)}`;
    case 'node.dns.lookup':
      return `lookup ${String(f.host)} -> ${String(f.address)}`;
    case 'node.worker.online':
      return `worker ${String(f.threadId)} online`;
    case 'node.worker.exit':
      return `worker ${String(f.threadId)} exited with ${String(f.exitCode)}`;
    case 'node.gc':
      return `gc ${String(f.kind)}`;
    case 'node.event_loop':
      return `event loop delay p50 ${ms(f.p50Ns as number)}, max ${ms(f.maxNs as number)} (${String(f.samples)} samples)`;
    case 'otel.span':
      return `span ${String(f.name)} [${String(f.kind)}] trace ${String(f.traceId).slice(0, 8)} span ${String(f.spanId).slice(0, 8)}${f.parentSpanId ? ` parent ${String(f.parentSpanId).slice(0, 8)}` : ''} ${String(f.attributes)}`;
    default:
      return JSON.stringify(f, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v));
  }
}

/** Every event in the ring (non-consuming), placed on the timeline and sorted by time. */
export function timeline(ring: RingBuffer): { entries: TimelineEntry[]; counts: Map<string, number>; lost: number } {
  const reg = eventRegistry(ring);
  const counts = new Map<string, number>();
  const entries: TimelineEntry[] = [];
  let lost = 0;
  for (const r of ring.iterator().drain()) {
    const d = reg.decode(r);
    if (d.kind === 'lost') {
      lost += Number.isNaN(d.lost) ? 0 : d.lost;
      continue;
    }
    const name = d.kind === 'event' ? d.name : `raw type ${d.type}`;
    counts.set(name, (counts.get(name) ?? 0) + 1);
    if (d.kind !== 'event') continue;
    const interval = typeof d.fields.startNs === 'number' && typeof d.fields.durationNs === 'number';
    let text = describe(d);
    if (d.name === 'pino.log') {
      const log = readLog(reg, r);
      text = `log ${String(log?.level)} ${log?.msg ?? ''} ${JSON.stringify({ ...log?.fields, level: undefined, time: undefined, msg: undefined, pid: undefined, hostname: undefined })}`;
    }
    entries.push({ at: interval ? (d.fields.startNs as number) : d.timestamp, durationNs: interval ? (d.fields.durationNs as number) : 0, event: d, text });
  }
  entries.sort((a, b) => a.at - b.at);
  return { entries, counts, lost };
}

/** One line of the timeline: time since `origin`, lane, event name, duration, description. */
export function formatEntry(e: TimelineEntry, origin: number): string {
  const dur = e.durationNs > 0 ? ms(e.durationNs).padStart(12) : ''.padStart(12);
  const offsetMs = (e.at - origin) / 1e6;
  return `${`${offsetMs < 0 ? '' : '+'}${offsetMs.toFixed(3)}`.padStart(10)} ms  lane ${e.event.lane}  ${e.event.name.padEnd(18)} ${dur}  ${e.text}`;
}

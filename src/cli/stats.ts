/**
 * `urb stats FILE`: per lane and per event, counts, bytes, losses, time span and rate.
 */
import type { TraceFile, TraceStats } from "../tracefile/trace.js";
import { type Command, oneFile } from "./command.js";
import { openTraceForCli } from "./open-trace.js";
import { ProgressBar } from "./progress.js";
import { count, table } from "./table.js";
import { formatBytes, formatDuration, formatRate, formatSeconds } from "./units.js";
import { reportWarnings } from "./warnings.js";

export const statsCommand: Command = {
  name: "stats",
  help: `Usage: urb stats [options] FILE

Per lane: records, payload bytes, records lost, uncommitted records, pages, first and last
record time, span and rate. Per event: records, bytes, rate over the whole trace and share.
Rates are shown for the mono clock only (other clocks have no seconds).

Options:
  --json        the figures as one JSON object
  -h, --help    show this help

Example:
  urb stats app.urb`,
  options: { json: { type: "boolean" } },
  async run(values, positionals, io) {
    const file = oneFile(positionals);
    const opened = openTraceForCli(file);
    try {
      const bar = new ProgressBar(io.tty, "reading");
      opened.onProgress = (f) => bar.update(f);
      let s: TraceStats;
      try {
        s = opened.trace.stats();
      } finally {
        bar.done();
      }
      io.stdout.text(values["json"] === true ? JSON.stringify(statsJson(opened.trace, s)) + "\n" : statsText(opened.trace, s, file));
      io.stdout.flush();
      return reportWarnings(opened.trace, file, io);
    } finally {
      opened.close();
    }
  },
};

function perSecond(trace: TraceFile, records: number, spanNs: number): number {
  return trace.clock === "mono" && spanNs > 0 ? (records / spanNs) * 1e9 : Number.NaN;
}

function statsJson(trace: TraceFile, s: TraceStats): unknown {
  const span = s.last - s.first;
  return {
    clock: trace.clock,
    records: s.records,
    bytes: s.bytes,
    lost: s.lost,
    uncommitted: s.uncommitted,
    damaged: s.damaged,
    damagedUnknown: s.damagedUnknown,
    damageReports: s.damageReports,
    intact: trace.intact,
    first: nullable(s.first),
    last: nullable(s.last),
    spanNs: nullable(span),
    ratePerSecond: nullable(perSecond(trace, s.records, span)),
    lanes: s.lanes.map((l) => ({ ...l, shared: l.lane >= trace.geometry.ownLanes, first: nullable(l.first), last: nullable(l.last), ratePerSecond: nullable(perSecond(trace, l.records, l.last - l.first)) })),
    events: s.types.map((t) => ({ ...t, name: t.name ?? null, ratePerSecond: nullable(perSecond(trace, t.records, span)) })),
  };
}

function nullable(n: number): number | null {
  return n === n ? n : null;
}

function statsText(trace: TraceFile, s: TraceStats, file: string): string {
  const mono = trace.clock === "mono";
  const time = (t: number) => (mono ? formatSeconds(t) : t === t ? String(t) : "-");
  const span = (a: number, b: number) => (mono ? formatDuration(b - a) : b === b ? String(b - a) : "-");
  const spanNs = s.last - s.first;
  let out = `${file}: ${count(s.records)} records, ${formatBytes(s.bytes)} of payload, ${count(s.lost)} lost` +
    (s.uncommitted ? `, ${count(s.uncommitted)} uncommitted` : "") +
    (s.damageReports ? `, DAMAGED (${s.damageReports} report${s.damageReports === 1 ? "" : "s"}, ${count(s.damaged)} records known lost to it${s.damagedUnknown ? ` and an unknown number at ${s.damagedUnknown} place${s.damagedUnknown === 1 ? "" : "s"}` : ""})` : "") +
    `, span ${span(s.first, s.last)}${mono ? `, ${formatRate(perSecond(trace, s.records, spanNs))}` : ""}\n\n`;
  const laneRows = [["lane", "kind", "records", "bytes", "lost", "damaged", "uncommitted", "pages", "first", "last", "span", "rate"]];
  const empty = s.lanes.filter((l) => l.records === 0 && l.lost === 0 && l.uncommitted === 0).length;
  for (const l of s.lanes) {
    if (l.records === 0 && l.lost === 0 && l.uncommitted === 0) continue;
    laneRows.push([
      String(l.lane),
      l.lane >= trace.geometry.ownLanes ? "shared" : "own",
      count(l.records),
      formatBytes(l.bytes),
      count(l.lost),
      count(l.damaged),
      count(l.uncommitted),
      count(l.pages),
      time(l.first),
      time(l.last),
      span(l.first, l.last),
      formatRate(perSecond(trace, l.records, l.last - l.first)),
    ]);
  }
  out += table(laneRows, [true, false, true, true, true, true, true, true, true, true, true, true]);
  out += (empty > 0 ? `(${empty} empty lane${empty === 1 ? "" : "s"} not shown)\n` : "") + "\n";
  const eventRows = [["event", "id", "records", "bytes", "rate", "share"]];
  for (const t of [...s.types].sort((a, b) => b.records - a.records)) {
    eventRows.push([
      t.name ?? `(raw type ${t.type})`,
      String(t.type),
      count(t.records),
      formatBytes(t.bytes),
      formatRate(perSecond(trace, t.records, spanNs)),
      s.records > 0 ? `${((100 * t.records) / s.records).toFixed(1)}%` : "-",
    ]);
  }
  out += table(eventRows, [false, true, true, true, true, true]);
  return out;
}

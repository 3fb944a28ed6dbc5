/**
 * The record filters shared by reading commands: `--event`, `--lane`, `--from`, `--to`, checked
 * against the file (an unknown event name or a lane the ring does not have is an error that says
 * what the file has).
 */
import type { TraceFile, TraceReadOptions } from "../tracefile/trace.js";
import { InputError, UsageError, listOption, stringOption } from "./command.js";
import { parseTime } from "./units.js";

/** Options that select records, for a command's option table. */
export const FILTER_OPTIONS = {
  event: { type: "string", multiple: true },
  lane: { type: "string", multiple: true },
  from: { type: "string" },
  to: { type: "string" },
} as const;

export const FILTER_HELP = `  --event NAME      only this event (repeat, or NAME,NAME); a number is a record type; "lost" selects loss markers
  --lane N          only lane N (repeat, or N,M)
  --from TIME       skip records before TIME (ring time: 1.5 or 1.5s, 250ms, 40us, 1200ns)
  --to TIME         stop after TIME`;

/** A parsed filter: read options for TraceFile.read plus an event-type test. */
export interface RecordFilter {
  readonly read: TraceReadOptions;
  /** Undefined: every type passes. */
  readonly types: ReadonlySet<number> | undefined;
  /** Loss markers pass (always, unless --event names events and not "lost"). */
  readonly lost: boolean;
}

export function parseFilter(values: Record<string, unknown>, trace: TraceFile, file: string): RecordFilter {
  const read: TraceReadOptions = {};
  const lanes = listOption(values, "lane");
  if (lanes.length > 0) {
    const max = trace.geometry.lanes - 1;
    read.lanes = [...new Set(lanes)].map((s) => {
      const n = Number(s);
      if (!/^\d+$/.test(s) || n > max) throw new UsageError(`option --lane: ${JSON.stringify(s)} is not a lane of ${file} (it has lanes 0 to ${max})`);
      return n;
    });
  }
  const from = stringOption(values, "from");
  const to = stringOption(values, "to");
  if (from !== undefined) read.from = parseTime("--from", from);
  if (to !== undefined) read.to = parseTime("--to", to);
  if (read.from !== undefined && read.to !== undefined && read.from > read.to) throw new UsageError(`option --from (${from}) is after --to (${to})`);
  const events = listOption(values, "event");
  if (events.length === 0) return { read, types: undefined, lost: true };
  const types = new Set<number>();
  let lost = false;
  for (const e of events) {
    if (e === "lost") lost = true;
    else if (/^\d+$/.test(e)) types.add(Number(e));
    else {
      const s = trace.registry?.schemaByName(e);
      if (s === undefined) {
        const known = trace.registry?.schemas().map((x) => x.name) ?? [];
        throw new InputError(`no event named ${JSON.stringify(e)} in ${file} (${known.length ? `it has: ${known.join(", ")}` : "it has no event schemas"})`);
      }
      types.add(s.id);
    }
  }
  return { read, types, lost };
}

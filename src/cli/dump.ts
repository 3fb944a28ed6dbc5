/**
 * `urb dump FILE`: the records as text, one per line (time, lane, event, fields), or as JSON lines.
 */
import type { RingRecord } from "../reader.js";
import { fieldsJson, fieldsText, hex, jsonNumber, TEXT_BYTES_SHOWN, truncatedJson } from "../export/fields.js";
import type { TraceFile } from "../tracefile/trace.js";
import { type Command, oneFile, stringOption } from "./command.js";
import { openTraceForCli } from "./open-trace.js";
import { FILTER_HELP, FILTER_OPTIONS, parseFilter } from "./trace-filter.js";
import { formatSeconds, parseCount } from "./units.js";
import { reportWarnings } from "./warnings.js";

export const dumpCommand: Command = {
  name: "dump",
  help: `Usage: urb dump [options] FILE

Print the records of a trace file in time order, one per line:
  TIME (s since ring time 0)  LANE  [PID/THREAD NAME]  EVENT  FIELDS
(the writer's process id, Node.js threadId and thread name, where the file says who wrote it:
every record of \`urb record\`, and of any ring whose writers had an identity)

Options:
${FILTER_HELP}
  --json            one JSON object per line: {"t":ns,"lane":0,"event":"name","id":4096,"fields":{...}}
                    ("truncated":[names] when string or bytes fields were cut when written;
                    "pid", "threadId", "thread" when the writer is known)
  --wall            print wall-clock times (ISO 8601, UTC) instead of seconds
  -n, --limit N     stop after N records
  -h, --help        show this help

Example:
  urb dump app.urb --event http_request --from 1s --to 2s
  urb dump app.urb --json | jq .fields.status`,
  options: {
    ...FILTER_OPTIONS,
    json: { type: "boolean" },
    wall: { type: "boolean" },
    limit: { type: "string", short: "n" },
  },
  async run(values, positionals, io) {
    const file = oneFile(positionals);
    const limitText = stringOption(values, "limit");
    const limit = limitText === undefined ? Infinity : parseCount("--limit", limitText, 0, Number.MAX_SAFE_INTEGER);
    const opened = openTraceForCli(file);
    try {
      const filter = parseFilter(values, opened.trace, file);
      const line = values["json"] === true ? jsonLine(opened.trace) : textLine(opened.trace, values["wall"] === true);
      const out = io.stdout;
      let shown = 0;
      // Stop reading early at --limit: the visitor throws this sentinel, caught below.
      const enough = {};
      try {
        opened.trace.read((r) => {
          if (r.kind === "lost" ? !filter.lost : filter.types !== undefined && !filter.types.has(r.type)) return;
          if (shown >= limit) throw enough;
          shown++;
          out.text(line(r));
        }, filter.read);
      } catch (e) {
        if (e !== enough) throw e;
      }
      out.flush();
      return reportWarnings(opened.trace, file, io);
    } finally {
      opened.close();
    }
  },
};

/** The text formatter: `   0.001234567  L0  http_request  status=200 url="/"`. */
function textLine(trace: TraceFile, wall: boolean): (r: RingRecord) => string {
  const registry = trace.registry;
  const laneWidth = String(trace.geometry.lanes - 1).length;
  const mono = trace.clock === "mono";
  const time = wall && mono ? (ns: number) => wallTime(trace.epochWallMs, ns) : mono ? (ns: number) => formatSeconds(ns, 14) : (t: number) => String(t).padStart(14);
  return (r) => {
    const head = `${time(r.timestamp)}  L${String(r.lane).padEnd(laneWidth)}  ${whoText(r)}`;
    if (r.kind === "lost") return `${head}LOST  ${r.lost === r.lost ? `${r.lost} records` : "an unknown number of records"} (${r.cause || "unknown"})\n`;
    const v = registry === undefined ? "no schemas in the file" : registry.view(r);
    if (typeof v !== "string" && v.schema !== undefined) return `${head}${v.schema.name}  ${fieldsText(v, v.schema)}\n`;
    const bytes = r.bytes.subarray(r.offset, r.offset + r.length);
    const shown = hex(bytes, TEXT_BYTES_SHOWN) + (r.length > TEXT_BYTES_SHOWN ? "..." : "");
    return `${head}type ${r.type}  len=${r.length} data=${shown}${r.type >= 4096 ? `  (${v})` : ""}\n`;
  };
}

/** The JSON-lines formatter. */
function jsonLine(trace: TraceFile): (r: RingRecord) => string {
  const registry = trace.registry;
  return (r) => {
    const head = `{"t":${jsonNumber(r.timestamp)},"lane":${r.lane}${whoJson(r)}`;
    if (r.kind === "lost") return `${head},"lost":${r.lost === r.lost ? jsonNumber(r.lost) : null},"cause":${JSON.stringify(r.cause || "unknown")}}\n`;
    const v = registry === undefined ? "no schemas in the file" : registry.view(r);
    if (typeof v !== "string" && v.schema !== undefined) {
      const cut = truncatedJson(v, v.schema);
      return `${head},"event":${JSON.stringify(v.schema.name)},"id":${r.type},"fields":${fieldsJson(v, v.schema)}${cut === "" ? "" : `,"truncated":${cut}`}}\n`;
    }
    return `${head},"type":${r.type},"data":"${hex(r.bytes.subarray(r.offset, r.offset + r.length))}"${r.type >= 4096 ? `,"warning":${JSON.stringify(v)}` : ""}}\n`;
  };
}

/** `4774/0 main  `: who wrote the record, or nothing when the file does not say (FORMAT.md 8.3). */
function whoText(r: RingRecord): string {
  if (r.pid === 0) return "";
  return `${r.pid}/${r.threadId}${r.threadName === "" ? "" : ` ${r.threadName}`}  `;
}

/** `,"pid":4774,"threadId":0,"thread":"main"`, or nothing when the writer is unknown. */
function whoJson(r: RingRecord): string {
  if (r.pid === 0) return "";
  return `,"pid":${r.pid},"threadId":${r.threadId},"thread":${JSON.stringify(r.threadName)}`;
}

/** Ring time as a wall-clock ISO time with microseconds: `2025-01-02T03:04:05.123456Z`. */
export function wallTime(epochWallMs: number, ns: number): string {
  const ms = epochWallMs + ns / 1e6;
  const whole = Math.floor(ms);
  const micro = Math.floor((ms - whole) * 1000);
  return new Date(whole).toISOString().replace("Z", `${String(micro).padStart(3, "0")}Z`);
}

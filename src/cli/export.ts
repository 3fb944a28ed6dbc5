/**
 * `urb export FILE --format chrome|perfetto -o OUT`: the trace in a format other tools open.
 * Streamed record by record (memory does not grow with the file), with a progress bar on a terminal.
 */
import { extname } from "node:path";
import { exportChrome } from "../export/chrome.js";
import { exportPerfetto } from "../export/perfetto.js";
import type { TimelineSummary } from "../export/timeline.js";
import { type Command, InputError, UsageError, oneFile, stringOption } from "./command.js";
import { describeFsError, openTraceForCli } from "./open-trace.js";
import { FdOutput } from "./output.js";
import { ProgressBar } from "./progress.js";
import { FILTER_HELP, FILTER_OPTIONS, parseFilter } from "./trace-filter.js";
import { formatBytes } from "./units.js";
import { reportWarnings } from "./warnings.js";

const FORMATS = { chrome: ".json", perfetto: ".pftrace" } as const;

export const exportCommand: Command = {
  name: "export",
  help: `Usage: urb export [options] FILE

Convert a trace file for other tools:
  chrome     Chrome Trace Event JSON: open it in https://ui.perfetto.dev, chrome://tracing
             or Speedscope.
  perfetto   Perfetto's protobuf trace (TracePacket stream): open it in the Perfetto UI or
             query it with trace_processor.
Each process and thread that wrote records is a process and thread of the output, with its
name; records that do not say who wrote them are threads "lane N" of pid 1. Synchronous
_start/_end slices nest on their thread; intervals (events with durationNs: requests, spans,
GC pauses) sit at their startNs on async tracks under their thread. See docs/CLI.md.

Options:
  -f, --format F    chrome (default) or perfetto
  -o, --output OUT  where to write; "-" for stdout. Default: FILE with .json / .pftrace
${FILTER_HELP}
  --name NAME       the name of pid 1, which holds the lanes of records that do not say who
                    wrote them (default: the file name)
  -q, --quiet       no progress bar
  -h, --help        show this help

Example:
  urb export app.urb --format chrome -o app.json`,
  options: {
    format: { type: "string", short: "f" },
    output: { type: "string", short: "o" },
    name: { type: "string" },
    quiet: { type: "boolean", short: "q" },
    ...FILTER_OPTIONS,
  },
  async run(values, positionals, io) {
    const file = oneFile(positionals);
    const format = stringOption(values, "format") ?? "chrome";
    if (format !== "chrome" && format !== "perfetto") throw new UsageError(`option --format: expected chrome or perfetto, received ${JSON.stringify(format)}`);
    const output = stringOption(values, "output") ?? defaultOutput(file, FORMATS[format]);
    const opened = openTraceForCli(file);
    try {
      const filter = parseFilter(values, opened.trace, file);
      let out: FdOutput;
      try {
        out = output === "-" ? io.stdout : FdOutput.open(output);
      } catch (e) {
        throw new InputError(`cannot write ${output}: ${describeFsError(e)}`);
      }
      const bar = new ProgressBar(values["quiet"] === true ? undefined : io.tty, "exporting");
      let records = 0;
      opened.onProgress = (f) => bar.update(f, records);
      const options = { ...filter.read, types: filter.types, lost: filter.lost, processName: stringOption(values, "name") ?? file, onProgress: (n: number) => (records = n) };
      let summary: TimelineSummary;
      try {
        summary = format === "chrome" ? exportChrome(opened.trace, out, options) : exportPerfetto(opened.trace, out, options);
      } finally {
        bar.done();
        if (out === io.stdout) out.flush();
        else out.close();
      }
      if (output !== "-" && io.tty !== undefined && values["quiet"] !== true) {
        const extra = [summary.unpaired ? `${summary.unpaired} unpaired _end events` : "", summary.unfinished ? `${summary.unfinished} unfinished slices` : ""].filter(Boolean);
        io.error(`wrote ${output} (${format}, ${summary.records} records, ${formatBytes(out.written)})${extra.length ? `; ${extra.join(", ")}` : ""}`);
      }
      return reportWarnings(opened.trace, file, io);
    } finally {
      opened.close();
    }
  },
};

/** `app.urb` -> `app.json`; a file without the .urb extension gets the new one appended. */
export function defaultOutput(file: string, ext: string): string {
  return extname(file) === ".urb" ? file.slice(0, -4) + ext : file + ext;
}

/**
 * `urb view FILE -o view.html`: one self-contained HTML file with a zoomable timeline of the trace
 * (src/export/view-data.ts says how big traces are sampled).
 */
import { closeSync, readFileSync, writeFileSync } from "node:fs";
import { openOutputFile } from "../node/output-file.js";
import { basename } from "node:path";
import { clientScriptForPage, renderViewHtml } from "../export/html-view.js";
import { buildViewData } from "../export/view-data.js";
import { type Command, InputError, oneFile, stringOption } from "./command.js";
import { defaultOutput } from "./export.js";
import { describeFsError, openTraceForCli } from "./open-trace.js";
import { ProgressBar } from "./progress.js";
import { FILTER_HELP, FILTER_OPTIONS, parseFilter } from "./trace-filter.js";
import { formatBytes } from "./units.js";
import { reportWarnings } from "./warnings.js";

export const viewCommand: Command = {
  name: "view",
  help: `Usage: urb view [options] FILE

Write one HTML file (no network needed to open it) with a zoomable timeline of the trace: rows
by process and thread with their names, each thread's async rows (requests, spans, GC pauses)
under it, slices and instants labelled where they fit, a distinct colour per event type, lost
records as red markers, the details of the event clicked, a search box, a density strip per
thread and a chart of events per second by type. Up to 200,000 events are embedded; past that
each row is sampled uniformly (1 in N, shown on the page) while the density strips and rates
stay exact.

Options:
  -o, --output OUT  the HTML file. Default: FILE with .html
${FILTER_HELP}
  --title TEXT      the page title (default: the file name)
  -q, --quiet       no progress bar
  -h, --help        show this help

Example:
  urb view app.urb -o app.html && xdg-open app.html`,
  options: {
    output: { type: "string", short: "o" },
    title: { type: "string" },
    quiet: { type: "boolean", short: "q" },
    ...FILTER_OPTIONS,
  },
  async run(values, positionals, io) {
    const file = oneFile(positionals);
    const output = stringOption(values, "output") ?? defaultOutput(file, ".html");
    const opened = openTraceForCli(file);
    try {
      const filter = parseFilter(values, opened.trace, file);
      const bar = new ProgressBar(values["quiet"] === true ? undefined : io.tty, "reading");
      let records = 0;
      opened.onProgress = (f) => bar.update(f, records);
      let html: string;
      try {
        const data = buildViewData(opened.trace, {
          ...filter.read,
          types: filter.types,
          lost: filter.lost,
          title: stringOption(values, "title") ?? basename(file),
          processName: basename(file),
          onProgress: (n) => (records = n),
        });
        html = renderViewHtml(data, clientScriptForPage(readFileSync(new URL("../export/view-client.js", import.meta.url), "utf8")));
      } finally {
        bar.done();
      }
      try {
        const fd = openOutputFile(output);
        try {
          writeFileSync(fd, html);
        } finally {
          closeSync(fd);
        }
      } catch (e) {
        throw new InputError(`cannot write ${output}: ${describeFsError(e)}`);
      }
      if (io.tty !== undefined && values["quiet"] !== true) io.error(`wrote ${output} (${formatBytes(Buffer.byteLength(html))})`);
      return reportWarnings(opened.trace, file, io);
    } finally {
      opened.close();
    }
  },
};

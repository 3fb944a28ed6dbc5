/**
 * The self-contained HTML page of `urb view`: the view data as embedded JSON, the compiled
 * view-client script and the styles inline, so the file opens from disk with no network.
 */
import type { ViewData } from "./view-data.js";

/** The page's script from the compiled view-client.js (module markers and source map comment removed). */
export function clientScriptForPage(compiled: string): string {
  return compiled
    .replace(/^export \{\};?\s*$/m, "")
    .replace(/^\/\/# sourceMappingURL=.*$/m, "")
    .trim();
}

/** JSON for inside a <script> element: every "<" escaped (JSON has them only in strings), so nothing can end it. */
function jsonForScript(json: string): string {
  return json.replace(/</g, "\\u003c");
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"]/g, (c) => (c === "&" ? "&amp;" : c === "<" ? "&lt;" : c === ">" ? "&gt;" : "&quot;"));
}

const STYLE = `
:root { color-scheme: light; }
body { font: 13px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; color: #222; background: #f6f7f9; }
header { padding: 12px 16px 6px; }
h1 { font-size: 16px; margin: 0 0 4px; font-weight: 600; }
h2 { font-size: 13px; margin: 12px 16px 4px; font-weight: 600; color: #444; }
.summary { color: #555; }
.note { color: #8a5a00; }
.toolbar { display: flex; gap: 6px; align-items: center; padding: 6px 16px; }
.toolbar button { font: inherit; padding: 2px 10px; border: 1px solid #bbb; border-radius: 4px; background: #fff; cursor: pointer; }
.toolbar .range { margin-left: 8px; color: #555; font-variant-numeric: tabular-nums; }
.panel { margin: 0 16px; background: #fff; border: 1px solid #ddd; border-radius: 4px; }
canvas { display: block; width: 100%; cursor: grab; }
#legend { display: flex; flex-wrap: wrap; gap: 4px 12px; padding: 8px 16px; }
#legend .type { font: inherit; background: none; border: 0; padding: 0; cursor: pointer; color: #222; }
#legend .type.off { opacity: 0.35; }
#legend small { color: #777; }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 4px; vertical-align: -1px; }
.toolbar input[type=search] { font: inherit; padding: 2px 6px; border: 1px solid #bbb; border-radius: 4px; width: 260px; margin-left: 16px; }
.toolbar .found { color: #555; }
#details { margin: 8px 16px 0; padding: 8px 10px; background: #fff; border: 1px solid #ddd; border-radius: 4px; min-height: 20px; color: #555; }
#details .title { font-weight: 600; color: #222; margin-bottom: 4px; overflow-wrap: anywhere; }
#details table { border-collapse: collapse; font-variant-numeric: tabular-nums; table-layout: fixed; width: 100%; }
#details th { text-align: left; font-weight: 500; color: #666; padding: 1px 12px 1px 0; vertical-align: top; width: 160px; overflow-wrap: anywhere; }
#details td { color: #222; padding: 1px 0; overflow-wrap: anywhere; font-family: ui-monospace, "SF Mono", Menlo, Consolas, monospace; font-size: 12px; }
#tooltip { position: absolute; background: #222; color: #fff; padding: 3px 6px; border-radius: 3px; font-size: 12px; pointer-events: none; white-space: nowrap; max-width: 60vw; overflow: hidden; text-overflow: ellipsis; }
footer { color: #777; padding: 8px 16px 16px; font-size: 12px; }
`;

/** A one-line summary of the data for the page header. */
function summary(data: ViewData): string {
  const s = data.spanNs / 1e9;
  const when = Number.isFinite(data.epochWallMs) ? new Date(data.epochWallMs + data.originNs / 1e6).toISOString() : "";
  const threads = data.rows.filter((r) => r.kind === "thread").length;
  const plural = (n: number, what: string): string => `${n} ${what}${n === 1 ? "" : what.endsWith("s") ? "es" : "s"}`;
  return `${data.records.toLocaleString("en-US")} records of ${plural(data.processes.length, "process")} and ${plural(threads, "thread")} over ${s.toFixed(s < 1 ? 6 : 3)} s` +
    `${data.lostTotal ? `, ${data.lostTotal.toLocaleString("en-US")} lost` : ""}${when ? `, from ${when}` : ""} (clock: ${data.clock})`;
}

/**
 * The whole page for `data`, with `script` (see {@link clientScriptForPage}) inline.
 *
 * @example
 * ```ts
 * const html = renderViewHtml(buildViewData(trace, { title: "app.urb" }), clientScriptForPage(readFileSync(clientPath, "utf8")));
 * ```
 */
export function renderViewHtml(data: ViewData, script: string): string {
  const note = data.stride > 1 ? `<div class="note">Showing 1 in ${data.stride} events of each row; the density strips and rates count every event.</div>` : "";
  if (/<\/script|<!--/i.test(script)) throw new Error("urb view: the page script contains </script or <!--, which would end its element");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>${escapeHtml(data.title)} - urb view</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>${escapeHtml(data.title)}</h1>
<div class="summary">${escapeHtml(summary(data))}</div>
${note}
</header>
<div class="toolbar">
<button id="zoom-in" type="button" title="Zoom in (+)">+</button>
<button id="zoom-out" type="button" title="Zoom out (-)">&minus;</button>
<button id="zoom-reset" type="button" title="Show everything (0)">reset</button>
<span class="range" id="range"></span>
<input id="search" type="search" placeholder="Search names, types and fields" aria-label="search events">
<span class="found" id="found"></span>
</div>
<div class="panel"><canvas id="timeline" aria-label="timeline, one row per thread, grouped by process"></canvas></div>
<div id="details" aria-live="polite"></div>
<div id="legend"></div>
<h2>Events per second</h2>
<div class="panel"><canvas id="rates" aria-label="event rate per type"></canvas></div>
<footer>Wheel to zoom around the pointer, drag to pan, +/-/0 keys, click an event for its fields. Times are from the first record. Written by urb view (unified-ring-buffer).</footer>
<div id="tooltip" hidden></div>
<script type="application/json" id="urb-data">${jsonForScript(JSON.stringify(data))}</script>
<script type="module">${script}</script>
</body>
</html>
`;
}

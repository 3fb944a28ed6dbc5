/**
 * `urb info FILE`: what the file is (stream, snapshot, recovered; closed cleanly or damaged), the
 * ring it came from (geometry, clock, epoch) and its event schemas in their textual form. Reads
 * the chunk headers only, not the records.
 */
import type { TraceFile } from "../tracefile/trace.js";
import { type Command, oneFile } from "./command.js";
import { openTraceForCli } from "./open-trace.js";
import { formatBytes, formatWall } from "./units.js";

export const infoCommand: Command = {
  name: "info",
  help: `Usage: urb info [options] FILE

Describe a trace file without reading its records: kind (page stream, snapshot, recovered),
whether its writer closed it, damage found in its framing, the ring's geometry, clock and epoch,
and the event schemas it carries (ftrace "format" style).

Options:
  --json        the same as one JSON object
  -h, --help    show this help

Example:
  urb info app.urb`,
  options: { json: { type: "boolean" } },
  async run(values, positionals, io) {
    const file = oneFile(positionals);
    const opened = openTraceForCli(file);
    try {
      io.stdout.text(values["json"] === true ? JSON.stringify(infoJson(opened.trace, file)) + "\n" : infoText(opened.trace, file));
      io.stdout.flush();
      return 0;
    } finally {
      opened.close();
    }
  },
};

function kind(t: TraceFile): string {
  return t.recovered ? "recovered from a crashed ring's memory" : t.snapshot ? "snapshot" : "page stream";
}

function infoJson(t: TraceFile, file: string): unknown {
  const g = t.geometry;
  return {
    file,
    size: t.size,
    kind: t.recovered ? "recovered" : t.snapshot ? "snapshot" : "stream",
    createdMs: t.createdMs,
    closedCleanly: t.end !== undefined,
    end: t.end ?? null,
    warnings: t.warnings.map((w) => ({ message: w.message, byteOffset: w.byteOffset })),
    geometry: { ...g, mode: g.overwrite ? "overwrite" : "discard" },
    clock: t.clock,
    epochWallMs: t.epochWallMs,
    epochMonotonicNs: t.epochMonotonicNs ?? null,
    schemas: t.registry?.schemas().map((s) => ({ id: s.id, name: s.name, fields: s.fields.map((f) => ({ name: f.name, type: f.type, param: f.param, names: f.names })) })) ?? [],
  };
}

function infoText(t: TraceFile, file: string): string {
  const g = t.geometry;
  const lines = [
    `file:      ${file}`,
    `size:      ${formatBytes(t.size)} (${t.size} bytes)`,
    `kind:      ${kind(t)}, ${t.end !== undefined ? "closed cleanly by its writer" : "not closed (the writer stopped early or the file was cut)"}`,
    `created:   ${formatWall(t.createdMs)}`,
    `ring:      ${g.ownLanes} own lane(s) + ${g.sharedLanes} shared, ${g.lanePages} pages x ${formatBytes(g.pageSize)} per lane, ${g.overwrite ? "overwrite" : "discard"} mode`,
    `records:   at most ${g.maxPayload} payload bytes each; metadata area ${formatBytes(g.metadataBytes)}; ${g.maxProducers} producer slots`,
    `clock:     ${t.clock}${t.clock === "mono" ? " (ns since ring time 0, shared by all threads)" : ""}`,
    `epoch:     ring time 0 = ${formatWall(t.epochWallMs)}${t.epochMonotonicNs !== undefined ? `, CLOCK_MONOTONIC ${t.epochMonotonicNs} ns` : ""}`,
  ];
  if (t.end !== undefined) lines.push(`writer:    ${JSON.stringify(t.end)}`);
  for (const w of t.warnings) lines.push(`damage:    ${w.message} (byte ${w.byteOffset})`);
  const schemas = t.registry?.schemas() ?? [];
  lines.push("", `schemas:   ${schemas.length}`);
  let out = lines.join("\n") + "\n";
  if (schemas.length > 0) out += "\n" + (t.registry?.describe() ?? "");
  return out;
}

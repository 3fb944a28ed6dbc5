/**
 * `urb attach RING`: follow a file ring (a ring in a shared file mapping, `createFileRing`) and
 * print its events as other processes commit them, decoded with the schemas in the ring, until
 * Ctrl-C. Needs the native addon (file rings).
 */
import type { Decoded } from "../schema/registry.js";
import { followFileRing } from "../node/follow.js";
import { type Command, oneFile } from "./command.js";
import { formatSeconds } from "./units.js";

export const attachCommand: Command = {
  name: "attach",
  help: `Usage: urb attach [options] RING

Print the events of a file ring (made with createFileRing, e.g. in /dev/shm) as the processes
writing it commit them, one per line, until Ctrl-C:
  TIME (s since ring time 0)  LANE  EVENT  FIELDS
Typed events are decoded with the schemas stored in the ring. Nothing is consumed: the writers'
own readers are not disturbed.

Options:
  --from-start   first print what the ring holds already (default: only new events)
  --json         one JSON object per line
  -h, --help     show this help

Example:
  urb attach /dev/shm/myapp.ring`,
  options: { "from-start": { type: "boolean" }, json: { type: "boolean" } },
  async run(values, positionals, io) {
    const file = oneFile(positionals, "RING");
    const json = values["json"] === true;
    const ac = new AbortController();
    const stop = () => ac.abort();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    try {
      const summary = await followFileRing(
        file,
        (e) => {
          io.stdout.text(json ? jsonLine(e) : textLine(e));
          io.stdout.flush();
        },
        { signal: ac.signal, from: values["from-start"] === true ? "start" : "now" },
      );
      io.error(`attach: ${summary.records} events${summary.lost > 0 ? `, ${summary.lost} lost (overwritten before they were printed)` : ""}`);
      return 0;
    } finally {
      process.removeListener("SIGINT", stop);
      process.removeListener("SIGTERM", stop);
    }
  },
};

const big = (_: string, v: unknown) => (typeof v === "bigint" ? String(v) : v instanceof Uint8Array ? Buffer.from(v).toString("hex") : v);

function textLine(e: Decoded): string {
  const head = `${formatSeconds(e.timestamp, 14)}  L${e.lane}  `;
  if (e.kind === "lost") {
    const why = e.cause === "damaged" ? `damaged: bad word at byte ${e.damageOffset ?? "?"} of the ring, rest of its page skipped` : e.cause || "unknown";
    return `${head}LOST  ${e.lost === e.lost ? `${e.lost} records` : "an unknown number of records"} (${why})\n`;
  }
  if (e.kind === "raw") return `${head}type ${e.type}  len=${e.payload.length} data=${Buffer.from(e.payload.subarray(0, 32)).toString("hex")}${e.payload.length > 32 ? "..." : ""}\n`;
  const fields = Object.entries(e.fields)
    .map(([k, v]) => `${k}=${typeof v === "string" ? JSON.stringify(v) : JSON.stringify(v, big)}`)
    .join(" ");
  return `${head}${e.name}  ${fields}\n`;
}

function jsonLine(e: Decoded): string {
  if (e.kind === "lost") {
    const at = e.cause === "damaged" ? { offset: e.damageOffset } : {};
    return `${JSON.stringify({ t: e.timestamp, lane: e.lane, lost: e.lost === e.lost ? e.lost : null, cause: e.cause || "unknown", ...at })}\n`;
  }
  if (e.kind === "raw") return `${JSON.stringify({ t: e.timestamp, lane: e.lane, type: e.type, data: Buffer.from(e.payload).toString("hex") })}\n`;
  return `${JSON.stringify({ t: e.timestamp, lane: e.lane, event: e.name, id: e.id, fields: e.fields }, big)}\n`;
}

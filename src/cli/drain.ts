/**
 * `urb drain RING --config FILE`: the drain process of a file ring that application processes
 * write log lines or spans into (src/node/drain-service.ts). `ringTransport()` and
 * `ringSpanProcessor()` start it on demand; users run it themselves to keep one serving.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import type { DrainConfig } from "../node/drain-service.js";
import { type Command, InputError, UsageError, oneFile, stringOption } from "./command.js";
import { parseCount } from "./units.js";

export const drainCommand: Command = {
  name: "drain",
  help: `Usage: urb drain [options] RING

Drain a file ring that application processes write pino log lines or OpenTelemetry spans into
(ringTransport() of "unified-ring-buffer/pino", ringSpanProcessor() of "unified-ring-buffer/otel"),
to pino's transport targets or to a span exporter. One drain serves a ring (a lock file RING.drain
holds its pid); a second exits at once. Writers that die are reclaimed and what they committed is
delivered. Without --keep it exits once no writer is left; lines lost to a full ring are written
to the targets as a warning line and counted on stderr.

Options:
  --config FILE        the sinks, as JSON: {"pino": {"targets": [{"target": "pino/file",
                       "options": {"destination": "app.log"}}]}} (pino.transport()'s targets,
                       pipeline, levels, dedupe), or {"otel": {"exporter": {"module": "PATH-OR-PACKAGE",
                       "name": "ExportName", "options": {...}}, "resource": {"service.name": "api"}}}
  --config-json JSON   the same, inline
  --keep               keep serving when no writer is left (until SIGINT/SIGTERM)
  --linger-ms MS       wait this long for a new writer before exiting (default 500)
  -h, --help           show this help

Example:
  urb drain /dev/shm/app.ring --keep --config drain.json`,
  options: {
    config: { type: "string" },
    "config-json": { type: "string" },
    keep: { type: "boolean" },
    "linger-ms": { type: "string" },
  },
  async run(values, positionals, io) {
    const ring = resolve(oneFile(positionals));
    const config = await readConfig(stringOption(values, "config"), stringOption(values, "config-json"));
    const linger = stringOption(values, "linger-ms");
    const { serveDrain } = await import("../node/drain-service.js");
    const stop = new AbortController();
    const onSignal = () => stop.abort();
    process.once("SIGINT", onSignal).once("SIGTERM", onSignal);
    try {
      const report = await serveDrain(ring, config, {
        keep: values.keep === true,
        signal: stop.signal,
        ...(linger !== undefined ? { lingerMs: parseCount("--linger-ms", linger, 0, 86_400_000) } : {}),
        log: (line) => io.error(`drain: ${line}`),
      });
      if (report === undefined) {
        io.error(`drain: ${ring} is served by another drain process (lock ${ring}.drain); nothing to do`);
        return 0;
      }
      io.error(`drain: ${ring}: ${report.records} records delivered, ${report.lost} lost, ${report.reclaimed} dead writers reclaimed${report.failed > 0 ? `, ${report.failed} spans failed to export` : ""}`);
      return 0;
    } finally {
      process.off("SIGINT", onSignal).off("SIGTERM", onSignal);
    }
  },
};

/** The config of --config / --config-json, its pino targets resolved from the working directory as pino.transport() does. */
async function readConfig(file: string | undefined, inline: string | undefined): Promise<DrainConfig> {
  if ((file === undefined) === (inline === undefined)) throw new UsageError("give the sinks with --config FILE or --config-json JSON (one of them)");
  let value: unknown;
  try {
    value = JSON.parse(inline ?? readFileSync(file as string, "utf8"));
  } catch (e) {
    throw new InputError(`cannot read the drain config ${file ?? "(--config-json)"}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const c = value as { pino?: Record<string, unknown>; otel?: Record<string, unknown> } | null;
  if (c === null || typeof c !== "object" || (c.pino === undefined) === (c.otel === undefined)) {
    throw new InputError('the drain config must be an object with one of "pino" or "otel"');
  }
  if (c.pino !== undefined) {
    if (typeof c.pino.worker === "string") return { pino: c.pino as never }; // already resolved (by ringTransport)
    const { resolvePinoDrainConfig } = await import("../node/pino-sink.js");
    try {
      return { pino: resolvePinoDrainConfig(c.pino, `${process.cwd()}/`) };
    } catch (e) {
      throw new InputError(`the drain config's pino targets: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  const otel = c.otel as { exporter?: { module?: unknown } };
  if (typeof otel.exporter?.module !== "string") throw new InputError('the drain config\'s otel needs "exporter": { "module": ..., "name": ..., "options": ... }');
  return { otel: otel as never };
}

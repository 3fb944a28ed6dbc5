/** Reading log lines back out of a ring. */
import type { RecordData, RingRecord } from "../reader.js";
import type { EventRegistry } from "../schema/index.js";
import { CLOCK_MONO } from "../layout.js";
import { PINO_LOG_EVENT } from "./log-event.js";

/** pino's default level labels, for lines written with a label formatter. */
const LEVEL_VALUES: Readonly<Record<string, number>> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 };

/** One log line read back. */
export interface LogEntry {
  /** pino's numeric level (30 = info, 50 = error, ...): the stored one, else the line's `level` (a number, or one of pino's default labels), else 0. */
  readonly level: number;
  /** Unix time in ms: the line's own `time` when it has a numeric one, else the record timestamp on the wall clock (mono rings, or `options.epochWallMs`), else NaN. */
  readonly time: number;
  /** The message (the line's `msg`, or the given message key), or "" if none. */
  readonly msg: string;
  /** Every field of the line (parsed JSON), or `{}` when the line is not complete JSON (truncated). */
  readonly fields: Record<string, unknown>;
  /** The line as pino wrote it. */
  readonly line: string;
  /** True when the line was cut to the event's maximum length. */
  readonly truncated: boolean;
  /** Ring time of the log call, and the lane of the thread that logged. */
  readonly timestamp: number;
  readonly lane: number;
}

/** Options of {@link readLog}. */
export interface ReadLogOptions {
  /** pino's `messageKey` option (default "msg"). */
  messageKey?: string;
  /**
   * Wall-clock ms at ring time 0, for lines without a numeric `time` (e.g. `TraceFile.epochWallMs`
   * for records read from a trace file). Default: the registry's ring's, when it uses the mono clock.
   */
  epochWallMs?: number;
}

/**
 * The log line in `record` (a `pino.log` event), or undefined for any other record.
 *
 * @example
 * ```ts
 * const reg = eventRegistry(ring);
 * ring.consumer().read((r) => { const log = readLog(reg, r); if (log && log.level >= 50) console.log(log.time, log.msg); });
 * ```
 */
export function readLog(registry: EventRegistry, record: RingRecord | RecordData, options: ReadLogOptions = {}): LogEntry | undefined {
  if (record.kind !== "data" || registry.schema(record.type)?.name !== PINO_LOG_EVENT) return undefined;
  const d = registry.decode(record);
  if (d.kind !== "event") return undefined;
  const line = d.fields.line as string;
  let fields: Record<string, unknown> = {};
  try {
    const v: unknown = JSON.parse(line);
    if (v !== null && typeof v === "object" && !Array.isArray(v)) fields = v as Record<string, unknown>;
  } catch {
    // a truncated line: level, time and the raw text remain
  }
  let level = d.fields.level as number;
  if (level === 0) {
    const l = fields.level;
    level = typeof l === "number" ? l : typeof l === "string" ? (LEVEL_VALUES[l] ?? 0) : 0;
  }
  const ring = registry.ring;
  const epochWallMs = options.epochWallMs ?? (ring !== undefined && ring.geometry.clock === CLOCK_MONO ? ring.epochWallMs : undefined);
  const time = typeof fields.time === "number" ? fields.time : epochWallMs !== undefined ? epochWallMs + record.timestamp / 1e6 : Number.NaN;
  const msg = fields[options.messageKey ?? "msg"];
  return {
    level,
    time,
    msg: typeof msg === "string" ? msg : "",
    fields,
    line,
    truncated: d.truncated.length > 0,
    timestamp: record.timestamp,
    lane: record.lane,
  };
}

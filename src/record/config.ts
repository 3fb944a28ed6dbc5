/**
 * What `urb record` hands to the preload in every Node.js process of the traced command: the file
 * ring to attach to (urb created it and drains it to the trace file), as JSON in the
 * {@link RECORD_ENV} environment variable (environment variables are what reaches a Node process
 * started by `npm start` through a shell, a cluster fork or a child_process spawn).
 */
import type { RingOptions } from "../ring.js";

/** The environment variable that carries the {@link RecordConfig}. */
export const RECORD_ENV = "URB_RECORD";

/** Global slot (per thread) of the recording: `{ buffer, ring }`. */
export const RECORD_GLOBAL = Symbol.for("unified-ring-buffer/record");

export interface RecordConfig {
  /** Absolute path of the file ring (createFileRing) that every recorded process maps. */
  readonly ring: string;
  /** Absolute path of the `.urb` file urb writes. */
  readonly out: string;
  readonly lanes: number;
  readonly sharedLanes: number;
  readonly pageSize: number;
  readonly pagesPerLane: number;
  readonly mode: "overwrite" | "discard";
  /** How often the committed part of unfinished pages reaches the file, in ms. */
  readonly flushMs: number;
  /** Record Node's own events (HTTP, fetch, net, DNS, workers, GC, event-loop delay) with `instrument()`. */
  readonly instrument: boolean;
}

/** Producer slots of a recording's ring: writers of every thread of every process of the command. */
export const RECORD_MAX_PRODUCERS = 1024;

/** The ring options of a config. */
export function ringOptions(c: RecordConfig): RingOptions {
  return { lanes: c.lanes, sharedLanes: c.sharedLanes, pageSize: c.pageSize, pagesPerLane: c.pagesPerLane, mode: c.mode, clock: "mono", maxProducers: RECORD_MAX_PRODUCERS };
}

/** The config in `env`, or undefined when there is none; throws TypeError naming what is wrong in a malformed one. */
export function readRecordConfig(env: Record<string, string | undefined>): RecordConfig | undefined {
  const text = env[RECORD_ENV];
  if (text === undefined || text === "") return undefined;
  let c: Partial<Record<keyof RecordConfig, unknown>>;
  try {
    c = JSON.parse(text) as typeof c;
  } catch {
    throw new TypeError(`${RECORD_ENV} is not JSON`);
  }
  const int = (k: keyof RecordConfig) => {
    const v = c[k];
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0) throw new TypeError(`${RECORD_ENV}.${k} must be a non-negative integer, received ${JSON.stringify(v)}`);
    return v;
  };
  if (typeof c.out !== "string" || c.out === "") throw new TypeError(`${RECORD_ENV}.out must be a path`);
  if (typeof c.ring !== "string" || c.ring === "") throw new TypeError(`${RECORD_ENV}.ring must be a path`);
  if (c.mode !== "overwrite" && c.mode !== "discard") throw new TypeError(`${RECORD_ENV}.mode must be overwrite or discard`);
  if (c.instrument !== undefined && typeof c.instrument !== "boolean") throw new TypeError(`${RECORD_ENV}.instrument must be a boolean`);
  return {
    ring: c.ring,
    out: c.out,
    lanes: int("lanes"),
    sharedLanes: int("sharedLanes"),
    pageSize: int("pageSize"),
    pagesPerLane: int("pagesPerLane"),
    mode: c.mode,
    flushMs: int("flushMs"),
    instrument: c.instrument !== false,
  };
}

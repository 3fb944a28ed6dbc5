/**
 * The typed event of a pino log line (`pino.log`): the numeric level as a fixed field (so readers
 * filter by level without parsing; 0 when the line does not start with pino's numeric level) and
 * the line itself, as pino serialized it (JSON with time, msg
 * and every binding and field). The record timestamp is the moment of the log call on the ring
 * clock, which places the line on the timeline beside spans and HTTP events.
 *
 * The line's maximum length depends on the ring's page size (a record never straddles pages):
 * min(16384, largest payload - 4) bytes. Longer lines are truncated at a character boundary and
 * flagged.
 */
import { t } from "../schema/index.js";
import type { RingBuffer } from "../ring.js";
import { VAR_PREFIX_BYTES } from "../schema/metadata-layout.js";

/** Name of the log line event in the ring's metadata area. */
export const PINO_LOG_EVENT = "pino.log";

/** Longest line kept, in UTF-8 bytes, on rings whose pages allow it. */
export const MAX_LINE_BYTES = 16384;

/** Bytes of the fixed section (the u16 level). */
const LEVEL_BYTES = 2;

/** The fields of `pino.log` on `ring`. */
export function pinoLogFields(ring: RingBuffer) {
  const max = Math.min(MAX_LINE_BYTES, ring.geometry.maxPayload - LEVEL_BYTES - VAR_PREFIX_BYTES);
  return { level: t.u16, line: t.string(max) } as const;
}

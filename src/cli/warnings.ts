/**
 * Damage found in a trace file (truncation, a bad checksum, a page that does not parse) is not an
 * error for a reading command: every intact record was read. It is reported on stderr, one line
 * each (at most {@link MAX_SHOWN}), after the output.
 */
import type { TraceFile } from "../tracefile/trace.js";
import type { CliIo } from "./command.js";

const MAX_SHOWN = 5;

/** Print the trace's warnings; returns the exit code (0: damage is reported, not fatal). */
export function reportWarnings(trace: TraceFile, file: string, io: CliIo): number {
  const w = trace.warnings;
  for (const e of w.slice(0, MAX_SHOWN)) io.error(`warning: ${file}: ${e.message} (byte ${e.byteOffset})`);
  if (w.length > MAX_SHOWN) io.error(`warning: ${file}: ${w.length - MAX_SHOWN} more damage reports`);
  return 0;
}

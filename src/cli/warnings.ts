/**
 * Damage found in a trace file (truncation, a bad checksum, a chunk header that is not intact, a page
 * that does not parse) does not stop a reading command: every intact record was read. It is
 * reported on stderr, one line each (at most {@link MAX_SHOWN}), after the output, with a last line
 * that counts it, and the command exits 1: an output that looks complete but is not must not end
 * with success (docs/CLI.md).
 */
import type { TraceFile } from "../tracefile/trace.js";
import type { CliIo } from "./command.js";

const MAX_SHOWN = 5;

/** Exit code of a reading command that met damage (everything intact was still read). */
export const EXIT_DAMAGED = 1;

/** Print the trace's warnings; returns the exit code: 0 for an undamaged file, {@link EXIT_DAMAGED} otherwise. */
export function reportWarnings(trace: TraceFile, file: string, io: CliIo): number {
  if (trace.warnings.length === 0) return 0;
  const s = trace.stats(); // counted in a pass of its own (dump reads with filters): damage is rare, and must not go uncounted
  const w = trace.warnings;
  for (const e of w.slice(0, MAX_SHOWN)) io.error(`warning: ${file}: ${e.message} (byte ${e.byteOffset})`);
  if (w.length > MAX_SHOWN) io.error(`warning: ${file}: ${w.length - MAX_SHOWN} more damage reports`);
  io.error(
    `warning: ${file}: damaged: ${w.length} damage report${w.length === 1 ? "" : "s"}, ${s.damaged} records known lost to the damage` +
      `${s.damagedUnknown ? ` and an unknown number at ${s.damagedUnknown} place${s.damagedUnknown === 1 ? "" : "s"}` : ""}; every intact chunk was read`,
  );
  return EXIT_DAMAGED;
}

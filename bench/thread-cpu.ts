/**
 * CPU time of the calling thread, for figures that must not depend on how the machine's other work
 * schedules the measured threads (on 2 shared cores a throughput moves 2x between runs; the CPU
 * time per request moves far less).
 */
import { readFileSync } from 'node:fs';

/**
 * CPU time this thread has run so far, in ns: the first field of Linux's
 * /proc/thread-self/schedstat (time on a CPU, in ns). Null where it cannot be read (not Linux, or
 * no /proc), so callers report nothing rather than a wrong figure.
 */
export function threadCpuNs(): number | null {
  try {
    const ns = Number(readFileSync('/proc/thread-self/schedstat', 'latin1').split(' ')[0]);
    return Number.isFinite(ns) && ns > 0 ? ns : null;
  } catch {
    return null;
  }
}

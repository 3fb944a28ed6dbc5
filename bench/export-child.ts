/**
 * Child process of bench/export.ts: runs one `urb` command line in-process (the same runCli the
 * executable runs), timed, then reports on fd 3 `{ seconds, maxRssBytes, code }` as JSON: the peak
 * resident set of this whole process, Node itself included.
 *
 * The peak comes from `VmHWM` in /proc/self/status where there is one, not from
 * `process.resourceUsage().maxRSS`: Linux carries a process's `ru_maxrss` across exec, and libuv
 * spawns with vfork, so a child's maxRSS starts at its parent's peak. The bench parent holds
 * hundreds of MiB after the ring scenarios; that made the export look 0.58 of the file's size when
 * it was 0.24. `VmHWM` is the high-water mark of the address space exec gave this program.
 *
 *   node dist/bench/export-child.js export big.urb --format chrome -o /dev/null 3>result.json
 */
import { readFileSync, writeSync } from 'node:fs';
import { runCli } from '../src/cli/run.js';

const t0 = performance.now();
const code = await runCli(process.argv.slice(2));
const seconds = (performance.now() - t0) / 1e3;
writeSync(3, JSON.stringify({ seconds, maxRssBytes: peakRssBytes(), code }));

/** This program's peak resident set: VmHWM on Linux, else the rusage figure (see above). */
function peakRssBytes(): number {
  try {
    const hwm = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (hwm) return Number(hwm[1]) * 1024;
  } catch {
    // no procfs: fall through
  }
  return process.resourceUsage().maxRSS * 1024;
}

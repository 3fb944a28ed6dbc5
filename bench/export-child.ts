/**
 * Child process of bench/export.ts: runs one `urb` command line in-process (the same runCli the
 * executable runs), timed, then reports on fd 3 `{ seconds, maxRssBytes, code }` as JSON: the peak
 * resident set of this whole process (`process.resourceUsage().maxRSS`), Node itself included.
 *
 *   node dist/bench/export-child.js export big.urb --format chrome -o /dev/null 3>result.json
 */
import { writeSync } from 'node:fs';
import { runCli } from '../src/cli/run.js';

const t0 = performance.now();
const code = await runCli(process.argv.slice(2));
const seconds = (performance.now() - t0) / 1e3;
writeSync(3, JSON.stringify({ seconds, maxRssBytes: process.resourceUsage().maxRSS * 1024, code }));

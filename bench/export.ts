/**
 * Exporting a large trace file (issue 6): `urb export --format chrome` against `urb dump` of the
 * same file, and the export's peak memory against the file's size (it streams; it must not load
 * the file).
 *
 * | metric                  | ours                                                        | reference                 | target |
 * | ----------------------- | ----------------------------------------------------------- | ------------------------- | ------ |
 * | export_chrome_rps       | records/s of `urb export FILE --format chrome -o /dev/null` | dump_rps: `urb dump FILE > /dev/null` | reported |
 * | export_peak_rss_bytes   | peak RSS of the export's process (Node included)            | 268435456: the file's size | < 0.25 |
 *
 * The file: 256 MiB (`--quick`: 32 MiB, and then export_peak_rss_bytes's reference is that file's
 * size, 33554432, so the ratio is not the target's) written by this process with a ring and
 * `pipeToFile`: 4 lanes of typed events of every shape the exporter knows (a `durationNs` slice,
 * `_start`/`_end` pairs, a one-field counter, an instant with a string), about 21 bytes a record
 * in the file (12.9 million records in the full file), handed off every 5,120 records, so the
 * file's chunks hold one page each (the reader holds one chunk per lane). The file ends at the
 * first hand-off past its size, a fraction of a MiB beyond it; the reference is the nominal size.
 *
 * Each command runs once, dump then export (each takes tens of seconds on the full file), in a
 * child process (bench/export-child.js: it calls the CLI's runCli and reports its time and
 * its VmHWM, see there). Output goes to /dev/null: this measures reading, decoding and
 * formatting, not the disk.
 */
import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRing, defineEvent, t, type RingWriter } from '../src/index.js';
import { pipeToFile } from '../src/node/index.js';
import { metric, type Scenario } from './harness.js';

const FULL_BYTES = 256 * 1024 * 1024;
const QUICK_BYTES = 32 * 1024 * 1024;
const CHILD = fileURLToPath(new URL('./export-child.js', import.meta.url));

/** Write a trace file of about `bytes` bytes; returns its record count. */
function writeTrace(path: string, bytes: number): number {
  const ring = createRing({ lanes: 4, sharedLanes: 0, pageSize: 65536, pagesPerLane: 64, mode: 'discard' });
  const request = defineEvent(ring, 'http_request', { status: t.u16, durationNs: t.u64 });
  const start = defineEvent(ring, 'job_start', { job: t.u32 });
  const end = defineEvent(ring, 'job_end', { job: t.u32 });
  const gauge = defineEvent(ring, 'queue_depth', { depth: t.u32 });
  const note = defineEvent(ring, 'note', { code: t.u16, text: t.string(24) });
  const writers: RingWriter[] = [0, 1, 2, 3].map((lane) => ring.writer({ lane }));
  const pipe = pipeToFile(ring, path);
  let records = 0;
  for (let n = 0; pipe.stats.bytes < bytes; n++) {
    const w = writers[n & 3] as RingWriter;
    start.write(w, { job: n });
    request.write(w, { status: 200, durationNs: 1000 + (n % 5000) });
    gauge.write(w, { depth: n % 100 });
    note.write(w, { code: n % 600, text: 'request handled' });
    end.write(w, { job: n });
    records += 5;
    if ((n & 1023) === 0) pipe.pump();
  }
  pipe.close();
  return records;
}

/** Run `urb args` in a child; its stdout goes to /dev/null. */
function timed(args: string[]): Promise<{ seconds: number; maxRssBytes: number }> {
  return new Promise((ok, fail) => {
    const child = spawn(process.execPath, [CHILD, ...args], { stdio: ['ignore', 'ignore', 'pipe', 'pipe'] });
    let report = '';
    let stderr = '';
    (child.stdio[3] as Readable).setEncoding('utf8').on('data', (s: string) => (report += s));
    child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.once('error', fail);
    child.once('close', (code) => {
      if (code !== 0 || report === '') return fail(new Error(`urb ${args.join(' ')} failed (exit ${code}): ${stderr}`));
      const r = JSON.parse(report) as { seconds: number; maxRssBytes: number; code: number };
      if (r.code !== 0) return fail(new Error(`urb ${args.join(' ')} exited ${r.code}: ${stderr}`));
      ok(r);
    });
  });
}

export const exportScenario: Scenario = {
  name: 'export',
  async run(opts) {
    const dir = mkdtempSync(join(tmpdir(), 'urb-bench-export-'));
    try {
      const path = join(dir, 'big.urb');
      const target = opts.quick ? QUICK_BYTES : FULL_BYTES;
      const records = writeTrace(path, target);
      if (statSync(path).size < target) throw new Error(`the trace file is smaller than ${target} bytes`);
      const dump = await timed(['dump', path]);
      const exported = await timed(['export', path, '--format', 'chrome', '-o', '/dev/null']);
      return [
        metric('export_chrome_rps', records / exported.seconds, 'records/s', { name: 'dump_rps', value: records / dump.seconds }),
        metric('export_peak_rss_bytes', exported.maxRssBytes, 'B', { name: 'file_bytes', value: target }),
      ];
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};

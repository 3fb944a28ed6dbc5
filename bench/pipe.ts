/**
 * Page hand-off to a file (issue 3) against writing the same bytes with plain `fs.writeSync`.
 *
 * | metric                       | ours                                                         | reference        |
 * | ---------------------------- | ------------------------------------------------------------ | ---------------- |
 * | page_to_file_Bps             | `pipe.pump()` of a full discard-mode ring (zero-copy writev)  | raw_fs_write_Bps |
 * | page_to_file_overwrite_Bps   | the same from an overwrite-mode ring (copy, validate, writev) | raw_fs_write_Bps |
 *
 * The ring: 4 lanes x 64 pages x 4 KiB (1 MiB of pages), filled with 240-byte records before each
 * timed call (not timed). Ours counts page bytes per second of `pump()` (the framing, a 40-byte
 * chunk header per run of a lane's pages and a PAD chunk per full batch, is written but not counted). raw_fs_write_Bps writes the same number of bytes from an
 * ordinary buffer with one `writeSync` per 256 KiB (the pipe's batch of 64 pages) into a fresh file in
 * the same directory. Both files are in the OS temp dir (page cache: this measures the hand-off's
 * CPU cost, not the disk).
 *
 * 60 alternated timed calls per sampler (12 per planned rep: a call is a quarter of a millisecond).
 *
 * Steady state: every sampler runs WARMUP_CALLS times untimed first. pump() is JavaScript that the
 * engine compiles as it runs (about 60 calls of this size before it is fully optimized: 1.4 ms for
 * the first call, 150 us by the tenth, 16-22 us when optimized, against about 200 us for the write
 * itself), while the reference's writeSync is native from the start; with the harness's single
 * warm-up call the figure was mostly the JIT's tier-up, a one-off cost of a few milliseconds per
 * process, not the hand-off's throughput (bench/notes/page-to-file.md).
 */
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRing, type RingBuffer } from '../src/index.js';
import { pipeToFile } from '../src/node/index.js';
import { alternateMedians, metric, planFor, type Scenario } from './harness.js';

const LANES = 4;
const PAGES = 64;
const PAGE = 4096;
/** Untimed calls of every sampler before the timed ones (see above). */
const WARMUP_CALLS = 100;

function fill(ring: RingBuffer): number {
  const payload = new Uint8Array(240).fill(7);
  let bytes = 0;
  for (let lane = 0; lane < LANES; lane++) {
    const w = ring.writer({ lane });
    // Leave one page for the writer to stand in: the hand-off takes complete pages only.
    const perPage = Math.floor((PAGE - 48) / 248);
    // One record more than the pages hold: it opens the last page, which closes the one before.
    for (let i = 0; i < perPage * (PAGES - 1) + 1; i++) w.write(1, payload);
    w.close();
    bytes += (PAGES - 1) * PAGE;
  }
  return bytes;
}

export const pipeScenario: Scenario = {
  name: 'page_to_file',
  async run(opts) {
    const plan = planFor(opts);
    const dir = mkdtempSync(join(tmpdir(), 'urb-bench-'));
    try {
      const expect = (PAGES - 1) * PAGE * LANES;
      const handOff = (mode: 'discard' | 'overwrite') => () => {
        const ring = createRing({ lanes: LANES, sharedLanes: 0, pageSize: PAGE, pagesPerLane: PAGES, mode, metadataBytes: 0, clock: 'none' });
        const bytes = fill(ring);
        const path = join(dir, `${mode}.urb`);
        const pipe = pipeToFile(ring, path);
        const t0 = performance.now();
        pipe.pump();
        const s = (performance.now() - t0) / 1e3;
        if (pipe.stats.pages * PAGE !== expect) throw new Error(`handed off ${pipe.stats.pages} pages, expected ${expect / PAGE}`);
        pipe.close();
        rmSync(path);
        return bytes / s;
      };
      const source = new Uint8Array(expect).fill(7);
      const raw = () => {
        const path = join(dir, 'raw.bin');
        const fd = openSync(path, 'w', 0o600);
        const chunk = 64 * PAGE;
        const t0 = performance.now();
        for (let at = 0; at < source.length; at += chunk) writeSync(fd, source, at, Math.min(chunk, source.length - at));
        const s = (performance.now() - t0) / 1e3;
        closeSync(fd);
        rmSync(path);
        return source.length / s;
      };
      for (let i = 0; i < WARMUP_CALLS; i++) {
        handOff('discard')();
        handOff('overwrite')();
        raw();
      }
      const m = await alternateMedians({ zero: handOff('discard'), copy: handOff('overwrite'), raw }, plan.reps * 12);
      return [
        metric('page_to_file_Bps', m.zero, 'B/s', { name: 'raw_fs_write_Bps', value: m.raw }),
        metric('page_to_file_overwrite_Bps', m.copy, 'B/s', { name: 'raw_fs_write_Bps', value: m.raw }),
      ];
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};

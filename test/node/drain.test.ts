/**
 * The drain (src/node/drain.ts): a writer that died leaves BUSY reservations (reclaimed, then
 * everything it committed reaches the file) and drops it never reported in-band (reported by the
 * drain as a LOST chunk, exactly once, on per-thread and shared lanes).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRing } from '../../src/index.js';
import { drainRing, openTraceFile, pipeToFile } from '../../src/node/index.js';

/** A pid that names no running process (a child that has exited and was reaped). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '0']);
  return r.pid as number;
}

function readBack(path: string): { records: number; lost: number; dropped: number; warnings: number } {
  const t = openTraceFile(path);
  let records = 0;
  let lost = 0;
  let dropped = 0;
  try {
    t.read((r) => {
      if (r.kind === 'data') records++;
      else {
        lost += r.lost;
        if (r.cause === 'dropped') dropped += r.lost;
      }
    });
    return { records, lost, dropped, warnings: t.warnings.length };
  } finally {
    t.close();
  }
}

for (const lane of [0, 'shared'] as const) {
  test(`drain: a dead writer's unreported drops and its open reservation (${lane === 0 ? 'per-thread' : 'shared'} lane): records + lost = written + dropped, exactly`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'urb-drain-'));
    try {
      const ring = createRing({ lanes: 1, sharedLanes: 1, pageSize: 1024, pagesPerLane: 4, mode: 'discard' });
      const w = ring.writer({ lane, tag: deadPid() });
      let written = 0;
      for (let i = 0; i < 500; i++) if (w.write(1, new Uint8Array(16))) written++;
      assert.ok(w.dropped > 0, 'the lane filled');
      const out = join(dir, 'd.urb');
      const pipe = pipeToFile(ring, out);
      pipe.pump(); // room again: one more record reports the drops so far in-band ...
      assert.ok(w.write(1, new Uint8Array(16)));
      written++;
      const reportedInBand = w.dropped;
      for (let i = 0; i < 500; i++) if (w.write(1, new Uint8Array(16))) written++; // ... and these drops are never reported
      const open = w.reserve(1, 8); // left open: the writer "dies" here
      assert.equal(open, -1, 'still full');
      const report = await drainRing(ring, pipe, { stopWhenNoWriters: () => true, checkMs: 0 });
      assert.equal(report.reclaimed, 1);
      // The reclaim retired the dead writer: its drops that no LOST record carries went to the lane's
      // L_UNREPORTED, which the pipe reports (FORMAT.md 4.1, 9.7.1); the drain reports nothing itself.
      assert.ok(w.dropped - reportedInBand > 0, 'drops never reported in-band');
      assert.equal(report.unreported, 0);
      const back = readBack(out);
      assert.equal(back.warnings, 0);
      assert.equal(back.records, written);
      assert.equal(back.lost, w.dropped, 'every drop reported once: in-band, or by the drain');
      assert.equal(back.dropped, w.dropped);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('drain: a dead writer\'s BUSY reservation is reclaimed, and the records committed after it reach the file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'urb-drain-'));
  try {
    const ring = createRing({ lanes: 0, sharedLanes: 1, pageSize: 1024, pagesPerLane: 4, mode: 'discard' });
    const dead = ring.writer({ lane: 'shared', tag: deadPid() });
    const live = ring.writer({ lane: 'shared' });
    assert.ok(dead.reserve(1, 8) >= 0); // never committed
    for (let i = 0; i < 10; i++) live.write(2, new Uint8Array(8));
    live.close();
    const out = join(dir, 'b.urb');
    const report = await drainRing(ring, pipeToFile(ring, out), { stopWhenNoWriters: () => true, checkMs: 0 });
    assert.deepEqual([report.reclaimed, report.abandoned], [1, 1]);
    assert.equal(readBack(out).records, 10);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

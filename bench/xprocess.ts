/**
 * Across processes: `xprocess_rps`, records/s from a writer *process* to this process over a file
 * ring in /dev/shm (mmap'ed through the native addon, unified-ring-buffer/node), against
 * `xthread_rps` (the same from a worker thread, bench/ring.ts#openOurs()) measured in the same run
 * with alternating repetitions. Same ring geometry (one per-thread lane, 16 KiB pages x 16,
 * discard mode, clock none), same records, same busy-polling `read(visitor)` reader, same checksum.
 *
 * The control block (run start/stop/done) lives in its own small file mapped by both processes:
 * `Atomics.wait/notify` do not cross processes, so runs are started by an IPC message and the
 * stop and end of a run are plain atomic stores and loads, as between threads.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, ftruncateSync, openSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RecordTally } from './record-tally.js';
import { createFileRing } from '../src/node/index.js';
import { nativeAddon } from '../src/node/native.js';
import { alternateMedians, metric, planFor, type Scenario } from './harness.js';
import { CTRL_BYTES, CTRL_STOP_INDEX, expectedChecksum, requestStop } from './peers/layout.js';
import { consumeRun } from './consume-run.js';
import type { ThroughputSession } from './peers/raw.js';
import { openOurs } from './ring.js';

const PAGE = 16384;

function scratchPath(name: string): string {
  return join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), `urb-bench-${name}-${process.pid}-${randomBytes(4).toString('hex')}`);
}

/** A writer process -> this process's consumer over a file ring, checksum-verified. */
async function openXprocess(): Promise<ThroughputSession> {
  const ringPath = scratchPath('ring');
  const ctrlPath = scratchPath('ctrl');
  const ring = createFileRing(ringPath, { lanes: 1, sharedLanes: 0, pageSize: PAGE, pagesPerLane: 16, mode: 'discard', clock: 'none', metadataBytes: 0 });
  const fd = openSync(ctrlPath, 'w+', 0o600);
  ftruncateSync(fd, CTRL_BYTES);
  const ctrl = new Int32Array(nativeAddon().mapShared(fd, CTRL_BYTES));
  closeSync(fd);
  const child: ChildProcess = fork(new URL('./xprocess-writer.js', import.meta.url), [ringPath, ctrlPath], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let failure: Error | null = null;
  child.once('exit', (code, signal) => {
    failure ??= new Error(`xprocess writer exited (${code ?? signal})`);
  });
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', () => reject(failure));
  });
  const reader = ring.consumer();
  const tally = new RecordTally();
  const visit = tally.visit;
  let runId = 0;
  let readSoFar = 0;
  return {
    // The reader loop of ring.ts#openOurs(), with the run started by a message instead of a notify.
    async runOnce(durationMs: number): Promise<number> {
      if (failure !== null) throw failure;
      runId += 1;
      tally.reset();
      // Clear the previous run's stop request before the run starts; read by the writer's loop.
      Atomics.store(ctrl, CTRL_STOP_INDEX, 0);
      const wrote = new Promise<number>((resolve) => child.once('message', (m: { count: number }) => resolve(m.count)));
      child.send({ runId });
      const elapsed = consumeRun([ctrl], runId, durationMs, () => reader.read(visit), 'xprocess writer');
      const written = await wrote;
      const expected = expectedChecksum(readSoFar | 0, tally.count);
      if (tally.sum !== expected || tally.lost !== 0 || written !== tally.count) {
        throw new Error(`xprocess: checksum ${tally.sum} != ${expected} over ${tally.count} records (writer wrote ${written}), or ${tally.lost} lost`);
      }
      readSoFar += tally.count;
      return tally.count / (elapsed / 1e3);
    },
    async close() {
      reader.close();
      requestStop(ctrl);
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.send({ exit: true });
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
      for (const p of [ringPath, ctrlPath]) {
        try {
          unlinkSync(p);
        } catch {
          // gone already
        }
      }
    },
  };
}

export const xprocessScenario: Scenario = {
  name: 'ring_xprocess',
  async run(opts) {
    const plan = planFor(opts);
    const xp = await openXprocess();
    const xt = await openOurs('none');
    try {
      const r = await alternateMedians({ xp: () => xp.runOnce(plan.durationMs), xt: () => xt.runOnce(plan.durationMs) }, plan.reps);
      return [metric('xprocess_rps', r.xp, 'records/s', { name: 'xthread_rps', value: r.xt })];
    } finally {
      await xp.close();
      await xt.close();
    }
  },
};

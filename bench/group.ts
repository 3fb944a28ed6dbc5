/**
 * A consumer group of 2 reader threads sharing one lane (issue 3), against the main-thread
 * `for await` consumer of the same writer.
 *
 * | metric                | ours                                                           | reference      |
 * | --------------------- | -------------------------------------------------------------- | -------------- |
 * | consumer_group_2r_rps | a writer thread, 2 group-member threads busy-reading one lane   | for_await_rps  |
 *
 * The writer is bench/ring-writer.js (16-byte records, waiting for room while the lane is full); the
 * members (bench/group-reader.js) count records; throughput is sampled from their published
 * counts over `durationMs`; at the end the members drain and the checksum of everything they read
 * must equal the writer's sequence (no record twice, none missing). On this 2-core machine three
 * busy threads share two cores: the figure says what a group costs there, not what it scales to.
 */
import { createRing } from '../src/index.js';
import { alternateMedians, metric, planFor, startWorker, type BenchWorker, type Scenario } from './harness.js';
import { CTRL_BYTES, beginRun, expectedChecksum, isRunFinished, requestStop } from './peers/layout.js';
import { openForAwait } from './ring.js';

async function groupRun(durationMs: number): Promise<number> {
  const ring = createRing({ lanes: 1, sharedLanes: 0, pageSize: 4096, pagesPerLane: 16, mode: 'discard', clock: 'none', metadataBytes: 0 });
  const ctrl = new Int32Array(new SharedArrayBuffer(CTRL_BYTES));
  const countsSab = new SharedArrayBuffer(4 * 3);
  const counts = new Int32Array(countsSab);
  const workers: BenchWorker[] = [];
  try {
    for (const index of [1, 2]) workers.push(await startWorker(new URL('./group-reader.js', import.meta.url), { ringSab: ring.buffer, countsSab, index }));
    const writer = await startWorker(new URL('./ring-writer.js', import.meta.url), { ctrlSab: ctrl.buffer, ringSab: ring.buffer, lane: 0, spinWhenFull: true });
    workers.push(writer);
    const done = workers.slice(0, 2).map(
      (w) => new Promise<{ count: number; sum: number }>((resolve) => w.worker.on('message', (m: { type: string; count: number; sum: number }) => m.type === 'done' && resolve(m))),
    );
    beginRun(ctrl, 1);
    await new Promise((r) => setTimeout(r, 50)); // warm up
    // Acquire the members' published counts.
    const c0 = Atomics.load(counts, 1) + Atomics.load(counts, 2);
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, durationMs));
    const c1 = Atomics.load(counts, 1) + Atomics.load(counts, 2);
    const rate = (c1 - c0) / ((performance.now() - t0) / 1e3);
    requestStop(ctrl);
    while (!isRunFinished(ctrl, 1)) await new Promise((r) => setTimeout(r, 1));
    Atomics.store(counts, 0, 1); // ask the members to stop once the lane is empty; pairs with their Atomics.load
    const res = await Promise.all(done);
    const count = res[0]!.count + res[1]!.count;
    const sum = (res[0]!.sum + res[1]!.sum) | 0;
    if (sum !== expectedChecksum(0, count)) throw new Error(`consumer group: checksum ${sum} != ${expectedChecksum(0, count)} over ${count} records (a record read twice or missed)`);
    return rate;
  } finally {
    for (const w of workers) await w.stop();
  }
}

export const groupScenario: Scenario = {
  name: 'consumer_group',
  async run(opts) {
    const plan = planFor(opts);
    const fa = await openForAwait();
    try {
      const r = await alternateMedians({ group: () => groupRun(plan.durationMs), fa: () => fa.runOnce(plan.durationMs) }, plan.reps);
      return [metric('consumer_group_2r_rps', r.group, 'records/s', { name: 'for_await_rps', value: r.fa })];
    } finally {
      await fa.close();
    }
  },
};

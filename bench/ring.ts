/**
 * Our ring against the references, each pair measured in the same run with alternating repetitions.
 *
 * | metric                   | ours                                                  | reference                  |
 * | ------------------------ | ----------------------------------------------------- | -------------------------- |
 * | write_none_ns            | reserve + 4 Int32 stores + commit, own lane, clock none | raw_store_publish_ns     |
 * | write_mono_ns            | same, clock mono (one performance.now() per record)    | raw_clock_store_publish_ns |
 * | xthread_rps              | worker writer -> main-thread consumer (read API)       | ringbufjs_rps              |
 * | xthread_vs_limit_rps     | same                                                   | raw_batched_ring_rps       |
 * | xthread_mono_rps         | same with clock mono                                    | xthread_rps                |
 * | xthread_batch_rps        | batch writer (32 a batch) -> main-thread readBatches() | raw_batched_ring_rps       |
 * | shared_lane_2w_rps       | 2 worker writers on one shared lane, no reader         | own_lanes_2w_rps           |
 * | write_heap_growth_bytes  | JS heap growth over 10 M writes (GC before and after)  | 1000000                    |
 *
 * Rings: 16 KiB pages. Single-thread loops use overwrite mode with no reader (the flight recorder:
 * page recycling is part of the cost). Cross-thread runs use discard mode and the writer waits
 * while the ring is full (reserveWaiting(); the batch writer spins on tryReserveBatch(), like the
 * peers' writers): no record is lost, and the checksum proves it.
 */
import { createRing, type RingBuffer } from '../src/index.js';
import { RecordTally } from './record-tally.js';
import { alternateMedians, heapGrowthBytes, measureNsPerOpInterleaved, metric, planFor, startWorker, type OpLoop, type Scenario } from './harness.js';
import { CTRL_BYTES, RECORD_BYTES, beginRun, expectedChecksum, isRunFinished, requestStop } from './peers/layout.js';
import { consumeRun } from './consume-run.js';
import { RAW_RING_BATCH, closeWorker, makeRawClockStorePublishLoop, makeRawStorePublishLoop, openRawBatchedRing, throwIfFailed, type ThroughputSession } from './peers/raw.js';
import { openRingbufjs } from './peers/ringbufjs.js';

const PAGE = 16384;

function writeLoop(ring: RingBuffer): OpLoop {
  const w = ring.writer();
  let seq = 0;
  return (n: number): void => {
    const writer = w;
    const i32 = w.i32;
    const recordBytes = RECORD_BYTES;
    let s = seq;
    for (let k = 0; k < n; k++) {
      const at = writer.reserve(1, recordBytes);
      const i = at >> 2;
      i32[i] = recordBytes;
      i32[i + 1] = s;
      i32[i + 2] = (s + 1) | 0;
      i32[i + 3] = -s | 0;
      writer.commit(at);
      s = (s + 1) | 0;
    }
    seq = s;
  };
}

export const writeScenario: Scenario = {
  name: 'ring_write',
  run(opts) {
    const plan = planFor(opts);
    const none = createRing({ lanes: 1, sharedLanes: 0, pageSize: PAGE, pagesPerLane: 16, clock: 'none', metadataBytes: 0 });
    const mono = createRing({ lanes: 1, sharedLanes: 0, pageSize: PAGE, pagesPerLane: 16, clock: 'mono', metadataBytes: 0 });
    const r = measureNsPerOpInterleaved(
      {
        ours_none: writeLoop(none),
        raw: makeRawStorePublishLoop(),
        ours_mono: writeLoop(mono),
        raw_clock: makeRawClockStorePublishLoop(),
      },
      plan.opsPerRun,
      plan.nsReps,
    );
    return Promise.resolve([
      metric('write_none_ns', r.ours_none, 'ns/op', { name: 'raw_store_publish_ns', value: r.raw }),
      metric('write_mono_ns', r.ours_mono, 'ns/op', { name: 'raw_clock_store_publish_ns', value: r.raw_clock }),
    ]);
  },
};

/**
 * Worker writer -> main-thread consumer through our read API, checksum-verified. With `batch` > 0,
 * the batch path at both ends: the worker writes batches of `batch` records (ring-batch-writer.ts)
 * and the reader takes them with readBatches().
 */
export async function openOurs(clock: 'none' | 'mono', batch = 0): Promise<ThroughputSession> {
  const ring = createRing({ lanes: 1, sharedLanes: 0, pageSize: PAGE, pagesPerLane: 16, mode: 'discard', clock, metadataBytes: 0 });
  const ctrlSab = new SharedArrayBuffer(CTRL_BYTES);
  const ctrl = new Int32Array(ctrlSab);
  const bench =
    batch > 0
      ? await startWorker(new URL('./ring-batch-writer.js', import.meta.url), { ctrlSab, ringSab: ring.buffer, batch })
      : await startWorker(new URL('./ring-writer.js', import.meta.url), { ctrlSab, ringSab: ring.buffer, lane: 0, spinWhenFull: true });
  const reader = ring.consumer();
  const tally = new RecordTally();
  const visit = tally.visit;
  const visitBatch = tally.visitBatch;
  const poll = batch > 0 ? () => reader.readBatches(visitBatch) : () => reader.read(visit);
  let runId = 0;
  let readSoFar = 0;
  return {
    runOnce(durationMs: number): Promise<number> {
      throwIfFailed(bench);
      runId += 1;
      tally.reset();
      beginRun(ctrl, runId);
      const elapsed = consumeRun([ctrl], runId, durationMs, poll, 'ring writer');
      const expected = expectedChecksum(readSoFar | 0, tally.count);
      if (tally.sum !== expected || tally.lost !== 0) throw new Error(`our ring: checksum ${tally.sum} != ${expected} over ${tally.count} records, or ${tally.lost} lost`);
      readSoFar += tally.count;
      return Promise.resolve(tally.count / (elapsed / 1e3));
    },
    async close() {
      reader.close();
      await closeWorker(bench, ctrl);
    },
  };
}

/**
 * Worker writer -> main-thread `for await (const r of reader)` consumer (each record its own object
 * copy; the iteration sleeps in waitAsync when it catches up). Checksum-verified like openOurs().
 * With `batches`, `for await (const b of reader.batches())`: one promise per batch, the records
 * summed from the batch's arrays (RecordTally.visitBatch).
 */
export async function openForAwait(batches = false): Promise<ThroughputSession> {
  const ring = createRing({ lanes: 1, sharedLanes: 0, pageSize: PAGE, pagesPerLane: 16, mode: 'discard', clock: 'none', metadataBytes: 0 });
  const ctrlSab = new SharedArrayBuffer(CTRL_BYTES);
  const ctrl = new Int32Array(ctrlSab);
  const bench = await startWorker(new URL('./ring-writer.js', import.meta.url), { ctrlSab, ringSab: ring.buffer, lane: 0, spinWhenFull: true });
  const reader = ring.consumer();
  const tally = new RecordTally();
  let runId = 0;
  let readSoFar = 0;
  return {
    async runOnce(durationMs: number): Promise<number> {
      throwIfFailed(bench);
      runId += 1;
      let sum = 0;
      let count = 0;
      const word = (p: Uint8Array, o: number) => ((p[o] ?? 0) | ((p[o + 1] ?? 0) << 8) | ((p[o + 2] ?? 0) << 16) | ((p[o + 3] ?? 0) << 24)) | 0;
      const add = (p: Uint8Array) => {
        sum = (sum + word(p, 0) + word(p, 4) + word(p, 8) + word(p, 12)) | 0;
        count++;
      };
      beginRun(ctrl, runId);
      const t0 = performance.now();
      const ac = new AbortController();
      const timer = setTimeout(() => ac.abort(), durationMs);
      if (batches) {
        tally.reset();
        for await (const b of reader.batches({ signal: ac.signal })) tally.visitBatch(b);
        sum = tally.sum;
        count = tally.count;
      } else {
        for await (const r of reader.records({ signal: ac.signal })) if (r.kind === 'data') add(r.payload);
      }
      clearTimeout(timer);
      requestStop(ctrl);
      // Drain what the writer published before it stopped.
      while (!isRunFinished(ctrl, runId)) for (const r of reader.drain()) if (r.kind === 'data') add(r.payload);
      for (const r of reader.drain()) if (r.kind === 'data') add(r.payload);
      const elapsed = performance.now() - t0;
      const expected = expectedChecksum(readSoFar | 0, count);
      if (sum !== expected || tally.lost !== 0) throw new Error(`for await: checksum ${sum} != ${expected} over ${count} records, or ${tally.lost} lost`);
      readSoFar += count;
      return count / (elapsed / 1e3);
    },
    async close() {
      reader.close();
      await closeWorker(bench, ctrl);
    },
  };
}

export const forAwaitScenario: Scenario = {
  name: 'ring_for_await',
  async run(opts) {
    const plan = planFor(opts);
    const fa = await openForAwait();
    const fab = await openForAwait(true);
    const poll = await openOurs('none');
    try {
      const r = await alternateMedians(
        { fa: () => fa.runOnce(plan.durationMs), fab: () => fab.runOnce(plan.durationMs), poll: () => poll.runOnce(plan.durationMs) },
        plan.reps,
      );
      return [
        metric('for_await_rps', r.fa, 'records/s', { name: 'busy_poll_rps', value: r.poll }),
        metric('for_await_batches_rps', r.fab, 'records/s', { name: 'busy_poll_rps', value: r.poll }),
      ];
    } finally {
      await fa.close();
      await fab.close();
      await poll.close();
    }
  },
};

export const xthreadScenario: Scenario = {
  name: 'ring_xthread',
  async run(opts) {
    const plan = planFor(opts);
    // Clock `none`: the peers stamp nothing either. The same with `mono` is reported beside it.
    const ours = await openOurs('none');
    const oursMono = await openOurs('mono');
    const rb = await openRingbufjs();
    const raw = await openRawBatchedRing();
    try {
      const r = await alternateMedians(
        {
          ours: () => ours.runOnce(plan.durationMs),
          mono: () => oursMono.runOnce(plan.durationMs),
          ringbufjs: () => rb.runOnce(plan.durationMs),
          raw: () => raw.runOnce(plan.durationMs),
        },
        plan.reps,
      );
      return [
        metric('xthread_rps', r.ours, 'records/s', { name: 'ringbufjs_rps', value: r.ringbufjs }),
        metric('xthread_vs_limit_rps', r.ours, 'records/s', { name: 'raw_batched_ring_rps', value: r.raw }),
        metric('xthread_mono_rps', r.mono, 'records/s', { name: 'xthread_rps', value: r.ours }),
      ];
    } finally {
      await ours.close();
      await oursMono.close();
      await rb.close();
      await raw.close();
    }
  },
};

/**
 * The batch path at both ends against the raw batched ring (bench/peers/raw.ts): a minimal SPSC
 * ring on a SharedArrayBuffer, written in the bench, whose writer publishes its head once per 32
 * records and whose reader sums each record's 4 words: the limit of a batched cross-thread ring in
 * JS. Ours: batches of the same 32 records (reserveBatch/commitBatch), read with readBatches() and
 * the same sum. Ours carries more per record (an 8-byte header, page switches, a copy out of the
 * ring): the ratio is what those cost.
 */
export const xthreadBatchScenario: Scenario = {
  name: 'ring_xthread_batch',
  async run(opts) {
    const plan = planFor(opts);
    const ours = await openOurs('none', RAW_RING_BATCH);
    const raw = await openRawBatchedRing();
    try {
      const r = await alternateMedians({ ours: () => ours.runOnce(plan.durationMs), raw: () => raw.runOnce(plan.durationMs) }, plan.reps);
      return [metric('xthread_batch_rps', r.ours, 'records/s', { name: 'raw_batched_ring_rps', value: r.raw })];
    } finally {
      await ours.close();
      await raw.close();
    }
  },
};

/** Two writer workers, no reader (overwrite mode): aggregate records/s. */
async function twoWriters(shared: boolean, durationMs: number, reps: number): Promise<number> {
  const ring = createRing({ lanes: 2, sharedLanes: 1, pageSize: PAGE, pagesPerLane: 16, mode: 'overwrite', clock: 'mono', metadataBytes: 0 });
  const ctrlSab = new SharedArrayBuffer(CTRL_BYTES);
  const ctrl = new Int32Array(ctrlSab);
  const workers = await Promise.all(
    [0, 1].map((i) => startWorker(new URL('./ring-writer.js', import.meta.url), { ctrlSab, ringSab: ring.buffer, lane: shared ? 'shared' : i, spinWhenFull: false })),
  );
  try {
    const samples: number[] = [];
    for (let rep = 0; rep <= reps; rep++) {
      const runId = rep + 1;
      const counts = workers.map(
        (b) =>
          new Promise<number>((resolve) => {
            const on = (m: { type: string; runId: number; count: number }) => {
              if (m.type === 'wrote' && m.runId === runId) {
                b.worker.off('message', on);
                resolve(m.count);
              }
            };
            b.worker.on('message', on);
          }),
      );
      // Both workers share ctrl: one run id starts both (the second finishRun() just repeats the first).
      beginRun(ctrl, runId);
      const t0 = performance.now();
      await new Promise((r) => setTimeout(r, durationMs));
      requestStop(ctrl);
      const total = (await Promise.all(counts)).reduce((a, b) => a + b, 0);
      const elapsed = performance.now() - t0;
      if (rep > 0) samples.push(total / (elapsed / 1e3));
    }
    samples.sort((a, b) => a - b);
    return samples[samples.length >> 1] ?? 0;
  } finally {
    for (const b of workers) await closeWorker(b, ctrl);
  }
}

export const sharedLaneScenario: Scenario = {
  name: 'ring_shared_lane',
  async run(opts) {
    const plan = planFor(opts);
    const own: number[] = [];
    const shared: number[] = [];
    for (let i = 0; i < 3; i++) {
      own.push(await twoWriters(false, plan.durationMs, 1));
      shared.push(await twoWriters(true, plan.durationMs, 1));
    }
    own.sort((a, b) => a - b);
    shared.sort((a, b) => a - b);
    const o = own[1] ?? 0;
    return [
      metric('shared_lane_2w_rps', shared[1] ?? 0, 'records/s', { name: 'own_lanes_2w_rps', value: o }),
    ];
  },
};

export const heapScenario: Scenario = {
  name: 'ring_heap',
  run(opts) {
    const ring = createRing({ lanes: 1, sharedLanes: 0, pageSize: PAGE, pagesPerLane: 16, clock: 'mono', metadataBytes: 0 });
    const growth = heapGrowthBytes(writeLoop(ring), opts.quick);
    return Promise.resolve([metric('write_heap_growth_bytes', growth, 'bytes', { name: 'heap_budget_bytes', value: 1_000_000 })]);
  },
};

export const ringScenarios: readonly Scenario[] = [writeScenario, xthreadScenario, xthreadBatchScenario, forAwaitScenario, sharedLaneScenario, heapScenario];

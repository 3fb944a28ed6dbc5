/**
 * The cost of a merged read by number of lanes, in one thread (issue 15): fill N per-thread lanes
 * with 30,000 16-byte records each, then time `consumer().read(visitor)` until the ring is empty;
 * ns per record handed out. Untimed: the fill. A ring per configuration, reused by every repetition.
 * Timed in the process's CPU time (`process.cpuUsage()`, precise to the µs; the read runs on this
 * thread alone): a read takes 1 to 5 ms, and on the shared machine one preemption inside it moved a
 * wall-clock figure up to 10x between repetitions. (The thread's schedstat, bench/thread-cpu.ts, is
 * updated only at scheduler ticks: too coarse here.)
 *
 * | metric                              | lanes | clock | fill                        | ref                          |
 * | ----------------------------------- | ----- | ----- | --------------------------- | ---------------------------- |
 * | merged_read_8_lanes_ns              | 8     | mono  | lanes take turns, 64 a turn | merged_read_1_lane_ns        |
 * | merged_read_8_lanes_interleaved_ns  | 8     | mono  | lanes take turns, 1 a turn  | merged_read_1_lane_ns        |
 * | merged_read_8_lanes_none_ns         | 8     | none  | lanes take turns, 64 a turn | merged_read_1_lane_none_ns   |
 *
 *
 * Turns of 64 records stand for threads that each write a burst (a time slice, a request's spans);
 * turns of 1 are the worst case of a merge of runs: with distinct timestamps every run is one record.
 */
import { createRing, type RingBuffer, type RingRecord, type RingWriter } from '../src/index.js';
import { alternateMedians, metric, planFor, type Scenario } from './harness.js';

const RECORDS_PER_LANE = 30_000;
const PAYLOAD_BYTES = 16;

interface MergedReadSetup {
  ring: RingBuffer;
  writers: RingWriter[];
  burst: number;
  /** Records per lane. */
  records: number;
}

function setup(lanes: number, clock: 'mono' | 'none', burst: number): MergedReadSetup {
  // 30,000 records of 24 bytes (header + 16) in 16 KiB pages: 45 pages; 64 leave room to spare.
  const ring = createRing({ lanes, sharedLanes: 0, pageSize: 16384, pagesPerLane: 64, mode: 'discard', clock, metadataBytes: 0 });
  const writers = Array.from({ length: lanes }, () => ring.writer());
  return { ring, writers, burst, records: RECORDS_PER_LANE };
}

function fill(s: MergedReadSetup): void {
  const lanes = s.writers.length;
  for (let done = 0; done < s.records; done += s.burst) {
    const n = Math.min(s.burst, s.records - done);
    for (let l = 0; l < lanes; l++) {
      const w = s.writers[l] as RingWriter;
      const i32 = w.i32;
      for (let k = 0; k < n; k++) {
        const at = w.reserve(1, PAYLOAD_BYTES);
        if (at < 0) throw new Error(`merged read bench: lane ${l} is full`);
        i32[at >> 2] = done + k;
        w.commit(at);
      }
    }
  }
}

/** One repetition: fill, then ns per record of reading everything with one consumer. */
function readOnce(s: MergedReadSetup): number {
  fill(s);
  const reader = s.ring.consumer();
  let sum = 0;
  const visit = (r: RingRecord): void => {
    sum += r.length;
  };
  const cpu0 = process.cpuUsage();
  let n = 0;
  for (let got = reader.read(visit); got > 0; got = reader.read(visit)) n += got;
  const cpu = process.cpuUsage(cpu0);
  const ns = ((cpu.user + cpu.system) * 1e3) / n;
  reader.close();
  const want = s.records * s.writers.length;
  if (n !== want || sum !== want * PAYLOAD_BYTES) throw new Error(`merged read bench: read ${n} records (${sum} bytes), wrote ${want}`);
  return ns;
}

export const mergedReadScenario: Scenario = {
  name: 'merged_read',
  async run(opts) {
    const reps = planFor(opts).nsReps;
    const one = setup(1, 'mono', 64);
    const eight = setup(8, 'mono', 64);
    const eightInterleaved = setup(8, 'mono', 1);
    const oneNone = setup(1, 'none', 64);
    const eightNone = setup(8, 'none', 64);
    const r = await alternateMedians(
      {
        one: () => readOnce(one),
        eight: () => readOnce(eight),
        eightInterleaved: () => readOnce(eightInterleaved),
        oneNone: () => readOnce(oneNone),
        eightNone: () => readOnce(eightNone),
      },
      reps,
    );
    return [
      metric('merged_read_8_lanes_ns', r.eight, 'ns/op', { name: 'merged_read_1_lane_ns', value: r.one }),
      metric('merged_read_8_lanes_interleaved_ns', r.eightInterleaved, 'ns/op', { name: 'merged_read_1_lane_ns', value: r.one }),
      metric('merged_read_8_lanes_none_ns', r.eightNone, 'ns/op', { name: 'merged_read_1_lane_none_ns', value: r.oneNone }),
    ];
  },
};

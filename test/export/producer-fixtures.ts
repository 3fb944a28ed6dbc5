/**
 * Traces whose records say who wrote them (pid, threadId, threadName), for the exporters' tests
 * of producers a test cannot start (other processes, workers): a ring written without identity
 * (UNKNOWN_IDENTITY) by one test thread on behalf of several "producers" (each with its lane: its
 * own, or the shared one as workers use it), and a stand-in for the trace that sets each record's
 * identity from the log of who wrote what, lane by lane, in write order. The records, times and
 * schemas are the ring's own.
 */
import { UNKNOWN_IDENTITY, bytesSource, createRing, openTrace, type RingBuffer, type RingWriter, type TraceFile } from '../../src/index.js';
import type { RingRecord } from '../../src/reader.js';
import type { TimelineSource } from '../../src/export/timeline.js';

export interface Producer {
  readonly pid: number;
  readonly threadId: number;
  readonly threadName: string;
  /** An own lane (0..lanes-1) or the shared lane. */
  readonly lane: number | 'shared';
}

/**
 * `trace` with each record's identity set by a `who` that `start()` makes for each pass (undefined:
 * unknown, as in traces written before identity).
 */
export function withIdentity(trace: TraceFile, start: () => (r: RingRecord) => Producer | undefined): TimelineSource {
  return {
    registry: trace.registry,
    geometry: trace.geometry,
    clock: trace.clock,
    epochWallMs: trace.epochWallMs,
    epochMonotonicNs: trace.epochMonotonicNs,
    read(visitor, options) {
      const who = start();
      return trace.read((r) => {
        const p = r.kind === 'data' ? who(r) : undefined;
        r.pid = p?.pid ?? 0;
        r.threadId = p?.threadId ?? -1;
        r.threadName = p?.threadName ?? '';
        visitor(r);
      }, options);
    },
  };
}

/** A ring written on behalf of producers; {@link traces} reads it back with and without identity. */
export class ProducerRing {
  readonly ring: RingBuffer;
  readonly #writers: RingWriter[];
  readonly #shared: number;
  /** Per lane: who wrote each data record, in order. */
  readonly #log: Producer[][];

  constructor(ownLanes: number, pagesPerLane = 64) {
    this.ring = createRing({ lanes: ownLanes, sharedLanes: 1, pageSize: 4096, pagesPerLane, mode: 'discard', clock: 'mono' });
    // Without identity: the records say nothing of who wrote them until `traces().threads` does.
    this.#writers = Array.from({ length: ownLanes }, (_, lane) => this.ring.writer({ lane, identity: UNKNOWN_IDENTITY }));
    this.#writers.push(this.ring.writer({ lane: 'shared', identity: UNKNOWN_IDENTITY }));
    this.#shared = ownLanes;
    this.#log = this.#writers.map(() => []);
  }

  /** The writer of `p`'s lane; the next record written with it is logged as `p`'s. Write exactly one. */
  as(p: Producer): RingWriter {
    const lane = p.lane === 'shared' ? this.#shared : p.lane;
    (this.#log[lane] as Producer[]).push(p);
    return this.#writers[lane] as RingWriter;
  }

  /** The trace of the ring's snapshot: `lanes` as traces written before identity (none), `threads` with each record's producer. */
  traces(): { lanes: TraceFile; threads: TimelineSource } {
    const lanes = openTrace(bytesSource(this.ring.snapshot()));
    const threads = withIdentity(openTrace(bytesSource(this.ring.snapshot())), () => {
      const seen = this.#log.map(() => 0);
      return (r) => this.#log[r.lane]?.[(seen[r.lane] as number)++];
    });
    return { lanes, threads };
  }
}

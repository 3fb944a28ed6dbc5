/**
 * A record-level {@link DrainTarget}: where the trace pipe moves whole pages, this one hands the
 * records themselves to an asynchronous sink (log transports, a span exporter), so
 * {@link drainRing}'s loop (pump, flush, reclaim of dead writers, stop when none is left) drives
 * sinks that decode records too.
 *
 * At-least-once (discard mode): the sink reads through an iterator, which moves nothing in the
 * ring, and the ring's position (a consumer of every lane, holding the lanes' claims) moves past a
 * page only once the sink has accepted every record of it (its take resolved: a log target wrote
 * the lines out, an exporter answered). In discard mode nothing but the consumer frees a page, so
 * the pages between the tail and the iterator stay as they are. A drain killed mid-take leaves the
 * tail at the oldest page not wholly accepted, and the next drain delivers from there: nothing
 * committed is lost; what arrives twice is one run per lane: the records of the take in flight (which
 * spans pages when the sink fell behind) and of the page before it, whose records the iterator may
 * hold copied but not handed out. A drain that ends because no writer is left lets everything go
 * (no writer can commit behind it; what one might commit in that very instant is counted lost,
 * see {@link RecordDrainTarget.finish}); one stopped while writers live keeps those pages for the
 * next. The consumer's and the iterator's per-lane cursors are both in lane order (all lanes).
 * In overwrite mode the ring may overwrite what the tail does not hold, so there the consumer
 * itself reads (at-most-once: a killed drain loses the take it held).
 *
 * The sink sets the pace: a take is started only when the previous one has finished, so records
 * wait in the ring, not in this process, while a sink is slow; a ring in discard mode then drops
 * new records and counts them in-band.
 */
import { L_READ, laneOffset } from "../layout.js";
import type { LaneHandoff, RingReader } from "../reader.js";
import type { RingBuffer } from "../ring.js";
import type { DrainTarget } from "./drain.js";

/** What a sink reads records from: every lane, in time order. */
export type RecordSource = Pick<RingReader, "read">;

/** What a {@link RecordDrainTarget} hands records to. */
export interface RecordSink {
  /**
   * Take the records available now from `source` (every lane, in time order) and deliver them;
   * resolve when the sink has accepted them (written out, exported: the ring lets them go only
   * then). Resolves with the records taken (0: none was available).
   */
  take(source: RecordSource): Promise<number>;
  /** Records that writers dropped and never reported in-band (reported by the drain for dead writers). */
  reportLost(lane: number, count: number): void;
  /** Records lost before they reached the sink, so far: in-band LOST records and those reported through {@link RecordSink.reportLost}. */
  readonly lost: number;
  /** Records the sink took but could not deliver (e.g. spans of batches the exporter failed), so far. */
  readonly failed: number;
  /** Deliver what is pending and close the sink's outputs. */
  close(): Promise<void>;
}

/**
 * Drains records (not pages) into a {@link RecordSink}. After {@link drainRing} returns (it calls
 * the synchronous `close()`), await {@link RecordDrainTarget.finish}: it takes the rest and closes
 * the sink.
 *
 * @example
 * ```ts
 * const target = new RecordDrainTarget(ring, sink);
 * await drainRing(ring, target, { stopWhenNoWriters: () => true });
 * await target.finish();
 * ```
 */
export class RecordDrainTarget implements DrainTarget {
  /** What the sink reads: an iterator of every lane (at-least-once), or in overwrite mode the consumer. */
  readonly #reader: RingReader;
  /** At-least-once: the consumer that holds the lanes and whose tails move only past accepted pages; undefined in overwrite mode. */
  readonly #consumer: RingReader | undefined;
  /** Per lane: the consumer's page hand-off cursor, and the iterator's (where the sink has read to). */
  readonly #tails: readonly LaneHandoff[] = [];
  readonly #reads: readonly LaneHandoff[] = [];
  readonly #unreported = { count: 0, time: 0 };
  /** Per lane: data records handed to the sink, and the consumer's read count (L_READ) when this target began. */
  readonly #delivered: number[];
  readonly #readAtStart: number[];
  readonly #readIdx: number[];
  readonly #f64: Float64Array;
  readonly #source: RecordSource;
  readonly #sink: RecordSink;
  #busy: Promise<void> | undefined;
  #error: unknown = undefined;
  #finished = false;
  /** The last take found nothing: wait for records before the next (else the loop would spin in promises). */
  #empty = false;
  /** Records handed to the sink so far. */
  taken = 0;
  /** Records a drain that let every page go found taken but never handed to the sink (a writer that came in its last instant): reported lost. */
  undelivered = 0;

  constructor(ring: RingBuffer, sink: RecordSink) {
    this.#sink = sink;
    const g = ring.geometry;
    this.#f64 = ring.core.f64;
    this.#delivered = new Array<number>(g.lanes).fill(0);
    this.#readIdx = Array.from({ length: g.lanes }, (_, lane) => (laneOffset(g, lane) + L_READ) >> 3);
    if (ring.mode === "overwrite") {
      this.#reader = ring.consumer();
      this.#source = this.#reader;
      this.#readAtStart = [];
      return;
    }
    const consumer = ring.consumer();
    this.#consumer = consumer;
    try {
      // Created after the consumer: it starts where the consumer stands (the tails).
      this.#reader = ring.iterator();
      this.#tails = consumer.handoffLanes();
      this.#reads = this.#reader.handoffLanes();
    } catch (e) {
      consumer.close();
      throw e;
    }
    // Written by the consumer alone (it was just claimed by this process).
    this.#readAtStart = this.#readIdx.map((i) => this.#f64[i] ?? 0);
    const delivered = this.#delivered;
    const reader = this.#reader;
    this.#source = {
      read: (visitor, max) =>
        reader.read((r) => {
          if (r.kind === "data") delivered[r.lane] = (delivered[r.lane] ?? 0) + 1;
          visitor(r);
        }, max),
    };
  }

  /**
   * The sink accepted everything it read: move each lane's tail past the pages the iterator has
   * wholly handed out (those before the page before its own; `all`: up to the iterator itself,
   * partial page included), and report the drops of retired writers (only a consumer learns of
   * them) once a lane is caught up.
   */
  #release(all: boolean): void {
    for (let k = 0; k < this.#tails.length; k++) {
      const tail = this.#tails[k] as LaneHandoff;
      const read = this.#reads[k] as LaneHandoff;
      const limit = all ? read.page : read.page - 1;
      // Bounded: each step takes at least one page, and the tail never passes the iterator.
      for (let guard = 0; guard < 1 << 16 && tail.page < limit; guard++) {
        let n = 0;
        while (tail.page + n < limit && tail.completePageSlot(n) >= 0) n++;
        if (n > 0) {
          if (!tail.takePages(n)) break;
        } else if (!tail.takeRun()) break;
        // (Not whole-page: the rest of a page a previous drain left mid-way, or a page with a
        // damaged record, which completePageSlot() does not call complete. The iterator has
        // passed it, so every record in it is final: copied and taken run by run.)
      }
      if (all && tail.page === read.page) {
        for (let guard = 0; guard < 1 << 16 && tail.takeRun(); guard++); // the iterator's page, as far as it read (no writer is left)
      }
      if (tail.page >= limit) {
        tail.takeUnreported(this.#unreported);
        if (this.#unreported.count > 0) this.#sink.reportLost(tail.lane, this.#unreported.count);
      }
    }
  }

  /** Start a take unless one is running (the sink's pace). Returns 0: records move asynchronously. */
  pump(): number {
    this.#start();
    return 0;
  }

  flush(): number {
    this.#start();
    return 0;
  }

  #start(): void {
    if (this.#busy !== undefined || this.#finished || this.#empty) return;
    this.#busy = this.#take().then(
      (n) => {
        this.#empty = n === 0;
        this.#busy = undefined;
      },
      (e: unknown) => {
        this.#error = e;
        this.#busy = undefined;
      },
    );
  }

  /** One take: the sink reads and delivers; once it has accepted, the ring lets those pages go. */
  async #take(): Promise<number> {
    const n = await this.#sink.take(this.#source);
    this.taken += n;
    this.#release(false);
    return n;
  }

  /** Wait for the running take, or for records to arrive. Rethrows a sink's error (which ends the drain). */
  async waitForPages(options: { timeoutMs: number; wakeRecords?: number; signal?: AbortSignal }): Promise<void> {
    if (this.#busy !== undefined) {
      await this.#busy;
      // A take that did not wait for I/O resolves in microtasks: give the event loop a turn, or the
      // sink's own writes (sonic-boom's fs.write callbacks) would never run while records keep coming.
      await new Promise((resolve) => setImmediate(resolve));
    } else {
      // Woken after wakeRecords commits (or the timeout), not by each: a wake is a futex call in the writer.
      const records = options.wakeRecords ?? 1;
      await this.#reader.waitAsync({ records, timeoutMs: options.timeoutMs, ...(options.signal ? { signal: options.signal } : {}) });
      this.#empty = false;
    }
    this.#rethrow();
  }

  lost(lane: number, count: number, _time: number): void {
    this.#sink.reportLost(lane, count);
  }

  /** Called by drainRing when it stops; the work is in {@link RecordDrainTarget.finish}. */
  close(): void {}

  /**
   * Take every record left, close the sink and release the lanes. When `releaseAll()` (called just
   * before) says no writer of the ring is alive, none can commit behind what was delivered: the
   * tails move up to it, partial pages included. Otherwise those pages stay for the next drain,
   * which delivers them again. A writer that commits in the instant between that look and the
   * tails' move would have records taken undelivered: the consumers' read counts against what the
   * sink was handed tell, and they are reported lost ({@link RecordDrainTarget.undelivered}).
   */
  async finish(releaseAll: () => boolean = () => false): Promise<void> {
    if (this.#finished) return;
    try {
      if (this.#busy !== undefined) await this.#busy;
      this.#finished = true;
      this.#rethrow();
      while ((await this.#take()) > 0);
      if (this.#consumer !== undefined && releaseAll()) {
        this.#release(true);
        for (let lane = 0; lane < this.#readAtStart.length; lane++) {
          const taken = (this.#f64[this.#readIdx[lane] as number] ?? 0) - (this.#readAtStart[lane] ?? 0);
          const extra = taken - (this.#delivered[lane] ?? 0);
          if (extra > 0) {
            this.undelivered += extra;
            this.#sink.reportLost(lane, extra);
          }
        }
      }
    } finally {
      this.#finished = true;
      this.#reader.close();
      this.#consumer?.close();
      await this.#sink.close();
    }
  }

  #rethrow(): void {
    if (this.#error === undefined) return;
    const e = this.#error;
    this.#error = undefined;
    throw e;
  }
}

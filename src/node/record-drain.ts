/**
 * A record-level {@link DrainTarget}: where the trace pipe moves whole pages, this one hands the
 * records themselves to an asynchronous sink (log transports, a span exporter) through one
 * consumer of all lanes, so {@link drainRing}'s loop (pump, flush, reclaim of dead writers, stop
 * when none is left) drives sinks that decode records too.
 *
 * The sink sets the pace: a take is started only when the previous one has finished (its stream
 * drained, its export answered), so records wait in the ring, not in this process, while a sink
 * is slow; a ring in discard mode then drops new records and counts them in-band. What a drain
 * process holds at a time is one take (at most one read batch): that much is lost if the drain
 * process itself is killed mid-take (docs/INTEGRATIONS.md).
 */
import type { RingReader } from "../reader.js";
import type { RingBuffer } from "../ring.js";
import type { DrainTarget } from "./drain.js";

/** What a {@link RecordDrainTarget} hands records to. */
export interface RecordSink {
  /**
   * Take the records available now from `reader` (a consumer of every lane) and deliver them;
   * resolve when the sink has accepted them (its own backpressure). Resolves with the records
   * taken (0: none was available).
   */
  take(reader: RingReader): Promise<number>;
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
  readonly #reader: RingReader;
  readonly #sink: RecordSink;
  #busy: Promise<void> | undefined;
  #error: unknown = undefined;
  #finished = false;
  /** The last take found nothing: wait for records before the next (else the loop would spin in promises). */
  #empty = false;
  /** Records handed to the sink so far. */
  taken = 0;

  constructor(ring: RingBuffer, sink: RecordSink) {
    this.#reader = ring.consumer();
    this.#sink = sink;
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
    this.#busy = this.#sink.take(this.#reader).then(
      (n) => {
        this.taken += n;
        this.#empty = n === 0;
        this.#busy = undefined;
      },
      (e: unknown) => {
        this.#error = e;
        this.#busy = undefined;
      },
    );
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

  /** Take every record left, close the sink and release the lanes. */
  async finish(): Promise<void> {
    if (this.#finished) return;
    try {
      if (this.#busy !== undefined) await this.#busy;
      this.#finished = true;
      this.#rethrow();
      for (;;) {
        const n = await this.#sink.take(this.#reader);
        if (n === 0) break;
        this.taken += n;
      }
    } finally {
      this.#finished = true;
      this.#reader.close();
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

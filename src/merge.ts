/**
 * The merge by time of several lanes' records, shared by the ring's readers and the trace-file
 * reader. It hands out runs, not records: once a lane is chosen, its records go out one after the
 * other for as long as each is not later than the earliest head of the other lanes (the bound),
 * with one comparison per record and without looking at the other lanes again. Only when the run
 * ends does the lane go back into a binary heap of the lanes' heads and the next run start: the
 * cost per record does not depend on the number of lanes, and a run costs O(log lanes).
 *
 * The order is exactly that of picking, record by record, the head with the smallest timestamp,
 * equal timestamps going to the lane listed first: (timestamp, source index) is a total order of
 * the heads, and a run is the longest stretch of one lane that the record-by-record pick would
 * also hand out in a row. A timestamp that is not a number (NaN: damaged memory or file) counts as
 * earlier than every other, so such a record goes out as soon as it reaches its lane's head.
 *
 * Sources are polled once when a merge (re)starts and again only when every polled source has run
 * dry: a lane empty at the start of a read joins after the lanes that had records, which keeps a
 * read of many idle lanes from asking each of them for a record after every record.
 */
import type { RecordBatch } from "./batch.js";
import type { RingRecord } from "./reader.js";

/** One lane as the merge sees it: a head record loaded on demand and taken by clearing `hasHead`. */
export interface MergeSource {
  /** Load the next record (or loss marker) into `record` if none is loaded; false when there is none now. */
  head(): boolean;
  /** A record is loaded and not taken yet. The merge's caller clears it to take the record. */
  hasHead: boolean;
  readonly record: RingRecord;
}

/** A source that can decode a run straight into a {@link RecordBatch} (a ring's lane cursor). */
export interface BatchSource {
  decodeInto(b: RecordBatch, k: number, most: number, boundKey: number, boundIdx: number, selfIdx: number): number;
}

/** The bound's index when no other source has a head: after every source. */
const NO_BOUND = 0x7fffffff;

/** The merge key of a timestamp: NaN sorts first (see the file comment). */
function key(t: number): number {
  return t === t ? t : -Infinity;
}

/**
 * A k-way merge of {@link MergeSource}s by (timestamp, index in `sources`).
 *
 * @example
 * ```ts
 * const merge = new LaneMerge(cursors);
 * for (let src = merge.next(); src !== undefined; src = merge.next()) {
 *   src.hasHead = false; // take it
 *   visit(src.record);
 * }
 * ```
 */
export class LaneMerge<S extends MergeSource> {
  readonly #sources: readonly S[];
  /** The heap of the sources with a head, other than the current one: their indices and keys. */
  readonly #heapIdx: Int32Array;
  readonly #heapKey: Float64Array;
  #size = 0;
  /** The source whose run is going out, or -1. */
  #cur = -1;
  /** The run's bound: the heap's top (key, index); +Infinity when the heap is empty. */
  #boundKey = Infinity;
  #boundIdx = NO_BOUND;
  constructor(sources: readonly S[]) {
    this.#sources = sources;
    this.#heapIdx = new Int32Array(sources.length);
    this.#heapKey = new Float64Array(sources.length);
  }

  /** Start over: every source is polled again by the next {@link LaneMerge.next} (heads already loaded stay loaded). */
  reset(): void {
    this.#size = 0;
    this.#cur = -1;
  }

  /**
   * The source whose head goes out next, or undefined when no source has a record now. The caller
   * takes the record by clearing the source's `hasHead` (or leaves it, to be handed out again).
   */
  next(): S | undefined {
    const cur = this.#cur;
    if (cur < 0) return this.endRun(false);
    const src = this.#sources[cur] as S;
    const loaded = src.head();
    return loaded && this.stays(src) ? src : this.endRun(loaded);
  }

  /**
   * End the current run and start the next: what {@link LaneMerge.next} does once the current
   * source's head was found not to stay first (`loaded`) or missing, for a caller that checked it
   * already with head() and {@link LaneMerge.stays}.
   */
  endRun(loaded: boolean): S | undefined {
    const cur = this.#cur;
    let top: number;
    if (loaded && cur >= 0) {
      // The heap's top goes next and this source takes its place: one sift instead of a push and a pop.
      top = this.#replaceTop(cur, key((this.#sources[cur] as S).record.timestamp));
    } else {
      if (this.#size === 0) {
        // Every source polled so far ran dry (or none was polled since reset()): poll them all.
        this.#cur = -1;
        this.#poll();
        if (this.#size === 0) return undefined;
      }
      top = this.#pop();
    }
    this.#cur = top;
    if (this.#size > 0) {
      this.#boundKey = this.#heapKey[0] as number;
      this.#boundIdx = this.#heapIdx[0] as number;
    } else {
      this.#boundKey = Infinity;
      this.#boundIdx = NO_BOUND; // even a head timed +Infinity stays first
    }
    return this.#sources[top] as S;
  }

  /**
   * Whether the current run goes on: the head just loaded in `src` (the source {@link LaneMerge.next}
   * returned last) still comes before every other source's head. What a caller handing out a whole
   * run checks per record instead of calling next().
   */
  stays(src: S): boolean {
    const k = key(src.record.timestamp);
    return k < this.#boundKey || (k === this.#boundKey && this.#cur < this.#boundIdx);
  }

  /**
   * The batch path: let `src` (the source {@link LaneMerge.next} returned last) decode the rest of
   * its run into `b` from index `k` up to `most`, bounded by the other sources' earliest head.
   */
  decodeRun(src: S & BatchSource, b: RecordBatch, k: number, most: number): number {
    return src.decodeInto(b, k, most, this.#boundKey, this.#boundIdx, this.#cur);
  }

  /** Put every source with a head into the heap. */
  #poll(): void {
    const sources = this.#sources;
    for (let i = 0; i < sources.length; i++) {
      const src = sources[i] as S;
      if (src.head()) this.#push(i, key(src.record.timestamp));
    }
  }

  #before(ka: number, ia: number, kb: number, ib: number): boolean {
    return ka < kb || (ka === kb && ia < ib);
  }

  #push(idx: number, k: number): void {
    const hi = this.#heapIdx;
    const hk = this.#heapKey;
    let at = this.#size++;
    while (at > 0) {
      const parent = (at - 1) >> 1;
      const pk = hk[parent] as number;
      const pi = hi[parent] as number;
      if (!this.#before(k, idx, pk, pi)) break;
      hk[at] = pk;
      hi[at] = pi;
      at = parent;
    }
    hk[at] = k;
    hi[at] = idx;
  }

  /** Take the heap's top out. */
  #pop(): number {
    const n = --this.#size;
    const top = this.#heapIdx[0] as number;
    if (n > 0) this.#siftDown(this.#heapIdx[n] as number, this.#heapKey[n] as number, n);
    return top;
  }

  /** Take the heap's top out and put (idx, k) in (the heap has at least one entry). */
  #replaceTop(idx: number, k: number): number {
    const top = this.#heapIdx[0] as number;
    this.#siftDown(idx, k, this.#size);
    return top;
  }

  /** Place (idx, k) from the root down, in a heap of n entries whose root is free. */
  #siftDown(idx: number, k: number, n: number): void {
    const hi = this.#heapIdx;
    const hk = this.#heapKey;
    let at = 0;
    for (;;) {
      let child = 2 * at + 1;
      if (child >= n) break;
      if (child + 1 < n && this.#before(hk[child + 1] as number, hi[child + 1] as number, hk[child] as number, hi[child] as number)) child++;
      if (!this.#before(hk[child] as number, hi[child] as number, k, idx)) break;
      hk[at] = hk[child] as number;
      hi[at] = hi[child] as number;
      at = child;
    }
    hk[at] = k;
    hi[at] = idx;
  }
}

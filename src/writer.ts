/**
 * Producers. Two writers share one record format and page protocol:
 *
 *  - {@link LaneWriter} owns a per-thread lane. Nobody else reserves there, so a reservation is two
 *    plain stores (the BUSY header and the time delta) and a commit is one `Atomics.store` of the
 *    header word: the same cost as the raw "store 4 words + publish" loop.
 *  - {@link SharedLaneWriter} writes a lane shared by many threads. It reserves by a
 *    compare-exchange of the first empty header word of the page from 0 to BUSY, so the reservation
 *    and the header that says how long it is appear in one atomic step (no window in which a reader
 *    or a dead writer could leave an unmeasurable hole), and commits with one `Atomics.store`.
 *
 * In both, any number of reservations may be open at once and committed in any order (nested
 * writes): a reader stops at the first BUSY record, so it never sees an unfinished one.
 * The write path allocates nothing, takes no lock and never waits; when it cannot write it drops
 * the record, counts it, and reports the count in-band (an INTERNAL_LOST record) with its next
 * successful write.
 */
import { RecordStateError, showValue } from "./errors.js";
import {
  BUSY_TO_COMMITTED,
  BUSY_TO_DISCARDED,
  CLOCK_NONE,
  INFO_MASK,
  IDENTITY_FIXED_BYTES,
  IDENTITY_PID,
  IDENTITY_THREAD_ID,
  INTERNAL_BIT,
  INTERNAL_IDENTITY,
  INTERNAL_LOST,
  INTERNAL_PADDING,
  INTERNAL_TIME,
  H_WAITERS,
  L_HEAD_PAGE,
  LANE_HEADER_BYTES,
  LENGTH_MASK,
  LENGTH_SHIFT,
  LOST_PAYLOAD_BYTES,
  MAX_TIME_DELTA,
  MAX_TYPE,
  P_DROPPED,
  P_REPORTED,
  PAGE_HEADER_BYTES,
  PG_BASE_TIME,
  PG_COMMITTED,
  PG_PAGE_RECORDS,
  PG_SEQ,
  PG_SEQ_HI,
  RECORD_HEADER_BYTES,
  STATE_BUSY,
  STATE_COMMITTED,
  STATE_DISCARDED,
  STATE_SHIFT,
  TIME_RECORD_BYTES,
  TYPE_MASK,
  type RingGeometry,
  laneOffset,
  producerOffset,
  recordWord,
  slotOffset,
} from "./layout.js";
import { PREPARE_IN_PROGRESS, PREPARE_READY, PageWalk, type RingCore, committedEnd, pageHolds, preparePage, pageNumber } from "./pages.js";
import type { RingClock } from "./clock.js";
import { SPACE_WAIT_SLICE_MS, registerSpaceWaiter, unregisterSpaceWaiter, waitForSpace, wakeReaders } from "./wakeup.js";
import { type ThreadIdentity, identityPayload } from "./identity.js";
import type { RingBuffer } from "./ring.js";

/** What both writers offer. Payload offsets index {@link RingWriter.bytes} and the other views. */
export interface RingWriter {
  /** The lane this writer writes. */
  readonly lane: number;
  /** This writer's producer id (for {@link RingBuffer.reclaimProducer}). */
  readonly producerId: number;
  /** The ring's memory as bytes; write a reserved payload at `bytes[at .. at + size)`. */
  readonly bytes: Uint8Array;
  /** The ring's memory as a little-endian-capable DataView. */
  readonly view: DataView;
  /** The ring's memory as Int32 words (`at >> 2`; payloads are 8-aligned). */
  readonly i32: Int32Array;
  /** The ring's memory as f64 (`at >> 3`). */
  readonly f64: Float64Array;
  /** Largest payload one record may carry. */
  readonly maxPayload: number;
  /**
   * Reserve a record of `size` payload bytes and event type `type` (0..8191). Returns the byte
   * offset of the payload, 8-aligned, or -1 when the record was dropped (discard mode and the lane
   * is full, or the lane cannot move to its next page right now): the drop is counted and reported
   * in-band. Throws RangeError for a type or size out of range (a record larger than a page).
   */
  reserve(type: number, size: number): number;
  /**
   * Like {@link RingWriter.reserve}, but a full lane is not a drop: returns -1 without counting or
   * reporting anything, so the caller can wait and retry (producer/consumer with backpressure).
   */
  tryReserve(type: number, size: number): number;
  /**
   * Like {@link RingWriter.tryReserve}, but while the lane is full (discard mode), or its next page
   * is held by another producer's unfinished preparation (a shared lane), sleep until the consumer
   * frees room, at most `timeoutMs` in all; then -1, with nothing counted (call
   * {@link RingWriter.reserve} to count a drop). The way for a writer not to starve the consumer
   * when there are more threads than cores: a writer spinning on tryReserve() takes the core the
   * consumer needs to make room. Blocks the thread (`Atomics.wait`): call it in a worker. Costs the
   * fast path nothing; a consumer pays one load per take while no writer waits. A consumer in
   * another process cannot wake it: it then looks again every millisecond.
   *
   * @example
   * ```ts
   * const at = w.reserveWaiting(1, 16, 5000); // in a worker
   * if (at >= 0) { w.i32[at >> 2] = 42; w.commit(at); }
   * ```
   */
  reserveWaiting(type: number, size: number, timeoutMs?: number): number;
  /** Publish a reserved record. Throws {@link RecordStateError} if `at` is not an open reservation of this writer. */
  commit(at: number): void;
  /** Abandon a reserved record: readers skip it, it is not counted as lost. */
  discard(at: number): void;
  /**
   * Reserve, copy `payload`, commit. Returns false when the record was dropped. `payload` is a
   * Uint8Array (a Buffer is one); another ArrayBuffer view (a typed array, a DataView) is written as
   * its bytes. Anything else, an ArrayBuffer included (wrap it: `new Uint8Array(buffer)`), is a
   * TypeError: the check is one `instanceof` on the fast path.
   *
   * @example
   * ```ts
   * w.write(3, new TextEncoder().encode("hello"));
   * w.write(3, new Float64Array([1.5])); // its 8 bytes
   * ```
   */
  write(type: number, payload: Uint8Array | ArrayBufferView): boolean;
  /**
   * The batch path: reserve up to `count` records of type `type` with `size` payload bytes each,
   * one after the other, published together by one {@link RingWriter.commitBatch} (one atomic store
   * for the batch instead of one per record; they share one time stamp). Returns how many were
   * reserved: at most what fits in the lane's current page (call again for the rest), 1 on a
   * shared lane (which has no batch path: a claim per record), 0 when dropped as
   * {@link RingWriter.reserve} drops. Record k's payload is at `batchAt + k * batchStride`.
   * A batch is not nested with other reservations of the writer and cannot be discarded.
   *
   * @example
   * ```ts
   * for (let left = items.length; left > 0; ) {
   *   const n = w.reserveBatch(1, 16, left);
   *   if (n === 0) break; // dropped (discard mode, full)
   *   for (let k = 0; k < n; k++) w.i32[(w.batchAt + k * w.batchStride) >> 2] = items[items.length - left + k];
   *   w.commitBatch();
   *   left -= n;
   * }
   * ```
   */
  reserveBatch(type: number, size: number, count: number): number;
  /**
   * Like {@link RingWriter.reserveBatch}, but a full lane is not a drop: returns 0 without counting
   * or reporting anything, so the caller can wait and retry (as {@link RingWriter.tryReserve}).
   */
  tryReserveBatch(type: number, size: number, count: number): number;
  /** Publish the batch of the last {@link RingWriter.reserveBatch}. Throws {@link RecordStateError} when none is open. */
  commitBatch(): void;
  /** Payload offset of the open batch's first record. */
  readonly batchAt: number;
  /** Bytes from one record's payload to the next in the open batch. */
  readonly batchStride: number;
  /** Records this writer dropped so far. */
  readonly dropped: number;
  /** Release the lane and producer slot. Open reservations stay BUSY until reclaimed. */
  close(): void;
}

function checkArgs(type: number, size: number, max: number): void {
  if (!(type >= 0 && type <= MAX_TYPE && (type | 0) === type)) {
    const E = typeof type === "number" ? RangeError : TypeError;
    throw new E(`Cannot reserve record: type must be an integer from 0 to ${MAX_TYPE}, received ${showValue(type)}`);
  }
  if (!(size >= 0 && size <= max && (size | 0) === size)) {
    const E = typeof size === "number" ? RangeError : TypeError;
    throw new E(`Cannot reserve record: size must be an integer from 0 to ${max} bytes (one page less headers), received ${showValue(size)}`);
  }
}

/** The bytes of a payload that is not a Uint8Array (write()'s slow path), or a TypeError naming what it got. */
function payloadBytes(payload: unknown): Uint8Array {
  if (ArrayBuffer.isView(payload)) return new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength);
  const hint = payload instanceof ArrayBuffer || payload instanceof SharedArrayBuffer ? " (wrap a buffer as new Uint8Array(buffer))" : "";
  throw new TypeError(`Cannot write record: payload must be a Uint8Array or another ArrayBuffer view${hint}, received ${showValue(payload)}`);
}

abstract class WriterBase {
  readonly lane: number;
  readonly producerId: number;
  readonly bytes: Uint8Array;
  readonly view: DataView;
  readonly i32: Int32Array;
  readonly f64: Float64Array;
  readonly maxPayload: number;
  protected readonly ring: RingBuffer;
  protected readonly core: RingCore;
  protected readonly g: RingGeometry;
  protected readonly clock: RingClock;
  protected readonly laneBase: number;
  protected readonly laneEnd: number;
  /** Int32 index of H_WAITERS (loaded after every commit). */
  protected readonly waitersIdx = H_WAITERS >> 2;
  protected readonly walk = new PageWalk();
  /** Who writes: stamped into the ring by IDENTITY records (FORMAT.md 8.3). */
  readonly identity: ThreadIdentity;
  /** IDENTITY payload with the thread name, and without it (pid and threadId only). */
  protected readonly identNamed: Uint8Array;
  /** The identity's pid (as an i32 word) and threadId, kept as plain fields for the claim path. */
  protected readonly identPid: number;
  protected readonly identThreadId: number;
  protected readonly identShort: Uint8Array;
  /** The name's bytes in {@link identNamed}. */
  private readonly identName: Uint8Array;
  /** Drops not yet reported in-band. */
  protected pendingLost = 0;
  protected droppedTotal = 0;
  /**
   * Of droppedTotal, the drops published in LOST records, mirrored in P_REPORTED (index
   * reportedIdx) by a plain store right after the LOST record's publication, with no call between
   * (a terminated worker stops at a call or loop edge: the two cannot disagree for it).
   */
  protected reportedTotal = 0;
  protected readonly reportedIdx: number;
  protected closed = false;

  constructor(ring: RingBuffer, lane: number, producerId: number, identity: ThreadIdentity) {
    this.identity = identity;
    this.identPid = identity.pid | 0;
    this.identThreadId = identity.threadId | 0;
    this.identNamed = identityPayload(identity, true);
    this.identShort = identityPayload(identity, false);
    this.identName = this.identNamed.subarray(IDENTITY_FIXED_BYTES);
    this.ring = ring;
    this.core = ring.core;
    this.g = ring.geometry;
    this.clock = ring.clock;
    this.lane = lane;
    this.producerId = producerId;
    this.bytes = ring.core.u8;
    this.i32 = ring.core.i32;
    this.f64 = ring.core.f64;
    this.view = new DataView(ring.buffer, 0, this.g.totalBytes);
    this.laneBase = laneOffset(this.g, lane);
    this.laneEnd = this.laneBase + this.g.laneStride;
    this.maxPayload = this.g.maxPayload;
    this.reportedIdx = (producerOffset(this.g, producerId) + P_REPORTED) >> 3;
  }

  get dropped(): number {
    return this.droppedTotal;
  }

  /** Set while tryReserve() runs: a full lane is then not a drop. */
  protected noDrop = false;
  /** The open batch (reserveBatch()): its first payload offset and stride; batchAt is -1 when none is open. */
  batchAt = -1;
  batchStride = 0;

  /** Check reserveBatch()'s count and that no batch is open. */
  protected checkBatch(count: number): void {
    if (!(count >= 1 && count <= 0x7fffffff && count === Math.floor(count))) {
      throw new RangeError(`Cannot reserve batch: count must be an integer from 1 to 2147483647, received ${count}`);
    }
    if (this.batchAt >= 0) throw new RecordStateError(`Cannot reserve batch: a batch is open on lane ${this.lane} (commitBatch() it first)`);
  }

  tryReserveBatch(type: number, size: number, count: number): number {
    this.noDrop = true;
    try {
      return this.reserveBatch(type, size, count);
    } finally {
      this.noDrop = false;
    }
  }

  /** Without a batch path (a shared lane): a batch of one record. */
  reserveBatch(type: number, size: number, count: number): number {
    this.checkBatch(count);
    const at = this.reserve(type, size);
    if (at < 0) return 0;
    this.batchAt = at;
    this.batchStride = (size + RECORD_HEADER_BYTES + 7) & ~7;
    return 1;
  }

  commitBatch(): void {
    const at = this.batchAt;
    if (at < 0) throw new RecordStateError(`Cannot commit batch: no batch is open on lane ${this.lane}`);
    this.batchAt = -1;
    this.commit(at);
  }

  tryReserve(type: number, size: number): number {
    this.noDrop = true;
    try {
      return this.reserve(type, size);
    } finally {
      this.noDrop = false;
    }
  }

  reserveWaiting(type: number, size: number, timeoutMs = Infinity): number {
    const at = this.tryReserve(type, size);
    return at >= 0 ? at : this.waitToReserve(type, size, timeoutMs);
  }

  /** reserveWaiting()'s sleep: the protocol of docs/FORMAT.md section 10.7 (register, try again, sleep). */
  private waitToReserve(type: number, size: number, timeoutMs: number): number {
    const i32 = this.i32;
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const seq = registerSpaceWaiter(i32);
      try {
        const at = this.tryReserve(type, size);
        if (at >= 0) return at;
        const left = deadline - performance.now();
        if (!(left > 0)) return -1;
        waitForSpace(i32, seq, Math.min(left, SPACE_WAIT_SLICE_MS));
      } finally {
        unregisterSpaceWaiter(i32);
      }
    }
  }

  protected countDrop(): void {
    if (this.noDrop) return;
    this.pendingLost++;
    this.droppedTotal++;
    // Single writer (this producer); readers of stats load it after the producer state.
    this.f64[(producerOffset(this.g, this.producerId) + P_DROPPED) >> 3] = this.droppedTotal;
  }

  write(type: number, payload: Uint8Array | ArrayBufferView): boolean {
    const bytes = payload instanceof Uint8Array ? payload : payloadBytes(payload);
    const at = this.reserve(type, bytes.length);
    if (at < 0) return false;
    this.bytes.set(bytes, at);
    this.commit(at);
    return true;
  }

  abstract reserve(type: number, size: number): number;
  abstract commit(at: number): void;
  abstract discard(at: number): void;

  /** Write the IDENTITY payload `p` and word1 of the record at `at` (its word0 is stored by the caller, last). Returns the record's size. */
  protected putIdentity(at: number, named: boolean): number {
    const i = at >> 2;
    const i32 = this.i32;
    // Plain stores, published by the caller's store of word0. Word stores, not bytes.set() of the
    // whole payload: a shared lane writes this in every claim, and set() costs tens of ns.
    i32[i + 1] = 0;
    i32[(at + RECORD_HEADER_BYTES + IDENTITY_PID) >> 2] = this.identPid;
    i32[(at + RECORD_HEADER_BYTES + IDENTITY_THREAD_ID) >> 2] = this.identThreadId;
    if (!named) return RECORD_HEADER_BYTES + IDENTITY_FIXED_BYTES;
    this.bytes.set(this.identName, at + RECORD_HEADER_BYTES + IDENTITY_FIXED_BYTES);
    return (RECORD_HEADER_BYTES + this.identNamed.length + 7) & ~7;
  }

  close(): void {
    if (this.closed) return;
    if (this.pendingLost > 0) this.reportPendingLost();
    this.closed = true;
    this.onClose();
    this.ring.releaseWriter(this.producerId, this.lane);
  }

  /**
   * Publish the drops not yet reported in-band before the writer goes: a LOST record carried by an
   * empty reservation that is then discarded (readers skip it). When the lane is still full, the
   * drops stay unreported here, and retiring the producer counts them in the lane's L_UNREPORTED,
   * which the lane's consumer reports.
   */
  private reportPendingLost(): void {
    let at = -1;
    try {
      at = this.tryReserve(0, 0);
    } catch (e) {
      if (!(e instanceof RangeError)) throw e; // too many reservations open: left to L_UNREPORTED
    }
    if (at >= 0) this.discard(at);
  }

  /** Make the write path fail from now on (it checks `closed` only on its slow path). */
  protected onClose(): void {}

  protected notOpen(at: number, what: string): RecordStateError {
    return new RecordStateError(
      `Cannot ${what} record: offset ${at} is not an open reservation of producer ${this.producerId} on lane ${this.lane}`,
    );
  }
}

/**
 * Writer of a per-thread lane. Obtain with {@link RingBuffer.writer}.
 *
 * @example
 * ```ts
 * const w = ring.writer();
 * const at = w.reserve(3, 16);          // payload offset, or -1 if dropped
 * if (at >= 0) { w.f64[at >> 3] = 1.5; w.i32[(at >> 2) + 2] = 42; w.commit(at); }
 * ```
 */
export class LaneWriter extends WriterBase implements RingWriter {
  // Fields are TypeScript-private, not #private: V8 reads #private fields on the write path about
  // 3 ns slower per record (measured with bench/ring.ts and a stripped copy).
  /** Page counter of the page being written. */
  private pageNo = 0;
  /** Byte offset (in the SAB) of the page being written. */
  private slot = 0;
  /** Byte offset (in the SAB) of the next record header. */
  private frontier = 0;
  /** Fast-path limit: the end of the page, or 0 to force the slow path (a drop to report). */
  private limit = 0;
  /** Base time of the current page. */
  private base = 0;
  private pageEnd = 0;
  /** Int32 index of the current page's PG_COMMITTED. */
  private commitIdx = 0;
  /** Reservations open now (nesting depth). PG_COMMITTED may be published only when it is 0. */
  private open = 0;
  /** Commits and discards that left nothing open since PG_COMMITTED was last published. */
  private unpublished = 0;
  /** Oldest page closed while reservations were open (its PG_COMMITTED is still to publish), or -1. */
  private pendingClose = -1;
  /**
   * Data records and payload bytes in each slot's page, counted by this writer as it reserved them
   * (and uncounted on discard), so recycling a page needs no walk of its headers. Unknown (0 in
   * #slotKnown) for a page this writer did not write from its start.
   */
  private readonly slotRecords: Float64Array;
  private readonly slotBytes: Float64Array;
  private readonly slotKnown: Uint8Array;
  private pageRecords = 0;
  private pageBytes = 0;
  /** Clock `none`: skip the clock call on the fast path. */
  private readonly noClock: boolean;
  /** The open batch's first header word index, and the header it is published with. */
  private batchHeader = -1;
  private batchWord = 0;
  /** The next record is the first this writer puts in its page: an IDENTITY record goes first. */
  private needIdentity = true;
  /** Size of the IDENTITY record (with the name) and its word0. */
  private readonly identSize: number;
  private readonly identWord: number;
  /**
   * layout.ts constants used by reserve()'s fast path and commit(), as fields. An imported binding
   * is a live module binding: optimized code loads it from its cell and checks it for the TDZ hole
   * at every use, about 4 ns a record for the eight used here (measured: 29.9-34.8 ns a write with
   * the imports, 24.4-28.7 with fields; raw loop 8.2). A field is one load.
   */
  private readonly kTypeMask = TYPE_MASK;
  private readonly kMaxDelta = MAX_TIME_DELTA;
  private readonly kHeaderBytes = RECORD_HEADER_BYTES;
  private readonly kBusy = STATE_BUSY;
  private readonly kStateShift = STATE_SHIFT;
  private readonly kLengthShift = LENGTH_SHIFT;
  private readonly kBusyToCommitted = BUSY_TO_COMMITTED;
  private readonly kPublishEvery = PUBLISH_EVERY;

  constructor(ring: RingBuffer, lane: number, producerId: number, identity: ThreadIdentity) {
    super(ring, lane, producerId, identity);
    this.identSize = (RECORD_HEADER_BYTES + this.identNamed.length + 7) & ~7;
    this.identWord = recordWord(STATE_COMMITTED, this.identNamed.length, INTERNAL_BIT | INTERNAL_IDENTITY);
    const pages = ring.geometry.lanePages;
    this.slotRecords = new Float64Array(pages);
    this.slotBytes = new Float64Array(pages);
    this.slotKnown = new Uint8Array(pages);
    this.noClock = ring.clock.code === CLOCK_NONE;
    this.resume();
  }

  /** Continue where the lane's previous owner (or ring init) left off: the head page's committed end. */
  private resume(): void {
    const g = this.g;
    const c = this.core;
    // Acquire the head published by a previous owner's page switch (handed over through L_OWNER).
    const headLo = Atomics.load(c.i32, (this.laneBase + L_HEAD_PAGE) >> 2);
    const slot = slotOffset(g, this.laneBase, headLo);
    // Acquire the page number's high half; published before PG_SEQ by preparePage().
    const hi = Atomics.load(c.i32, (slot + PG_SEQ_HI) >> 2) >>> 0;
    const head = pageNumber(headLo, hi, slot + PG_SEQ_HI);
    this.enterPage(pageHolds(c, slot, head) ? head : 0);
    // A previous owner published everything it wrote (close() and reclaim publish PG_COMMITTED).
    this.frontier = this.slot + committedEnd(c, this.slot);
    this.slotKnown.fill(0); // pages written before us: count them by walking when recycled
  }

  private enterPage(pageNo: number): void {
    const slot = slotOffset(this.g, this.laneBase, pageNo);
    this.pageNo = pageNo;
    this.slot = slot;
    this.frontier = slot + PAGE_HEADER_BYTES;
    this.pageEnd = slot + this.g.pageSize;
    this.commitIdx = (slot + PG_COMMITTED) >> 2;
    // The first record this writer puts in a page takes the slow path, which writes the IDENTITY record.
    this.needIdentity = true;
    this.limit = 0;
    this.base = this.f64[(slot + PG_BASE_TIME) >> 3] ?? 0;
    this.pageRecords = 0;
    this.pageBytes = 0;
    this.unpublished = 0;
    this.slotKnown[(pageNo >>> 0) & (this.g.lanePages - 1)] = 1;
  }

  reserve(type: number, size: number): number {
    // One test for both arguments: integers in range (type 0..8191, size 0..maxPayload).
    if ((type & ~this.kTypeMask) !== 0 || type !== (type | 0) || size > this.maxPayload || size !== (size >>> 0)) {
      checkArgs(type, size, this.maxPayload);
    }
    const base = this.base;
    const t = this.noClock ? 0 : this.clock.read(base);
    const d = t - base;
    const at = this.frontier;
    const hb = this.kHeaderBytes;
    const end = at + ((size + hb + 7) & ~7);
    if (end <= this.limit && d >= 0 && d <= this.kMaxDelta) {
      this.frontier = end;
      this.open++;
      this.pageRecords++; // counted when reserved; discard() takes it back
      this.pageBytes += size;
      const i = at >> 2;
      const i32 = this.i32;
      // Plain stores: only this thread writes here, and readers stop at BUSY until commit() publishes.
      i32[i] = (this.kBusy << this.kStateShift) | (size << this.kLengthShift) | type;
      i32[i + 1] = d;
      return at + hb;
    }
    return this.reserveSlow(type, size, t);
  }

  private reserveSlow(type: number, size: number, t: number): number {
    if (this.closed) throw new RecordStateError(`Cannot reserve record: writer of lane ${this.lane} is closed`);
    const i32 = this.i32;
    for (let attempt = 0; attempt < 3; attempt++) {
      const d = t - this.base;
      const extended = !(d >= 0 && d <= MAX_TIME_DELTA);
      const need =
        (this.needIdentity ? this.identSize : 0) +
        (this.pendingLost > 0 ? RECORD_HEADER_BYTES + LOST_PAYLOAD_BYTES : 0) +
        (extended ? TIME_RECORD_BYTES : 0) +
        ((size + RECORD_HEADER_BYTES + 7) & ~7);
      let at = this.frontier;
      if (at + need > this.pageEnd) {
        if (!this.switchPage(t)) {
          this.countDrop();
          this.limit = 0;
          return -1;
        }
        continue;
      }
      if (this.needIdentity) {
        const size = this.putIdentity(at, true);
        // Publish who writes the records after it in this page; pairs with the readers' Atomics.load of word0.
        Atomics.store(i32, at >> 2, this.identWord);
        at += size;
        this.needIdentity = false;
      }
      if (this.pendingLost > 0) {
        this.f64[(at >> 3) + 1] = this.pendingLost;
        // Publish the lost count in-band; pairs with the readers' Atomics.load of word0.
        Atomics.store(i32, at >> 2, recordWord(STATE_COMMITTED, LOST_PAYLOAD_BYTES, INTERNAL_BIT | INTERNAL_LOST));
        // Single writer (this producer); read by whoever retires it, after its state exchange.
        this.f64[this.reportedIdx] = this.reportedTotal += this.pendingLost;
        at += RECORD_HEADER_BYTES + LOST_PAYLOAD_BYTES;
        this.pendingLost = 0;
      }
      this.limit = this.pageEnd; // back on the fast path
      if (extended) {
        this.f64[(at >> 3) + 1] = t;
        // Publish the absolute time of the next record; pairs with the readers' Atomics.load of word0.
        Atomics.store(i32, at >> 2, recordWord(STATE_COMMITTED, TIME_RECORD_BYTES - RECORD_HEADER_BYTES, INTERNAL_BIT | INTERNAL_TIME));
        at += TIME_RECORD_BYTES;
      }
      i32[at >> 2] = recordWord(STATE_BUSY, size, type); // plain: see reserve()
      i32[(at >> 2) + 1] = extended ? 0 : d; // an extended record takes its time from the TIME record
      this.frontier = at + ((size + RECORD_HEADER_BYTES + 7) & ~7);
      this.open++;
      this.pageRecords++;
      this.pageBytes += size;
      return at + RECORD_HEADER_BYTES;
    }
    this.countDrop();
    this.limit = 0;
    return -1;
  }

  /** Close the current page with a padding record and move to the next one (preparing it). */
  private switchPage(t: number): boolean {
    const i32 = this.i32;
    const at = this.frontier;
    if (at < this.pageEnd) {
      // Publish the padding that closes the page; pairs with the readers' Atomics.load of word0.
      Atomics.store(i32, at >> 2, recordWord(STATE_COMMITTED, this.pageEnd - at - RECORD_HEADER_BYTES, INTERNAL_BIT | INTERNAL_PADDING));
      this.frontier = this.pageEnd;
    }
    const mask = this.g.lanePages - 1;
    const cur = (this.pageNo >>> 0) & mask;
    this.slotRecords[cur] = this.pageRecords;
    this.slotBytes[cur] = this.pageBytes;
    if (this.open === 0) {
      this.storePageRecords(this.slot, cur);
      // Publish the closed page (padding included, and its record count); pairs with committedEnd() in readers.
      Atomics.store(i32, this.commitIdx, this.g.pageSize);
    } else if (this.pendingClose < 0) {
      this.pendingClose = this.pageNo;
    }
    const next = this.pageNo + 1;
    const nextSlot = (next >>> 0) & mask;
    const w = this.walk;
    const counted = this.slotKnown[nextSlot] === 1;
    w.records = this.slotRecords[nextSlot] ?? 0;
    w.bytes = this.slotBytes[nextSlot] ?? 0;
    const r = preparePage(this.core, this.laneBase, next, t, this.producerId, w, counted);
    if (r !== PREPARE_READY) return false;
    this.enterPage(next);
    // Publish the new head page for stats, reclaim and a later owner; pairs with their loads.
    Atomics.store(i32, (this.laneBase + L_HEAD_PAGE) >> 2, next | 0);
    return true;
  }

  commit(at: number): void {
    const i = (at - this.kHeaderBytes) >> 2;
    const i32 = this.i32;
    // Plain read of our own header word (only this thread writes it).
    const h = i32[i] ?? 0;
    if (h >>> this.kStateShift !== this.kBusy || at < this.laneBase || at > this.laneEnd) throw this.notOpen(at, "commit");
    // Publish the record (payload and delta written before); pairs with readers' Atomics.load of word0.
    Atomics.store(i32, i, h ^ this.kBusyToCommitted);
    if (--this.open === 0 && (++this.unpublished >= this.kPublishEvery || this.pendingClose >= 0)) this.publish();
    // Anyone about to sleep? Ordered after the commit store: pairs with wakeup.ts#registerWaiter()'s
    // Atomics.add, which comes before the reader's last look for data (no lost wakeup).
    if (Atomics.load(i32, this.waitersIdx) !== 0) wakeReaders(i32, false, this.ring.wakeChannel);
  }

  /**
   * The batch path of a per-thread lane (see {@link RingWriter.reserveBatch}). The first record is
   * reserved as by reserve() (page switch, pending loss report, time record); the others follow it
   * in the page, their headers already COMMITTED, and the first record's BUSY header spans them
   * all: readers stop at it, and a reclaim of a dead writer discards the whole span (one
   * abandoned reservation). commitBatch() then stores the first record's own header: one
   * publication for the batch.
   */
  override reserveBatch(type: number, size: number, count: number): number {
    this.checkBatch(count);
    const at = this.reserve(type, size);
    if (at < 0) return 0;
    const i32 = this.i32;
    const stride = (size + RECORD_HEADER_BYTES + 7) & ~7;
    const first = (at - RECORD_HEADER_BYTES) >> 2;
    let n = 1;
    if (count > 1) {
      // The others' time: one clock read for them all, as a delta from the page base.
      const base = this.base;
      const d = (this.noClock ? 0 : this.clock.read(base)) - base;
      const room = Math.floor((this.limit - this.frontier) / stride);
      if (d >= 0 && d <= MAX_TIME_DELTA && room > 0) {
        n = Math.min(count, 1 + room);
        const word = recordWord(STATE_COMMITTED, size, type);
        const step = stride >> 2;
        let h = this.frontier >> 2;
        for (let k = 1; k < n; k++, h += step) {
          // Plain: hidden behind the first record's BUSY span until commitBatch() publishes it.
          i32[h] = word;
          i32[h + 1] = d;
        }
        this.frontier += (n - 1) * stride;
        this.pageRecords += n - 1;
        this.pageBytes += (n - 1) * size;
        // Plain, like reserve()'s: still BUSY, now covering the whole batch.
        i32[first] = recordWord(STATE_BUSY, n * stride - RECORD_HEADER_BYTES, type);
      }
    }
    this.batchHeader = first;
    this.batchWord = recordWord(STATE_COMMITTED, size, type);
    this.batchAt = at;
    this.batchStride = stride;
    return n;
  }

  override commitBatch(): void {
    const i = this.batchHeader;
    if (i < 0) throw new RecordStateError(`Cannot commit batch: no batch is open on lane ${this.lane}`);
    this.batchHeader = -1;
    this.batchAt = -1;
    const i32 = this.i32;
    // Publish the batch (payloads and the later records' headers written before); pairs with readers' Atomics.load of word0.
    Atomics.store(i32, i, this.batchWord);
    if (--this.open === 0 && (++this.unpublished >= PUBLISH_EVERY || this.pendingClose >= 0)) this.publish();
    // Anyone about to sleep? Ordered after the store: pairs with wakeup.ts#registerWaiter() (see commit()).
    if (Atomics.load(i32, this.waitersIdx) !== 0) wakeReaders(i32, false, this.ring.wakeChannel);
  }

  discard(at: number): void {
    const i = (at - RECORD_HEADER_BYTES) >> 2;
    const i32 = this.i32;
    const h = i32[i] ?? 0;
    if (h >>> STATE_SHIFT !== STATE_BUSY || at < this.laneBase || at > this.laneEnd) throw this.notOpen(at, "discard");
    // Publish the record as discarded; pairs with readers' Atomics.load of word0, which skip it.
    Atomics.store(i32, i, h ^ BUSY_TO_DISCARDED);
    this.uncount(at, (h >>> LENGTH_SHIFT) & LENGTH_MASK);
    if (--this.open === 0 && (++this.unpublished >= PUBLISH_EVERY || this.pendingClose >= 0)) this.publish();
  }

  /**
   * Publish PG_COMMITTED: every record below the frontier is final (nothing is open). Readers read
   * below it with plain loads; it is a batching device, not what makes a record visible (each
   * record's own word0 store does that), so doing it every PUBLISH_EVERY records keeps the page
   * header's cache line from bouncing between writer and reader on every record.
   */
  private publish(): void {
    if (this.pendingClose >= 0) this.publishClosed();
    this.unpublished = 0;
    // Publish every record below the frontier; pairs with committedEnd() in readers.
    Atomics.store(this.i32, this.commitIdx, (this.frontier - this.slot) | 0);
  }

  protected override onClose(): void {
    this.limit = 0; // every reserve() now takes the slow path, which refuses a closed writer
  }

  /** A discarded record is not data: take back what reserve() counted, in the page it is in. */
  private uncount(at: number, length: number): void {
    if (at >= this.slot && at <= this.pageEnd) {
      this.pageRecords--;
      this.pageBytes -= length;
      return;
    }
    const index = ((at - this.laneBase - LANE_HEADER_BYTES) >> this.g.pageShift) & (this.g.lanePages - 1);
    this.slotRecords[index] = (this.slotRecords[index] ?? 0) - 1;
    this.slotBytes[index] = (this.slotBytes[index] ?? 0) - length;
  }

  /** Publish the pages closed while reservations were open (nesting across a page switch). */
  private publishClosed(): void {
    for (let p = this.pendingClose; p < this.pageNo; p++) {
      const slot = slotOffset(this.g, this.laneBase, p);
      // Publish the closed page; pairs with committedEnd() in readers. Such a page cannot have
      // been recycled: preparePage() finds it not final (STALLED) until this store.
      if (pageHolds(this.core, slot, p)) {
        this.storePageRecords(slot, (p >>> 0) & (this.g.lanePages - 1));
        Atomics.store(this.i32, (slot + PG_COMMITTED) >> 2, this.g.pageSize);
      }
    }
    this.pendingClose = -1;
  }

  /** PG_PAGE_RECORDS of a page about to be published closed: its count if this writer wrote all of it, else 0 (unknown). */
  private storePageRecords(slot: number, index: number): void {
    // Plain: published by the Atomics.store of PG_COMMITTED that follows.
    this.i32[(slot + PG_PAGE_RECORDS) >> 2] = this.slotKnown[index] === 1 ? (this.slotRecords[index] ?? 0) + 1 : 0;
  }
}

/**
 * A per-thread lane publishes PG_COMMITTED after this many commits or discards that leave nothing
 * open (sooner when a page closed with reservations open is waiting), and at every page close.
 */
export const PUBLISH_EVERY = 32;

/** Open reservations a shared-lane writer can hold at once (nesting depth). */
export const MAX_OPEN_RESERVATIONS = 16;
const MAX_RESERVE_ATTEMPTS = 64;
/** Outcomes of SharedLaneWriter#advance(). */
const ADVANCE_MOVED = 0;
const ADVANCE_WAIT = 1;
const ADVANCE_FAILED = 2;
/** Bits of an open reservation's flags: the claim starts with a LOST record / a TIME record. */
const SPAN_LOST = 1;
const SPAN_TIME = 2;
/** Flags bits 2..: the payload length of the claim's IDENTITY record (its first record). */
const SPAN_IDENT_SHIFT = 2;
const OPEN_FIELDS = 5;

/**
 * Writer of a shared (multi-producer) lane. Obtain with `ring.writer({ lane: "shared" })`.
 * Same API as {@link LaneWriter}; each reservation costs a compare-exchange.
 */
export class SharedLaneWriter extends WriterBase implements RingWriter {
  #pageNo = 0;
  #slot = 0;
  #base = 0;
  /** Where to start looking for the first empty header (a record boundary of the current page). */
  #scan = 0;
  /** Open reservations: [claim word index, header word index, type, span flags, payload size] each. */
  readonly #open = new Int32Array(MAX_OPEN_RESERVATIONS * OPEN_FIELDS);
  #openCount = 0;
  /** The page in which this producer last wrote its IDENTITY record with the name (-1: none yet). */
  #namedPage = -1;

  constructor(ring: RingBuffer, lane: number, producerId: number, identity: ThreadIdentity) {
    super(ring, lane, producerId, identity);
    if (!this.#sync()) this.#enter(0);
  }

  /** Load the lane's head page; false if it kept moving under us. */
  #sync(): boolean {
    const g = this.g;
    for (let i = 0; i < 100; i++) {
      // Acquire the head page published by the producer that moved the lane to it.
      const lo = Atomics.load(this.i32, (this.laneBase + L_HEAD_PAGE) >> 2);
      const slot = slotOffset(g, this.laneBase, lo);
      // Acquire the high half; published before PG_SEQ by preparePage().
      const hi = Atomics.load(this.i32, (slot + PG_SEQ_HI) >> 2) >>> 0;
      const pageNo = pageNumber(lo, hi, slot + PG_SEQ_HI, -1);
      if (pageNo >= 0 && pageHolds(this.core, slot, pageNo)) {
        this.#enter(pageNo);
        return true;
      }
    }
    return false;
  }

  #enter(pageNo: number): void {
    this.#pageNo = pageNo;
    this.#slot = slotOffset(this.g, this.laneBase, pageNo);
    this.#base = this.f64[(this.#slot + PG_BASE_TIME) >> 3] ?? 0;
    this.#scan = this.#slot + PAGE_HEADER_BYTES;
  }

  reserve(type: number, size: number): number {
    if ((type & ~TYPE_MASK) !== 0 || type !== (type | 0) || size > this.maxPayload || size !== (size >>> 0)) {
      checkArgs(type, size, this.maxPayload);
    }
    if (this.#openCount === MAX_OPEN_RESERVATIONS) {
      throw new RangeError(`Cannot reserve record: at most ${MAX_OPEN_RESERVATIONS} reservations may be open at once on a shared lane`);
    }
    if (this.closed) throw new RecordStateError(`Cannot reserve record: writer of lane ${this.lane} is closed`);
    const i32 = this.i32;
    const ps = this.g.pageSize;
    const recBytes = (size + RECORD_HEADER_BYTES + 7) & ~7;
    for (let attempt = 0; attempt < MAX_RESERVE_ATTEMPTS; attempt++) {
      const slot = this.#slot;
      const pageEnd = slot + ps;
      const seqIdx = (slot + PG_SEQ) >> 2;
      const pageLo = this.#pageNo | 0;
      // Walk to the first empty header.
      let off = this.#scan;
      while (off < pageEnd) {
        // Acquire the header (maybe another producer's fresh claim); pairs with its compareExchange.
        const h = Atomics.load(i32, off >> 2);
        if (h === 0) break;
        const step = (RECORD_HEADER_BYTES + ((h >>> LENGTH_SHIFT) & LENGTH_MASK) + 7) & ~7;
        if (h >>> STATE_SHIFT === 0 || off + step > pageEnd) {
          off = -1; // not a record boundary of this page any more: our view is stale
          break;
        }
        off += step;
      }
      if (off < 0) {
        this.#sync();
        continue;
      }
      // Time is read after the frontier was found, so timestamps grow in lane order.
      const t = this.clock.read(this.#base);
      const d = t - this.#base;
      const extended = !(d >= 0 && d <= MAX_TIME_DELTA);
      const lostBytes = this.pendingLost > 0 ? RECORD_HEADER_BYTES + LOST_PAYLOAD_BYTES : 0;
      // Every claim says who made it; the first one of this producer in a page also names the thread.
      const ident = this.#namedPage === this.#pageNo ? this.identShort : this.identNamed;
      const identBytes = (RECORD_HEADER_BYTES + ident.length + 7) & ~7;
      const need = identBytes + lostBytes + (extended ? TIME_RECORD_BYTES : 0) + recBytes;
      if (off + need > pageEnd) {
        if (off < pageEnd) {
          const pad = recordWord(STATE_COMMITTED, pageEnd - off - RECORD_HEADER_BYTES, INTERNAL_BIT | INTERNAL_PADDING);
          if (!pageHolds(this.core, slot, this.#pageNo)) {
            this.#sync();
            continue;
          }
          // Close the page with padding, atomically with claiming its rest; pairs with readers' loads.
          if (Atomics.compareExchange(i32, off >> 2, 0, pad) !== 0) {
            this.#scan = off;
            continue;
          }
        }
        const moved = this.#advance(t);
        if (moved === ADVANCE_FAILED) break;
        // ADVANCE_WAIT: another producer is preparing the next page (zeroing it takes about a
        // microsecond): look again, within the attempts, rather than drop at once. A preparer
        // preempted for longer still costs a drop here; reserveWaiting() waits it out.
        continue;
      }
      const busy = (STATE_BUSY << STATE_SHIFT) | ((need - RECORD_HEADER_BYTES) << LENGTH_SHIFT) | (this.producerId & INFO_MASK);
      // Re-check the page right before claiming: a claim in a slot recycled under a stale view could
      // land inside another record (see docs/DESIGN.md, "A writer a whole lap behind"). The low word
      // of the page counter is enough here (a view 2^32 pages stale is not a case); acquire it.
      if (Atomics.load(i32, seqIdx) !== pageLo) {
        this.#sync();
        continue;
      }
      // Claim [off, off + need): the BUSY header and its length appear in one atomic step.
      if (Atomics.compareExchange(i32, off >> 2, 0, busy) !== 0) {
        this.#scan = off;
        continue;
      }
      // Acquire the page counter again: a slot recycled between the check and the claim shows here.
      if (Atomics.load(i32, seqIdx) !== pageLo) {
        // The slot was recycled under us: turn the claim into a discarded record and start over.
        Atomics.compareExchange(i32, off >> 2, busy, busy ^ BUSY_TO_DISCARDED);
        this.#sync();
        continue;
      }
      this.#scan = off + need;
      if (ident === this.identNamed) this.#namedPage = this.#pageNo;
      let at = off + this.putIdentity(off, ident === this.identNamed);
      let flags = ident.length << SPAN_IDENT_SHIFT;
      if (lostBytes > 0) {
        this.f64[(at >> 3) + 1] = this.pendingLost; // published by the claim word's commit store
        this.pendingLost = 0;
        flags |= SPAN_LOST;
        at += lostBytes;
      }
      if (extended) {
        this.f64[(at >> 3) + 1] = t; // published by the claim word's commit store
        flags |= SPAN_TIME;
        at += TIME_RECORD_BYTES;
      } else {
        i32[(at >> 2) + 1] = d;
      }
      const k = this.#openCount++ * OPEN_FIELDS;
      const open = this.#open;
      open[k] = off >> 2;
      open[k + 1] = at >> 2;
      open[k + 2] = type;
      open[k + 3] = flags;
      open[k + 4] = size;
      return at + RECORD_HEADER_BYTES;
    }
    this.countDrop();
    return -1;
  }

  /**
   * Move to the next page (already prepared by someone, or prepared now), and prepare the one after.
   * ADVANCE_WAIT when another producer is preparing it right now, ADVANCE_FAILED when it cannot be
   * prepared (full, stalled).
   */
  #advance(t: number): number {
    const next = this.#pageNo + 1;
    const prepared = preparePage(this.core, this.laneBase, next, t, this.producerId, this.walk);
    if (prepared !== PREPARE_READY) {
      // Maybe we were behind and the lane moved on: resync from the head.
      const before = this.#pageNo;
      if (this.#sync() && this.#pageNo !== before) return ADVANCE_MOVED;
      return prepared === PREPARE_IN_PROGRESS ? ADVANCE_WAIT : ADVANCE_FAILED;
    }
    // Move the head forward (where late joiners start); pairs with #sync()'s load.
    Atomics.compareExchange(this.i32, (this.laneBase + L_HEAD_PAGE) >> 2, this.#pageNo | 0, next | 0);
    this.#enter(next);
    // Prepare one page ahead, so producers rarely meet an unprepared page at the boundary.
    preparePage(this.core, this.laneBase, next + 1, this.clock.peek(this.#base), this.producerId, this.walk);
    return ADVANCE_MOVED;
  }

  commit(at: number): void {
    this.#finish(at, STATE_COMMITTED, "commit");
  }

  discard(at: number): void {
    this.#finish(at, STATE_DISCARDED, "discard");
  }

  #finish(at: number, state: number, what: string): void {
    const hdr = (at - RECORD_HEADER_BYTES) >> 2;
    const open = this.#open;
    let k = (this.#openCount - 1) * OPEN_FIELDS;
    while (k >= 0 && open[k + 1] !== hdr) k -= OPEN_FIELDS;
    if (k < 0) throw this.notOpen(at, what);
    const first = open[k] ?? 0;
    const type = open[k + 2] ?? 0;
    const flags = open[k + 3] ?? 0;
    const length = open[k + 4] ?? 0;
    // Remove entry k: move the last entry into its place (nothing to move in the usual LIFO case).
    const last = --this.#openCount * OPEN_FIELDS;
    if (k !== last) {
      for (let f = 0; f < OPEN_FIELDS; f++) open[k + f] = open[last + f] ?? 0;
    }
    const i32 = this.i32;
    // Plain read of our own claim word: only a reclaimer changes it, and only once we were declared dead.
    const busy = i32[first] ?? 0;
    if (busy >>> STATE_SHIFT !== STATE_BUSY || (busy & INFO_MASK) !== (this.producerId & INFO_MASK)) {
      throw new RecordStateError(`Cannot ${what} record: the reservation at offset ${at} was abandoned (producer ${this.producerId} was reclaimed)`);
    }
    this.#publishSpan(first, hdr, recordWord(state, length, type), flags);
    // Anyone about to sleep? Ordered after the commit store: pairs with wakeup.ts#registerWaiter().
    if (Atomics.load(i32, this.waitersIdx) !== 0) wakeReaders(i32, false, this.ring.wakeChannel);
  }

  /**
   * Publish a claim: IDENTITY record, then maybe a LOST and a TIME record, then the data record.
   * Inner headers first, the claim word (the IDENTITY header) last: until it changes, readers and
   * other producers see one BUSY span.
   */
  #publishSpan(first: number, hdr: number, word: number, flags: number): void {
    const i32 = this.i32;
    i32[hdr] = word; // word1 keeps the delta stored at reserve time (ignored after a TIME record)
    if ((flags & SPAN_TIME) !== 0) {
      i32[hdr - (TIME_RECORD_BYTES >> 2)] = recordWord(STATE_COMMITTED, TIME_RECORD_BYTES - RECORD_HEADER_BYTES, INTERNAL_BIT | INTERNAL_TIME);
    }
    const identLength = flags >>> SPAN_IDENT_SHIFT;
    let lostCount = 0;
    if ((flags & SPAN_LOST) !== 0) {
      const lost = first + ((RECORD_HEADER_BYTES + identLength + 7) >> 3) * 2;
      i32[lost] = recordWord(STATE_COMMITTED, LOST_PAYLOAD_BYTES, INTERNAL_BIT | INTERNAL_LOST);
      lostCount = this.f64[(lost >> 1) + 1] ?? 0; // the LOST payload written at reserve time
    }
    // Publish the span: IDENTITY header last; pairs with readers' Atomics.load(word0).
    Atomics.store(i32, first, recordWord(STATE_COMMITTED, identLength, INTERNAL_BIT | INTERNAL_IDENTITY));
    // The LOST record is published: count it reported, right after the store with no call between
    // (single writer: this producer; read by whoever retires it, after its state exchange).
    if (lostCount !== 0) this.f64[this.reportedIdx] = this.reportedTotal += lostCount;
  }
}

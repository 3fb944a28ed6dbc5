/**
 * Readers. A {@link RingReader} reads one or more lanes, merging them by timestamp; it is either
 * consuming (records leave the ring, one consumer per lane) or a non-consuming iterator.
 *
 * Both copy a run of committed records out of the page into a private buffer and then make sure the
 * copy is good before delivering anything:
 *  - a consumer moves the lane's tail over the run with a compare-exchange. Writers that recycle a
 *    page first push the tail past it with a compare-exchange of the same word, so if ours succeeded
 *    the page was intact while we copied; if it failed, the page is being overwritten: the copy is
 *    dropped and the loss is counted exactly from the page cumulatives.
 *  - an iterator re-reads the page number after the copy (a seqlock); a fence makes the copy's plain
 *    loads complete before that re-read on weakly ordered CPUs.
 * So a reader never hands out a torn or overwritten record; it reports a loss instead.
 */
import { ConsumerClaimError, RingClosedError, RingFormatError } from "./errors.js";
import {
  CLOCK_NONE,
  INTERNAL_BIT,
  INTERNAL_IDENTITY,
  INTERNAL_LOST,
  INTERNAL_TIME,
  CONSUMER_GROUP,
  CONSUMER_MEMBERS_MASK,
  CONSUMER_SINGLE,
  H_FOLDS_ENDED,
  L_CLEARED_HI,
  L_CLEARED_LO,
  L_OVERRUN_TOLD,
  L_UNREPORTED_HI,
  L_UNREPORTED_LO,
  L_UNREPORTED_TOLD,
  L_CONSUMER,
  L_GROUP_READ_HI,
  L_GROUP_READ_LO,
  L_READ,
  L_TAIL_POS8,
  LENGTH_MASK,
  LENGTH_SHIFT,
  PAGE_HEADER_BYTES,
  PG_BASE_TIME,
  PG_CUM_READY,
  PG_PAGE_RECORDS,
  PG_PREPARER,
  PG_RECORDS_BEFORE,
  PG_SEQ,
  PG_SEQ_HI,
  RECORD_HEADER_BYTES,
  STATE_BUSY,
  STATE_COMMITTED,
  STATE_SHIFT,
  TYPE_MASK,
  laneOffset,
  pos8Diff,
  pos8Offset,
  pos8Page,
  slotOffset,
  toPos8,
} from "./layout.js";
import { PageWalk, type RingCore, addPair, loadPair, badHeader, committedEnd, fence, pageState, recordsBefore, walkHeldPage, walkPage, laneHeadPage } from "./pages.js";
import { RecordBatch } from "./batch.js";
import { LaneMerge } from "./merge.js";
import { RecordCopier, type RecordCopy } from "./record-batch.js";
import { IdentityTracker } from "./identity.js";
import type { RingBuffer } from "./ring.js";
import { registerWaiter, unregisterWaiter, waitForSeq, waitForSeqAsync, wakeReaders, wakeSpaceWaiters } from "./wakeup.js";

/**
 * One record as a reader hands it out. The object is reused for every record (no allocation per
 * record): copy what you keep. `bytes[offset .. offset + length)` is the payload, valid until the
 * next call into the reader.
 */
export class RingRecord {
  /** `data` for a record, `lost` for a marker standing where records were lost. */
  kind: "data" | "lost" = "data";
  lane = 0;
  /** Event type (0..8191) of a data record. */
  type = 0;
  /** Ring time (clock units; ns for `mono`). */
  timestamp = 0;
  /** For a `lost` marker: how many records were lost at this point (NaN if it cannot be known). */
  lost = 0;
  /**
   * For a `lost` marker: `overrun` (records overwritten before this reader got to them, overwrite
   * mode), `dropped` (records a writer refused, reported in-band by that writer, or by the consumer
   * for a writer that retired before it could), or `damaged` (a corrupt record header or page
   * header at {@link RingRecord.damageOffset}: the reader skipped the rest of that page and went
   * on with the next one; or records of a trace file that damage made unreadable, counted from the
   * pages around it; `lost` counts the records skipped, NaN when that cannot be known).
   * Empty for data.
   */
  cause: "" | "overrun" | "dropped" | "damaged" = "";
  /**
   * For a `damaged` marker of a ring: the byte offset in the ring of the word that does not parse;
   * -1 otherwise (a trace file's damage is reported in its `warnings`, by file offset).
   */
  damageOffset = -1;
  bytes: Uint8Array = EMPTY;
  offset = 0;
  length = 0;
  /**
   * Who wrote the record: the writer's process id, 0 when the ring does not say (a ring or file
   * written before producer identity existed, or a record whose identity was lost).
   */
  pid = 0;
  /** The writing thread's Node.js `threadId` (0 is the main thread); -1 when unknown. */
  threadId = -1;
  /** The writing thread's name ("main", a worker's `name` option or script); "" when unknown. */
  threadName = "";

  /** A copy of the payload. */
  payload(): Uint8Array {
    return this.bytes.slice(this.offset, this.offset + this.length);
  }
}
const EMPTY = new Uint8Array(0);

/** A plain-object copy of a record, for code that keeps records. */
export interface RecordData {
  kind: "data" | "lost";
  lane: number;
  type: number;
  timestamp: number;
  lost: number;
  cause: "" | "overrun" | "dropped" | "damaged";
  /** For cause `damaged`: the byte offset in the ring of the word that does not parse. */
  damageOffset?: number;
  payload: Uint8Array;
  /** Who wrote it (see {@link RingRecord.pid}): 0, -1 and "" when unknown. */
  pid: number;
  threadId: number;
  threadName: string;
}

const NO_TIME = Number.NaN;

/** Most records one step of {@link RingReader.records} takes from the ring (and delivers after an abort). */
const RECORDS_BATCH = 1024;
/** No bound on a batch of {@link RingReader.batches} but its page. */
const RECORDS_BATCH_MAX = 0x7fffffff;

/**
 * Let timers and I/O run, then resume: `setImmediate` where the runtime has it (Node, Bun, Deno),
 * which runs due timers and polls I/O without sleeping; `setTimeout(0)` elsewhere. (Node clamps
 * `setTimeout(0)` to 1 ms: every 10 ms of a steady stream that was a 1 ms nap, a tenth of the time.)
 */
function yieldToEventLoop(): Promise<void> {
  const immediate = (globalThis as { setImmediate?: (cb: () => void) => unknown }).setImmediate;
  return new Promise((resolve) => {
    if (typeof immediate === "function") immediate(resolve);
    else setTimeout(resolve, 0);
  });
}

/**
 * Longest run copied word by word. A longer one is one `set()` of a subarray: about 0.25 ns a
 * word against 0.9 for the loop, but a subarray object and a call into the runtime each (about
 * 100 ns): a consumer keeping up with a writer takes runs of a few records, where that was most
 * of the cost of a poll.
 */
const WORD_COPY_MAX_BYTES = 256;

/** Copy `bytes` (a multiple of 4) from `src` at byte `from` to `dst` at byte `to`, plain loads and stores. */
function copyWords(src: Int32Array, from: number, dst: Int32Array, to: number, bytes: number): void {
  const d = to >> 2;
  const s = from >> 2;
  for (let k = 0, n = bytes >> 2; k < n; k++) dst[d + k] = src[s + k] ?? 0;
}

/** @internal What a reader is: a consumer (records leave the ring), a group member (shares consuming with others), or an iterator. */
export type ReaderRole = "consumer" | "group" | "iterator";
const LAPPED_ATTEMPTS = 256;

/**
 * The run a lane cursor copied out of the ring and decodes record by record, and the loss it
 * reports before going on. A small object of its own (as is {@link CursorBook}) rather than
 * fields of LaneCursor: V8 keeps an object's properties in a hash table (dictionary mode) once
 * more than about 15 of them lie outside the object, and after a full GC it has been seen to give
 * new objects of a class no room inside at all. In the bench process, every LaneCursor created after
 * the ring_heap scenario's gc() (run after the xthread, xthread_batch and for_await scenarios) was
 * born in dictionary mode (41 fields), and read() cost 150 to 250 ns a record instead of 22: the
 * curve's `ring_own` series, 4x below `xthread_rps`. Each of these classes keeps to 14 fields or
 * fewer, LaneCursor too (test/reader-shape.test.ts counts them; docs/DESIGN.md section 7).
 */
class CopiedRun {
  /** The private copy (the run at its page offsets). */
  readonly bytes: Uint8Array;
  readonly i32: Int32Array;
  readonly f64: Float64Array;
  /** Next record to decode, and the run's end: byte offsets in `bytes`. */
  pos = 0;
  end = 0;
  /** The run's page base time. */
  base = 0;
  /** Time of the TIME record just passed, for the record right after it; else NaN. */
  nextTime = NO_TIME;
  /** Who wrote the records being decoded (IDENTITY records, FORMAT.md 8.3). */
  readonly who = new IdentityTracker();
  /** Overwritten records not reported yet, and the ring time where they stand. */
  lostPending = 0;
  lostTime = 0;
  /** The cursor jumped over pages since the last takeLost() (with or without records lost): a page hand-off must say so. */
  jumped = false;
  /** Byte offset of the corrupt word a `damaged` marker is pending for, else -1. */
  damageAt = -1;
  /** Records skipped with the damaged page's rest (NaN when unknown). */
  damageLost = 0;

  constructor(pageSize: number) {
    this.bytes = new Uint8Array(pageSize);
    this.i32 = new Int32Array(this.bytes.buffer);
    this.f64 = new Float64Array(this.bytes.buffer);
  }
}

/** A lane cursor's bookkeeping off the per-record path (see {@link CopiedRun} for why it is its own object). */
class CursorBook {
  /** A member of a consumer group: re-reads the shared tail before each run; takes are exactly-once by the tail exchange. */
  group = false;
  /** A single consumer of a discard-mode ring: nobody but it frees (recycles) a page of its lane. */
  holdsPages = false;
  /** The page #fill() found in its slot last, when holdsPages (it stays there until we move past it); else -1. */
  heldPage = -1;
  /** Data records consumed (or passed, for an iterator) so far, in lane order; NaN when unknown. */
  seq = 0;
  readCount = 0;
  /** Set while clear() takes runs: they count as cleared, not read. */
  clearing = false;
  clearedNow = 0;
  readonly cum = { records: 0, bytes: 0 };
  readonly unreported = { count: 0, time: 0 };
  /** H_FOLDS_ENDED when takeUnreported() last loaded L_UNREPORTED (NaN: never). */
  foldsSeen = Number.NaN;
  /** The tail #startAtTail() last stood on. */
  tailSeen = 0;
  /**
   * The tail when #lapped() last found no way past our page, or NaN. Until the tail moves, looking
   * again finds the same: what lets us past is the recycler's push of the tail. Remembering it spares
   * a lane that stays that way (a stalled recycler, a corrupt image) LAPPED_ATTEMPTS cumulative walks
   * on every read; found by the fuzzer, where a merged read paid them for every record of its other lanes.
   */
  stuckAt = Number.NaN;
  /** The run takeRun() handed off last: its page and byte range. */
  readonly handed = { page: 0, start: 0, end: 0 };
}

class LaneCursor {
  readonly #c: RingCore;
  readonly #laneBase: number;
  readonly #consuming: boolean;
  /** A per-thread lane (records published by PG_COMMITTED) rather than a shared one. */
  readonly #own: boolean;
  readonly #ps: number;
  readonly #walk = new PageWalk();
  /** Records in the pages found by completePageSlot(k), by k. */
  readonly #pendingRecords: number[] = [];
  /** Next page and offset to copy from. */
  #pageNo = 0;
  #off = PAGE_HEADER_BYTES;
  /** The head record (loaded, not yet handed out). */
  hasHead = false;
  /** The head record, handed to visitors as it is (no copy per record). */
  readonly record = new RingRecord();
  readonly #run: CopiedRun;
  readonly #st = new CursorBook();

  get lane(): number {
    return this.record.lane;
  }

  /** The private copy of the current run. */
  get bytes(): Uint8Array {
    return this.#run.bytes;
  }

  constructor(ring: RingBuffer, lane: number, role: ReaderRole) {
    this.#c = ring.core;
    this.#laneBase = laneOffset(ring.geometry, lane);
    const consuming = role !== "iterator";
    this.#consuming = consuming;
    this.#st.group = role === "group";
    this.#own = lane < ring.geometry.ownLanes;
    this.#ps = ring.geometry.pageSize;
    this.#st.holdsPages = role === "consumer" && !ring.geometry.overwrite;
    this.#run = new CopiedRun(this.#ps);
    this.record.lane = lane;
    this.record.bytes = this.#run.bytes;
    if (role === "consumer") {
      // Claim the lane's consumer role; pairs with the release in close().
      const was = Atomics.compareExchange(this.#c.i32, (this.#laneBase + L_CONSUMER) >> 2, 0, CONSUMER_SINGLE);
      if (was !== 0) {
        throw new ConsumerClaimError(
          `Cannot create consumer: lane ${lane} already has ${(was & CONSUMER_GROUP) !== 0 ? "a consumer group" : "a consumer"} (close it first)`,
        );
      }
      this.#st.readCount = this.#c.f64[(this.#laneBase + L_READ) >> 3] ?? 0;
    } else if (role === "group") {
      this.#joinGroup();
    }
    this.#startAtTail();
    if (role === "consumer") this.#overrunBeforeAttach();
  }

  /**
   * A new consumer's first loss: the records overwritten while no consumer was there (or that a
   * group member passed over), which no consumer was told of: the records before the tail less
   * those read, cleared, or reported lost to a consumer already (L_OVERRUN_TOLD). Exact: the page
   * cumulatives count what the ring overwrote.
   */
  #overrunBeforeAttach(): void {
    const c = this.#c;
    const lb = this.#laneBase;
    for (let i = 0; i < LAPPED_ATTEMPTS && Number.isNaN(this.#st.seq); i++) {
      if (!this.#passRecycledTailPage()) this.#startAtTail();
    }
    const told = c.f64[(lb + L_OVERRUN_TOLD) >> 3] ?? 0;
    const taken = this.#st.readCount + loadPair(c.i32, lb + L_GROUP_READ_LO, lb + L_GROUP_READ_HI) + loadPair(c.i32, lb + L_CLEARED_LO, lb + L_CLEARED_HI);
    const lost = this.#st.seq - taken - told;
    if (!(lost > 0)) return; // none, or not knowable (a ring lapping faster than we can look): NaN is not reported as a count
    this.#tellOverrun(lost);
    this.#run.lostPending = lost;
    this.#run.lostTime = c.f64[(slotOffset(c.g, lb, this.#pageNo) + PG_BASE_TIME) >> 3] ?? 0;
  }

  /** Record (single consumer) that the consumers were told of `lost` overwritten records. */
  #tellOverrun(lost: number): void {
    if (this.#st.group || !this.#consuming || !(lost > 0)) return;
    const f = (this.#laneBase + L_OVERRUN_TOLD) >> 3;
    this.#c.f64[f] = (this.#c.f64[f] ?? 0) + lost; // single writer: the lane's consumer
  }

  /**
   * Single consumer: drops of the lane's retired writers that no LOST record carries (a writer that
   * closed while its lane was full, or died), not yet reported to a consumer; marks them told.
   */
  takeUnreported(out: { count: number; time: number }): void {
    out.count = 0;
    out.time = this.#run.base; // where the cursor is: the drops happened after the writer's last record, somewhere before
    if (this.#st.group || !this.#consuming) return;
    const c = this.#c;
    const lb = this.#laneBase;
    // L_UNREPORTED grows only inside a retire's fold, which ends with an add to H_FOLDS_ENDED: while
    // that word has not moved since the last look, nothing new can be there. One plain load instead
    // of two atomic ones per poll that finds the lane empty (a consumer keeping up polls an empty
    // lane most of the time). Plain: a hint only (a change seen late is seen at a later poll); the
    // counts themselves are then read with acquire loads, after the retire's adds.
    const folds = c.i32[H_FOLDS_ENDED >> 2] ?? 0;
    if (folds === this.#st.foldsSeen) return;
    this.#st.foldsSeen = folds;
    const all = loadPair(c.i32, lb + L_UNREPORTED_LO, lb + L_UNREPORTED_HI);
    const f = (lb + L_UNREPORTED_TOLD) >> 3;
    const told = c.f64[f] ?? 0;
    if (!(all > told)) return;
    c.f64[f] = all; // single writer: the lane's consumer
    out.count = all - told;
  }

  /**
   * Page hand-off in overwrite mode: when the ring overwrote the page at the cursor (it lapped the
   * consumer), move to the tail now, the loss pending for {@link takeLost}, so complete pages after
   * it can be handed off whole again (completePageSlot() does not move the cursor).
   */
  skipOverwritten(): void {
    if (!this.#consuming || this.#st.group || this.hasHead || this.#run.pos < this.#run.end) return;
    const c = this.#c;
    if (pageState(c, slotOffset(c.g, this.#laneBase, this.#pageNo), this.#pageNo) > 0) this.#lapped();
  }

  /** Join the lane's consumer group (creating it if the lane has no consumer). */
  #joinGroup(): void {
    const idx = (this.#laneBase + L_CONSUMER) >> 2;
    for (let i = 0; i < 1000; i++) {
      // The lane's consumer word; pairs with the other members' exchanges and the single consumer's claim.
      const v = Atomics.load(this.#c.i32, idx);
      if (v !== 0 && (v & CONSUMER_GROUP) === 0) {
        throw new ConsumerClaimError(`Cannot join consumer group: lane ${this.record.lane} has a single consumer (close it first)`);
      }
      const next = v === 0 ? CONSUMER_GROUP | 1 : v + 1;
      if ((next & CONSUMER_MEMBERS_MASK) === 0) throw new ConsumerClaimError(`Cannot join consumer group: lane ${this.record.lane} has too many members`);
      // Count ourselves in; pairs with #leaveGroup() and other joiners.
      if (Atomics.compareExchange(this.#c.i32, idx, v, next) === v) return;
    }
    throw new ConsumerClaimError(`Cannot join consumer group: lane ${this.record.lane}'s consumer word keeps changing`);
  }

  #leaveGroup(): void {
    const idx = (this.#laneBase + L_CONSUMER) >> 2;
    for (;;) {
      // Pairs with #joinGroup()'s exchanges.
      const v = Atomics.load(this.#c.i32, idx);
      if ((v & CONSUMER_GROUP) === 0) return; // not a group any more (a corrupt word): nothing to undo
      const next = (v & CONSUMER_MEMBERS_MASK) <= 1 ? 0 : v - 1;
      // Count ourselves out; the last member frees the lane.
      if (Atomics.compareExchange(this.#c.i32, idx, v, next) === v) return;
    }
  }

  /** A group member: stand where the group's tail is now (no sequence kept: loss is the lane's, see FORMAT 5). */
  #syncToGroupTail(): void {
    const g = this.#c.g;
    // Acquire the tail; pairs with the other members' and the recyclers' compareExchange.
    const tail = Atomics.load(this.#c.i32, (this.#laneBase + L_TAIL_POS8) >> 2);
    this.#pageNo = Math.max(0, pos8Page(g, tail, laneHeadPage(this.#c, this.#laneBase)));
    const off = pos8Offset(g, tail);
    this.#off = off >= PAGE_HEADER_BYTES ? off : PAGE_HEADER_BYTES;
    this.#st.seq = Number.NaN;
  }

  /** Count `records` taken: delivered (the single consumer's own f64, or the group's shared counter), or cleared while clear() runs. */
  #countRead(records: number): void {
    wakeSpaceWaiters(this.#c.i32); // the take moved the tail: writers waiting for room (wakeup.ts) may go on
    if (this.#st.clearing) {
      this.#st.clearedNow += records;
      addPair(this.#c.i32, this.#laneBase + L_CLEARED_LO, this.#laneBase + L_CLEARED_HI, records);
      return;
    }
    if (this.#st.group) {
      addPair(this.#c.i32, this.#laneBase + L_GROUP_READ_LO, this.#laneBase + L_GROUP_READ_HI, records);
      return;
    }
    this.#st.readCount += records;
    this.#c.f64[(this.#laneBase + L_READ) >> 3] = this.#st.readCount; // single writer: the consumer
  }

  /**
   * Reset (consumers and group members): take every committed record from the cursor on without
   * handing it out, as ftrace's `echo > trace` empties a buffer, and count them as cleared
   * (L_CLEARED). Records already taken but not yet handed out are cleared too (moved from the read
   * count to the cleared one), and an overrun not yet reported is forgotten (stats keep counting
   * it). Stops at the first record still open (a reservation in progress: it and what follows
   * stay), and after the page writers were in when it began, so a writer that keeps the lane busy
   * cannot hold it: records committed while it runs may or may not be cleared. Returns the data
   * records cleared.
   */
  clear(): number {
    if (!this.#consuming) throw new TypeError("Cannot clear: an iterator does not consume (clear with a consumer, or ring.clear())");
    const taken = this.#takenNotHandedOut();
    const g = this.#c.g;
    const stopAfter = laneHeadPage(this.#c, this.#laneBase);
    this.#st.clearedNow = 0;
    this.#st.clearing = true; // #countRead() now counts takes as cleared
    try {
      if (taken > 0) {
        // They were counted as read when their run was taken: count them as cleared instead.
        if (this.#st.group) addPair(this.#c.i32, this.#laneBase + L_GROUP_READ_LO, this.#laneBase + L_GROUP_READ_HI, -taken);
        else {
          this.#st.readCount -= taken;
          this.#c.f64[(this.#laneBase + L_READ) >> 3] = this.#st.readCount; // single writer: the consumer
        }
        this.#countRead(taken);
      }
      this.hasHead = false;
      this.#run.pos = this.#run.end;
      // Bounded: a lap of pages, plus one run per record a page can hold (a writer filling the last page).
      const cap = g.lanePages + (g.pageSize >> 3) + 8;
      for (let i = 0; i < cap && this.#pageNo <= stopAfter && this.#fill(); i++) this.#run.pos = this.#run.end;
    } finally {
      this.#st.clearing = false;
    }
    this.#run.pos = this.#run.end;
    this.#run.lostPending = 0;
    this.#run.nextTime = NO_TIME;
    return this.#st.clearedNow;
  }

  /** Data records in the run in hand (taken from the ring) that were not handed out yet. */
  #takenNotHandedOut(): number {
    let n = this.hasHead && this.record.kind === "data" ? 1 : 0;
    for (let at = this.#run.pos; at < this.#run.end; ) {
      const h = this.#run.i32[at >> 2] ?? 0; // private copy: plain
      if (h >>> STATE_SHIFT === STATE_COMMITTED && (h & INTERNAL_BIT) === 0) n++;
      at += (RECORD_HEADER_BYTES + ((h >>> LENGTH_SHIFT) & LENGTH_MASK) + 7) & ~7;
    }
    return n;
  }

  /**
   * Position the cursor at the tail: the oldest record not consumed (nor cleared) yet, for a
   * consumer and an iterator alike. An iterator does not show what a consumer already took from
   * the tail's page, nor what clear() removed.
   */
  #startAtTail(): void {
    const g = this.#c.g;
    // Acquire the tail; pairs with the consumer's and the page recyclers' compareExchange.
    const tail = Atomics.load(this.#c.i32, (this.#laneBase + L_TAIL_POS8) >> 2);
    this.#st.tailSeen = tail;
    this.#pageNo = Math.max(0, pos8Page(g, tail, laneHeadPage(this.#c, this.#laneBase)));
    const off = pos8Offset(g, tail);
    this.#off = off >= PAGE_HEADER_BYTES ? off : PAGE_HEADER_BYTES;
    this.#st.seq = this.#seqAt(this.#pageNo, this.#off);
  }

  /** Data records in the lane before (page, offset), or NaN if that cannot be known any more. */
  #seqAt(pageNo: number, off: number): number {
    return recordsBefore(this.#c, this.#laneBase, pageNo, off, this.#walk, this.#st.cum);
  }

  /**
   * Copy the next run of committed records into the private buffer and validate it. False when
   * there is nothing new. Bounded: at most a lap of pages per call.
   */
  #fill(withHeader = false): boolean {
    const c = this.#c;
    const g = c.g;
    const i32 = c.i32;
    const ps = this.#ps;
    for (let guard = 0; guard < g.lanePages + 8; guard++) {
      if (this.#st.group) this.#syncToGroupTail();
      const pageNo = this.#pageNo;
      const slot = slotOffset(g, this.#laneBase, pageNo);
      const where = pageNo === this.#st.heldPage ? 0 : pageState(c, slot, pageNo);
      if (where < 0) return false; // the writers have not reached this page yet
      // Discard mode: only this consumer frees a page (by moving the tail past it), so the slot
      // holds our page until we leave it: two atomic loads less per poll of a lane keeping up.
      if (where === 0 && this.#st.holdsPages) this.#st.heldPage = pageNo;
      if (where > 0) {
        if (this.#st.group) continue; // recycled under us: start again from the group's tail
        if (!this.#lapped()) return false;
        continue;
      }
      const base = c.f64[(slot + PG_BASE_TIME) >> 3] ?? 0;
      const start = this.#off;
      let end = start;
      let records = 0;
      let scanFrom = end;
      let damaged = -1; // byte offset of a header that does not parse (the page still holds), else -1
      if (this.#own) {
        // Per-thread lane: everything below PG_COMMITTED is final and visible after this one load.
        let limit: number;
        try {
          limit = committedEnd(c, slot);
        } catch (e) {
          if (pageState(c, slot, pageNo) !== 0) continue; // being recycled: not corruption
          if (!(e instanceof RingFormatError)) throw e;
          if (this.#skipDamagedPage(pageNo, start, e.byteOffset)) continue; // a corrupt page header: the whole page
          return false;
        }
        while (end < limit) {
          const h = i32[(slot + end) >> 2] ?? 0; // plain: ordered by the acquire in committedEnd()
          const size = (RECORD_HEADER_BYTES + ((h >>> LENGTH_SHIFT) & LENGTH_MASK) + 7) & ~7;
          if (h >>> STATE_SHIFT <= STATE_BUSY || end + size > limit) {
            if (pageState(c, slot, pageNo) !== 0) break; // a page being recycled looks like garbage
            damaged = slot + end; // deliver the records before it; the next look starts on it
            break;
          }
          if (h >>> STATE_SHIFT === STATE_COMMITTED && (h & INTERNAL_BIT) === 0) records++;
          end += size;
        }
        // The owner publishes PG_COMMITTED only every few records (PUBLISH_EVERY); each record is
        // visible on its own through its word0. Read up to PG_COMMITTED with plain loads, and only
        // when nothing new is below it look past it record by record (acquire loads), so a reader
        // keeping up does not sit on the cache lines the writer is filling more than it must.
        scanFrom = end > start ? ps : end;
      }
      let timeAt = -1; // offset of a TIME record that ends the run so far, else -1
      if (damaged >= 0) scanFrom = ps;
      while (scanFrom < ps && end < ps) {
        // Acquire each record; pairs with its producer's commit Atomics.store of word0.
        const h = Atomics.load(i32, (slot + end) >> 2);
        if (h === 0 || h >>> STATE_SHIFT === STATE_BUSY) {
          // A per-thread lane publishes a TIME record before the record it times: never end a run
          // (and move the tail) between the two, or a reader starting there would lose the time.
          if (timeAt >= 0) end = timeAt;
          break;
        }
        const size = (RECORD_HEADER_BYTES + ((h >>> LENGTH_SHIFT) & LENGTH_MASK) + 7) & ~7;
        if (h >>> STATE_SHIFT === 0 || end + size > ps) {
          if (pageState(c, slot, pageNo) !== 0) break; // a page being recycled looks like garbage
          damaged = slot + end; // deliver the records before it; the next look starts on it
          if (timeAt >= 0) end = timeAt;
          break;
        }
        if (h >>> STATE_SHIFT === STATE_COMMITTED && (h & INTERNAL_BIT) === 0) records++;
        timeAt = (h & (INTERNAL_BIT | TYPE_MASK)) === (INTERNAL_BIT | INTERNAL_TIME) ? end : -1;
        end += size;
      }
      if (end === start) {
        if (damaged >= 0 && this.#skipDamagedPage(pageNo, start, damaged)) continue;
        return false;
      }
      // Copy the run (plain reads: made safe by the validation below). One memcpy-like set()
      // (about 0.25 ns a word here, against 0.9 for a word loop); the subarray is one small object per run.
      if (withHeader) copyWords(i32, slot, this.#run.i32, 0, PAGE_HEADER_BYTES); // validated with the run
      // Starting in the middle of a page not read from its start: copy the records before the run
      // too (validated with it), for the IDENTITY record that says who wrote the run.
      const from = start > PAGE_HEADER_BYTES && !this.#run.who.isAt(pageNo) ? PAGE_HEADER_BYTES : start;
      if (end - from <= WORD_COPY_MAX_BYTES) copyWords(i32, slot + from, this.#run.i32, from, end - from);
      else this.#run.bytes.set(c.u8.subarray(slot + from, slot + end), from);
      const nextPage = end >= ps;
      if (this.#consuming) {
        const tailIdx = (this.#laneBase + L_TAIL_POS8) >> 2;
        const from = toPos8(g, pageNo, start) | 0; // signed, as compareExchange returns it
        const to = nextPage ? toPos8(g, pageNo + 1, PAGE_HEADER_BYTES) : toPos8(g, pageNo, end);
        // Take the run: pairs with the page recyclers' compareExchange of the tail in pages.ts#pushTail().
        if (Atomics.compareExchange(i32, tailIdx, from, to) !== from) {
          if (this.#st.group) continue; // another member (or a recycler) moved the tail: start from it again
          if (!this.#lapped()) return false;
          continue;
        }
        this.#countRead(records);
      } else {
        fence(); // the copy's plain loads complete before the re-check below

        if (pageState(c, slot, pageNo) !== 0) {
          if (!this.#lapped()) return false;
          continue;
        }
      }
      this.#st.seq += records;
      this.#run.base = base;
      if (!this.#run.who.isAt(pageNo)) {
        this.#run.who.atPage(pageNo);
        if (from < start) this.#run.who.scan(this.#run.bytes, from, start);
      }
      this.#run.pos = start;
      this.#run.end = end;
      if (nextPage) {
        if (c.pageSwitchCheck !== undefined) c.pageSwitchCheck(); // a file ring's file still holds the next page
        this.#pageNo = pageNo + 1;
        this.#off = PAGE_HEADER_BYTES;
      } else {
        this.#off = end;
      }
      return true;
    }
    return false;
  }

  /**
   * Damage is contained to the page it is in: the word at byte `at` of page `pageNo` (at or after
   * the cursor's offset `from`) does not parse while the page is still the lane's. Skip the rest of
   * the page and go on with the next one (a consumer takes the rest of the page from the tail, so
   * writers can reuse it), with a `damaged` marker pending that says where and how many records
   * were skipped (from the next page's cumulative count, NaN when that is not known). False when
   * the tail moved meanwhile (a consumer: lapped, or the page was recycled): look again.
   */
  #skipDamagedPage(pageNo: number, from: number, at: number): boolean {
    const c = this.#c;
    const g = c.g;
    const next = pageNo + 1;
    if (this.#consuming) {
      const tailIdx = (this.#laneBase + L_TAIL_POS8) >> 2;
      const was = toPos8(g, pageNo, from) | 0; // signed, as compareExchange returns it
      // Take the damaged rest of the page; pairs with the recyclers' compareExchange in pages.ts#pushTail().
      if (Atomics.compareExchange(c.i32, tailIdx, was, toPos8(g, next, PAGE_HEADER_BYTES)) !== was) {
        return this.#st.group ? true : this.#lapped();
      }
    }
    let after: number;
    try {
      after = this.#seqAt(next, PAGE_HEADER_BYTES);
    } catch (e) {
      if (!(e instanceof RingFormatError)) throw e;
      after = Number.NaN; // counting needs a walk of the damaged page: unknown
    }
    const lost = after - this.#st.seq;
    this.#tellOverrun(lost); // a consumer leaves them before the tail, which stats count as overrun
    this.#st.seq = after;
    this.#pageNo = next;
    this.#off = PAGE_HEADER_BYTES;
    this.#run.pos = this.#run.end = 0;
    this.#run.nextTime = NO_TIME;
    this.#run.damageAt = at;
    this.#run.damageLost = lost;
    this.#run.lostTime = this.#run.base;
    return true;
  }

  /**
   * Our page was overwritten: jump to the tail and account for what was skipped. Returns false when
   * the tail has not moved past our page yet (its recycling is in progress).
   */
  #lapped(): boolean {
    // Acquire the tail; pairs with the consumer's and the page recyclers' compareExchange.
    if (Atomics.load(this.#c.i32, (this.#laneBase + L_TAIL_POS8) >> 2) === this.#st.stuckAt) return false;
    this.#st.stuckAt = Number.NaN;
    const before = this.#st.seq;
    const g = this.#c.g;
    const was = toPos8(g, this.#pageNo, this.#off);
    const wasPage = this.#pageNo;
    const wasOff = this.#off;
    // The tail page's cumulatives give the exact loss; if that page is recycled again while we
    // look (a lap in microseconds on a tiny ring), follow the tail. Bounded: NaN after that.
    for (let i = 0; i < LAPPED_ATTEMPTS; i++) {
      this.#startAtTail();
      if (!Number.isNaN(this.#st.seq) || this.#passRecycledTailPage()) break;
    }
    // Writers move the tail past a page right after claiming it: a tail not ahead of us yet means
    // the recycling of our page is in progress. Stay where we are and look again later.
    if (this.#pageNo < wasPage || (this.#pageNo === wasPage && pos8Diff(toPos8(g, this.#pageNo, this.#off), was) <= 0)) {
      this.#pageNo = wasPage;
      this.#off = wasOff;
      this.#st.seq = before;
      this.#st.stuckAt = this.#st.tailSeen;
      return false;
    }
    const lost = this.#st.seq - before;
    this.#tellOverrun(lost);
    this.#run.nextTime = NO_TIME;
    this.#run.who.atPage(Number.NaN);
    this.#run.pos = this.#run.end = 0;
    if (lost !== 0 || (!this.#run.jumped && this.#run.lostPending === 0)) {
      const slot = slotOffset(this.#c.g, this.#laneBase, this.#pageNo);
      this.#run.lostTime = this.#c.f64[(slot + PG_BASE_TIME) >> 3] ?? 0;
    }
    this.#run.lostPending += lost;
    // Even with nothing lost (the pages passed held no data record: all discarded, or internal
    // records only), the position jumped: a page hand-off states it (a LOST chunk of 0), as a
    // reader of the file cannot tell such a jump from missing pages without it.
    this.#run.jumped = true;
    return true;
  }

  /**
   * The tail's page q is being recycled (its slot shows the preparing marker) but its recycler has
   * not pushed the tail past it yet (and may be descheduled right there). Page q's header and
   * records stay intact until that push, so count them, check the tail did not move while we did,
   * and move past q ourselves: a consumer by the same compare-exchange the recycler would do, an
   * iterator by jumping. Returns true with the position and sequence set, false to try again.
   */
  #passRecycledTailPage(): boolean {
    const c = this.#c;
    const g = c.g;
    const q = this.#pageNo;
    const slot = slotOffset(g, this.#laneBase, q);
    if (pageState(c, slot, q) <= 0) return false;
    const tailIdx = (this.#laneBase + L_TAIL_POS8) >> 2;
    // Acquire the tail; the recycler's push (after which it zeroes page q) is a compareExchange of it.
    const tail = Atomics.load(c.i32, tailIdx);
    if (pos8Diff(tail, toPos8(g, q, 0)) < 0 || pos8Diff(tail, toPos8(g, q + 1, 0)) >= 0) return false;
    // Acquire page q's cumulatives; stored before q was published.
    if (Atomics.load(c.i32, (slot + PG_CUM_READY) >> 2) !== 1) return false;
    const before = c.f64[(slot + PG_RECORDS_BEFORE) >> 3] ?? 0;
    try {
      walkPage(c, slot, PAGE_HEADER_BYTES, this.#walk, this.#own);
    } catch (e) {
      fence(); // the walk's plain loads complete before the tail is checked again
      // Page q is zeroed only after the tail has moved past it: a page that does not parse while
      // the tail still stands in it is corrupt, not torn, and every retry would find it so (each
      // read() would spend LAPPED_ATTEMPTS walks on it). Report it; a moved tail means retry.
      if (Atomics.load(c.i32, tailIdx) === tail) throw e; // acquire the tail; pairs with the recyclers' compareExchange
      return false;
    }
    fence(); // the walk's plain loads complete before the tail is checked again
    if (Atomics.load(c.i32, tailIdx) !== tail) return false; // pushed meanwhile: the counts may be torn
    // Take page q from the tail (a consumer); pairs with the recycler's compareExchange in pages.ts#pushTail().
    if (this.#consuming && Atomics.compareExchange(c.i32, tailIdx, tail, toPos8(g, q + 1, PAGE_HEADER_BYTES) | 0) !== tail) return false;
    this.#pageNo = q + 1;
    this.#off = PAGE_HEADER_BYTES;
    this.#st.seq = before + this.#walk.records;
    return true;
  }

  /** Load the next record or loss marker into the head fields. */
  head(): boolean {
    if (this.hasHead) return true;
    const run = this.#run;
    const rec = this.record;
    if (run.damageAt >= 0 || run.lostPending !== 0) return this.#headPendingLoss();
    for (;;) {
      while (run.pos < run.end) {
        const at = run.pos;
        const h = run.i32[at >> 2] ?? 0; // private copy: plain
        const len = (h >>> LENGTH_SHIFT) & LENGTH_MASK;
        run.pos = at + ((RECORD_HEADER_BYTES + len + 7) & ~7);
        if (h >>> STATE_SHIFT !== STATE_COMMITTED) {
          run.nextTime = NO_TIME; // a TIME record belongs to the record right after it, even a discarded one
          continue;
        }
        if ((h & INTERNAL_BIT) !== 0) {
          const kind = h & TYPE_MASK;
          if (kind === INTERNAL_TIME && len >= 8) {
            run.nextTime = run.f64[(at + RECORD_HEADER_BYTES) >> 3] ?? 0;
          } else if (kind === INTERNAL_IDENTITY) {
            run.who.read(run.bytes, at + RECORD_HEADER_BYTES, len);
          } else if (kind === INTERNAL_LOST && len >= 8) {
            return this.#headLost(run.f64[(at + RECORD_HEADER_BYTES) >> 3] ?? 0, run.base + ((run.i32[(at >> 2) + 1] ?? 0) >>> 0), "dropped");
          }
          continue; // padding, or an internal kind this version does not know
        }
        run.who.stamp(rec);
        rec.kind = "data";
        rec.cause = "";
        rec.type = h & TYPE_MASK;
        const next = run.nextTime;
        if (next === next) {
          rec.timestamp = next;
          run.nextTime = NO_TIME;
        } else {
          rec.timestamp = run.base + ((run.i32[(at >> 2) + 1] ?? 0) >>> 0);
        }
        rec.offset = at + RECORD_HEADER_BYTES;
        rec.length = len;
        this.hasHead = true;
        return true;
      }
      if (!this.#fill()) {
        if (run.damageAt >= 0) return this.#headPendingLoss();
        // Caught up: now is the time to report the drops retired writers left unreported.
        const u = this.#st.unreported;
        this.takeUnreported(u);
        return u.count > 0 && this.#headLost(u.count, u.time, "dropped");
      }
      if (run.damageAt >= 0 || run.lostPending !== 0) return this.#headPendingLoss();
    }
  }

  /** Load the loss the run has pending as the head: a damaged page's rest first, then overwritten records. */
  #headPendingLoss(): boolean {
    const run = this.#run;
    if (run.damageAt >= 0) return this.#headLost(run.damageLost, run.lostTime, "damaged");
    return this.#headLost(run.lostPending, run.lostTime, "overrun");
  }

  /**
   * The batch path's decode (see {@link RingReader.readBatches}): the data records of the run in
   * hand (no look at the ring), from the cursor on, into `b`'s arrays from index `k` up to `most`,
   * as long as each one's merge key stays before (`boundKey`, `boundIdx`) for this cursor at
   * `selfIdx`. Stops before a loss marker or a record that does not go first, which head() then
   * loads as usual. The same decoding as head(), without the record object. Returns the new count.
   */
  decodeInto(b: RecordBatch, k: number, most: number, boundKey: number, boundIdx: number, selfIdx: number): number {
    if (this.hasHead || this.#run.lostPending !== 0) return k;
    const i32 = this.#run.i32;
    const f64 = this.#run.f64;
    const offsets = b.offsets;
    const lengths = b.lengths;
    const types = b.types;
    const times = b.timestamps;
    const end = this.#run.end;
    const base = this.#run.base;
    let at = this.#run.pos;
    let next = this.#run.nextTime;
    while (k < most && at < end) {
      const h = i32[at >> 2] ?? 0; // private copy: plain
      const len = (h >>> LENGTH_SHIFT) & LENGTH_MASK;
      const size = (RECORD_HEADER_BYTES + len + 7) & ~7;
      if (h >>> STATE_SHIFT !== STATE_COMMITTED) {
        next = NO_TIME; // as in head(): a TIME record belongs to the record right after it
      } else if ((h & INTERNAL_BIT) !== 0) {
        const kind = h & TYPE_MASK;
        if (kind === INTERNAL_LOST && len >= 8) break; // a loss marker: head() hands it out
        if (kind === INTERNAL_TIME && len >= 8) next = f64[(at + RECORD_HEADER_BYTES) >> 3] ?? 0;
      } else {
        let t: number;
        if (next === next) {
          t = next;
          // NaN (damage) sorts first, as in the merge
          if (!(t < boundKey || t !== t || (t === boundKey && selfIdx < boundIdx))) break; // not first: stays for head()
          next = NO_TIME;
        } else {
          t = base + ((i32[(at >> 2) + 1] ?? 0) >>> 0);
          if (!(t < boundKey || (t === boundKey && selfIdx < boundIdx))) break; // not first: stays for head()
        }
        offsets[k] = at + RECORD_HEADER_BYTES;
        lengths[k] = len;
        types[k] = h & TYPE_MASK;
        times[k] = t;
        k++;
      }
      at += size;
    }
    this.#run.pos = at;
    this.#run.nextTime = next;
    return k;
  }

  #headLost(count: number, time: number, cause: "overrun" | "dropped" | "damaged"): boolean {
    if (cause === "dropped") {
      this.#run.who.stamp(this.record); // a writer's drops are that writer's
    } else {
      if (cause === "overrun") this.#run.lostPending = 0;
      // Records of any writers may be in the gap: the marker is the lane's, nobody's in particular.
      this.record.pid = 0;
      this.record.threadId = -1;
      this.record.threadName = "";
    }
    this.record.cause = cause;
    this.record.damageOffset = cause === "damaged" ? this.#run.damageAt : -1;
    this.#run.damageAt = -1;
    this.record.kind = "lost";
    this.record.lost = count;
    this.record.timestamp = time;
    this.record.type = 0;
    this.record.offset = 0;
    this.record.length = 0;
    this.hasHead = true;
    return true;
  }

  /** Can whole pages be handed off from here (a consumer at a page start with nothing pending)? */
  #atPageStart(): boolean {
    return this.#consuming && !this.#st.group && !this.hasHead && this.#run.pos >= this.#run.end && this.#off === PAGE_HEADER_BYTES;
  }

  /**
   * Zero-copy hand-off, step 1: the slot offset of the `k`-th page after the cursor's page when the
   * cursor stands at a page start and that page is complete (every record final), else -1. The
   * page stays in the ring; only a discard-mode ring guarantees it does not change until
   * {@link takePages} (nothing but the consumer frees a page there).
   */
  completePageSlot(k: number): number {
    if (!this.#atPageStart()) return -1;
    const c = this.#c;
    const pageNo = this.#pageNo + k;
    const slot = slotOffset(c.g, this.#laneBase, pageNo);
    if (pageState(c, slot, pageNo) !== 0) return -1;
    if (this.#own) {
      // A closed page of a per-thread lane: final, and its owner may have counted it for us.
      let end: number;
      try {
        end = committedEnd(c, slot);
      } catch {
        return -1; // being recycled (or damaged): the walk below would tell, but a take would fail anyway
      }
      if (end !== this.#ps) return -1;
      const n = (c.i32[(slot + PG_PAGE_RECORDS) >> 2] ?? 0) - 1; // plain: published by PG_COMMITTED above
      if (n >= 0 && n <= this.#ps >> 3) {
        this.#pendingRecords[k] = n;
        return slot;
      }
    }
    if (!this.#walkHeld(slot, pageNo, PAGE_HEADER_BYTES)) return -1;
    if (this.#walk.end < this.#ps || this.#walk.busy) return -1;
    this.#pendingRecords[k] = this.#walk.records;
    return slot;
  }

  /** walkHeldPage(), with a corrupt page as "not complete": the record reads find the damage and report it. */
  #walkHeld(slot: number, pageNo: number, from: number): boolean {
    try {
      return walkHeldPage(this.#c, slot, pageNo, from, this.#walk, this.#own);
    } catch (e) {
      if (e instanceof RingFormatError) return false;
      throw e;
    }
  }

  /** The page counter the cursor stands in. */
  get page(): number {
    return this.#pageNo;
  }

  /** Is the cursor inside a page (after a fragment hand-off) whose remaining records are all final, up to its end? */
  restComplete(): boolean {
    if (!this.#consuming || this.hasHead || this.#off === PAGE_HEADER_BYTES) return false;
    const c = this.#c;
    const slot = slotOffset(c.g, this.#laneBase, this.#pageNo);
    if (pageState(c, slot, this.#pageNo) !== 0) return false;
    if (!this.#walkHeld(slot, this.#pageNo, this.#off)) return false;
    return this.#walk.end >= this.#ps && !this.#walk.busy;
  }

  /** Zero-copy hand-off, step 2: take the `n` pages found by completePageSlot(0 .. n-1), one tail move. */
  takePages(n: number): boolean {
    const c = this.#c;
    const g = c.g;
    const from = toPos8(g, this.#pageNo, PAGE_HEADER_BYTES) | 0; // signed, as compareExchange returns it
    // Take the pages: pairs with the page recyclers' compareExchange of the tail (overwrite mode).
    if (Atomics.compareExchange(c.i32, (this.#laneBase + L_TAIL_POS8) >> 2, from, toPos8(g, this.#pageNo + n, PAGE_HEADER_BYTES)) !== from) {
      this.#lapped();
      return false;
    }
    let records = 0;
    for (let k = 0; k < n; k++) records += this.#pendingRecords[k] ?? 0;
    this.#took(records, n);
    return true;
  }

  /**
   * Copy hand-off: copy the complete page at the cursor into `dest[at, at + pageSize)` and take it
   * (the copy is kept only if the tail compare-exchange proves the page was not recycled meanwhile).
   * Returns the page counter, or -1 when no complete page is ready (or it was just overwritten: the
   * loss is then pending, see {@link takeLost}).
   */
  copyPage(dest: Uint8Array, at: number): number {
    const pageNo = this.#pageNo;
    const slot = this.completePageSlot(0);
    if (slot < 0) return -1;
    dest.set(this.#c.u8.subarray(slot, slot + this.#ps), at);
    if (!this.takePages(1)) return -1;
    markHeldCopy(dest, at, pageNo);
    return pageNo;
  }

  /**
   * Fragment hand-off: copy the page header and the committed records from the cursor on (up to the
   * first record still open) into `this.bytes` at their page offsets, and take them. Returns false
   * when there is nothing new. The run is `[runStart, runEnd)` of page `runPage`.
   */
  takeRun(): boolean {
    if (!this.#consuming || this.#st.group || this.hasHead) return false;
    this.#run.pos = this.#run.end;
    if (!this.#fill(true)) return false;
    // #fill() moved to the next page when the run reached the page's end.
    this.#st.handed.page = this.#run.end >= this.#ps ? this.#pageNo - 1 : this.#pageNo;
    markHeldCopy(this.#run.bytes, 0, this.#st.handed.page);
    this.#st.handed.start = this.#run.pos;
    this.#st.handed.end = this.#run.end;
    this.#run.pos = this.#run.end; // handed off as bytes, not as records
    this.#run.nextTime = NO_TIME;
    return true;
  }

  /** The run takeRun() handed off last: its page counter and byte range in {@link bytes}. */
  get runPage(): number {
    return this.#st.handed.page;
  }
  get runStart(): number {
    return this.#st.handed.start;
  }
  get runEnd(): number {
    return this.#st.handed.end;
  }

  /** Records lost (overwritten) since the last call, and the ring time where the loss stands; count 0 when none. */
  takeLost(out: { count: number; time: number; jumped: boolean }): void {
    out.count = this.#run.lostPending;
    out.time = this.#run.lostTime;
    out.jumped = this.#run.jumped;
    this.#run.lostPending = 0;
    this.#run.jumped = false;
    if (this.#run.damageAt >= 0) {
      out.count += this.#run.damageLost; // a damaged page's skipped rest is lost to the hand-off too (NaN: unknown)
      this.#run.damageAt = -1;
    }
  }

  /** Copy a whole complete page (consumer only): see {@link RingReader.readPage}. */
  readPage(dest: Uint8Array): number {
    return this.copyPage(dest, 0);
  }

  #took(records: number, pages: number): void {
    this.#countRead(records);
    this.#st.seq += records;
    this.#pageNo += pages;
  }

  close(): void {
    if (this.#st.group) {
      this.#leaveGroup();
    } else if (this.#consuming) {
      // Release the consumer role; pairs with the claim in the constructor.
      Atomics.store(this.#c.i32, (this.#laneBase + L_CONSUMER) >> 2, 0);
    }
  }
}

/**
 * A page copied out and then taken by the tail compare-exchange has intact records, but a recycler
 * may have claimed its slot between the copy and the take: the copy's PG_SEQ then shows the
 * preparing marker and PG_PREPARER a producer (the recycler zeroes nothing before it has pushed
 * the tail, which the take proves it had not). Put the page's own identity back in the copy.
 */
function markHeldCopy(dest: Uint8Array, at: number, pageNo: number): void {
  const dv = new DataView(dest.buffer, dest.byteOffset + at, PAGE_HEADER_BYTES);
  dv.setUint32(PG_SEQ, pageNo % 4294967296, true);
  dv.setUint32(PG_SEQ_HI, Math.floor(pageNo / 4294967296), true);
  dv.setUint32(PG_PREPARER, 0, true);
}

/** @internal One lane of a consumer, as the page hand-off (pipes to files and sockets) drives it. */
export interface LaneHandoff {
  readonly lane: number;
  /** The cursor's private page buffer; takeRun() leaves the page header at [0, 48) and the run at its page offsets. */
  readonly bytes: Uint8Array;
  readonly runPage: number;
  readonly runStart: number;
  readonly runEnd: number;
  readonly page: number;
  restComplete(): boolean;
  completePageSlot(k: number): number;
  takePages(n: number): boolean;
  copyPage(dest: Uint8Array, at: number): number;
  takeRun(): boolean;
  /** Records lost since the last call (`count`, 0 when none), where (`time`), and whether the cursor jumped over pages meanwhile (`jumped`: also with 0 lost). */
  takeLost(out: { count: number; time: number; jumped: boolean }): void;
  takeUnreported(out: { count: number; time: number }): void;
  skipOverwritten(): void;
}

/** A page handed off whole by {@link RingReader.readPage}. */
export interface PageHandoff {
  lane: number;
  /** The page counter of the page in its lane. */
  page: number;
  /** Bytes copied (the page size). */
  bytes: number;
}

/**
 * Reads records from one or more lanes, merged by timestamp (or lane by lane: the `order` option,
 * and clock `none`). Obtain with {@link RingBuffer.consumer} or {@link RingBuffer.iterator}.
 *
 * The merge hands out runs (src/merge.ts): the cost per record does not grow with the number of
 * lanes. Lane by lane, each lane in turn gives what it has, at most a lane's capacity per turn, so
 * a busy lane cannot keep the others waiting.
 *
 * @example
 * ```ts
 * const reader = ring.consumer();
 * reader.read((r) => {
 *   if (r.kind === "lost") console.log(`lost ${r.lost} records on lane ${r.lane}`);
 *   else console.log(r.lane, r.type, r.timestamp, r.length);
 * });
 * ```
 */
export class RingReader {
  readonly #cursors: LaneCursor[];
  /** Most records one read() hands out: what the lanes can hold. */
  readonly #perCall: number;
  readonly #i32: Int32Array;
  readonly #ring: RingBuffer;
  #closed = false;
  readonly #merge: LaneMerge<LaneCursor>;
  /** Lane by lane (no merge): the `order: "lane"` option, or clock `none`. */
  readonly #byLane: boolean;
  /** Lane by lane: the lane whose turn it is, what it gave in this turn, and the most a turn gives. */
  #laneAt = 0;
  #laneTaken = 0;
  readonly #laneQuota: number;
  /** Lane by lane: turns in a row that found their lane empty (every lane empty: the call ends). */
  #dryTurns = 0;
  #batch: RecordBatch | undefined;

  /** @internal use ring.consumer() or ring.iterator() */
  constructor(ring: RingBuffer, lanes: readonly number[], role: ReaderRole, order: "time" | "lane" = "time") {
    const cursors: LaneCursor[] = [];
    try {
      for (const lane of lanes) cursors.push(new LaneCursor(ring, lane, role));
    } catch (e) {
      for (const c of cursors) c.close();
      throw e;
    }
    this.#cursors = cursors;
    const g = ring.geometry;
    this.#laneQuota = g.lanePages * Math.floor(g.pageSize / RECORD_HEADER_BYTES);
    this.#perCall = lanes.length * this.#laneQuota;
    this.#i32 = ring.core.i32;
    this.#ring = ring;
    this.#merge = new LaneMerge(cursors);
    this.#byLane = order === "lane" || g.clock === CLOCK_NONE;
  }

  /** Begin a read call: the merge polls every lane again; lane by lane, no lane was found empty yet. */
  #startCall(): void {
    this.#merge.reset();
    this.#dryTurns = 0;
  }

  /**
   * The lane whose head record goes out next (loaded in its cursor), or undefined when there is
   * none now. The caller takes the record by clearing the cursor's `hasHead`.
   */
  #next(): LaneCursor | undefined {
    const cursors = this.#cursors;
    if (!this.#byLane) return this.#merge.next();
    const lanes = cursors.length;
    while (this.#dryTurns < lanes) {
      const cur = cursors[this.#laneAt] as LaneCursor;
      if (this.#laneTaken < this.#laneQuota && cur.head()) {
        this.#laneTaken++;
        this.#dryTurns = 0;
        return cur;
      }
      // This lane's turn is over: it is empty, or gave its quota.
      if (this.#laneTaken === 0) this.#dryTurns++;
      this.#laneTaken = 0;
      this.#laneAt = this.#laneAt + 1 === lanes ? 0 : this.#laneAt + 1;
    }
    // Every lane is empty: the next call starts at the first lane again, as the merge would.
    this.#laneAt = 0;
    return undefined;
  }

  /**
   * Hand the records available now to `visitor`, oldest first (merged across lanes by timestamp,
   * equal timestamps in lane order; lane by lane with the `order: "lane"` option or clock `none`),
   * at most `max` of them. Loss shows up as records of kind `lost` at the place it happened.
   * Returns how many were handed out. The record object is reused: copy what you keep.
   */
  read(visitor: (record: RingRecord) => void, max = Infinity): number {
    if (this.#closed) throw new RingClosedError("Cannot read: the reader is closed");
    const cursors = this.#cursors;
    // At most a ring's worth per call, so a call returns even while writers keep the lanes full.
    if (max > this.#perCall) max = this.#perCall;
    let n = 0;
    if (cursors.length === 1) {
      const cur = cursors[0] as LaneCursor;
      const rec = cur.record;
      while (n < max && cur.head()) {
        cur.hasHead = false;
        visitor(rec);
        n++;
      }
      return n;
    }
    this.#startCall();
    if (!this.#byLane) {
      // A run at a time: the lane's records while they stay first, then the merge's next run.
      const merge = this.#merge;
      for (let cur = merge.next(); cur !== undefined; ) {
        const rec = cur.record;
        let loaded = false;
        do {
          cur.hasHead = false;
          visitor(rec);
          n++;
        } while (n < max && (loaded = cur.head()) && merge.stays(cur));
        if (n >= max) break;
        cur = merge.endRun(loaded);
      }
      return n;
    }
    while (n < max) {
      const cur = this.#next();
      if (cur === undefined) break;
      const rec = cur.record;
      cur.hasHead = false;
      visitor(rec);
      n++;
      // The rest of the lane's turn without asking #next() per record.
      let left = this.#laneQuota - this.#laneTaken;
      while (n < max && left > 0 && cur.head()) {
        cur.hasHead = false;
        visitor(rec);
        n++;
        left--;
      }
      this.#laneTaken = this.#laneQuota - left;
    }
    return n;
  }

  /**
   * The batch path: hand the records available now to `visitor` a run at a time, in the same order
   * as {@link RingReader.read}, at most `max` records in all. Each call of `visitor` gets a
   * {@link RecordBatch}: up to a page of one lane's records that go out one after the other, as
   * arrays (where each payload starts in `bytes`, its length, type and time), or one loss marker.
   * No object and no call per record: for consumers that move many small records (decoding them
   * in a tight loop, copying them on), where a call per record is a large part of the cost. Use
   * {@link RingReader.read} when each record is handled on its own anyway. The batch is reused and
   * its bytes are the reader's: valid until the next call into the reader. Returns the records
   * (and loss markers) handed out.
   *
   * @example
   * ```ts
   * let sum = 0;
   * reader.readBatches((b) => {
   *   if (b.kind === "lost") return console.warn(`lost ${b.lost} records on lane ${b.lane}`);
   *   const words = new Int32Array(b.bytes.buffer);
   *   for (let k = 0; k < b.count; k++) sum += words[b.offsets[k] >> 2]; // first word of each payload
   * });
   * ```
   */
  readBatches(visitor: (batch: RecordBatch) => void, max = Infinity): number {
    if (this.#closed) throw new RingClosedError("Cannot read: the reader is closed");
    if (max > this.#perCall) max = this.#perCall;
    let n = 0;
    this.#startCall();
    for (let k = this.#nextBatch(max); k > 0; k = this.#nextBatch(max - n)) {
      n += k;
      visitor(this.#batch as RecordBatch);
    }
    return n;
  }

  /**
   * Load the next batch (at most `max` records, a loss marker counting one) into this.#batch.
   * Returns the records (and markers) in it, 0 when nothing is available now.
   */
  #nextBatch(max: number): number {
    if (max <= 0) return 0;
    const cursors = this.#cursors;
    const b = (this.#batch ??= new RecordBatch((cursors[0] as LaneCursor).bytes.length));
    const single = cursors.length === 1;
    const cur = single ? (cursors[0] as LaneCursor) : this.#next();
    if (cur === undefined || (single && !cur.head())) return 0;
    const rec = cur.record;
    b.lane = cur.lane;
    cur.hasHead = false;
    if (rec.kind === "lost") {
      b.kind = "lost";
      b.count = 0;
      b.lost = rec.lost;
      b.cause = rec.cause;
      b.lostTime = rec.timestamp;
      return 1;
    }
    b.kind = "data";
    b.bytes = cur.bytes;
    b.lost = 0;
    b.cause = "";
    b.offsets[0] = rec.offset;
    b.lengths[0] = rec.length;
    b.types[0] = rec.type;
    b.timestamps[0] = rec.timestamp;
    // The rest of the run: what stays in the same private copy and still goes first.
    const until = Math.min(b.offsets.length, max);
    let k: number;
    if (single) k = cur.decodeInto(b, 1, until, Infinity, 0, 0);
    else if (this.#byLane) {
      k = cur.decodeInto(b, 1, Math.min(until, 1 + this.#laneQuota - this.#laneTaken), Infinity, 0, 0);
      this.#laneTaken += k - 1;
    } else k = this.#merge.decodeRun(cur, b, 1, until);
    b.count = k;
    return k;
  }

  /**
   * Batches as they come, waiting between them: `for await (const b of reader.batches({ signal }))`,
   * the batch path of {@link RingReader.readBatches} as an async iterator: one promise per batch
   * (up to a page of records), not per record, and nothing allocated per record. Each batch is the
   * reader's reused {@link RecordBatch}: valid until the loop asks for the next one (copy what you
   * keep). Ends when the reader is closed or `signal` aborts (records the reader took from the ring
   * but did not hand out yet stay with it, for its next read). Gives timers and I/O (and an abort) a turn every 10 ms of a steady stream.
   * Prefer it to {@link RingReader.records} for volume: records() makes an object per record that
   * stays valid, which costs an allocation and a promise settlement per record.
   *
   * @example
   * ```ts
   * for await (const b of reader.batches({ signal: AbortSignal.timeout(1000) })) {
   *   if (b.kind === "lost") console.warn(`lost ${b.lost} on lane ${b.lane}`);
   *   else for (let k = 0; k < b.count; k++) handle(b.types[k], b.bytes, b.offsets[k], b.lengths[k]);
   * }
   * ```
   */
  batches(options: { signal?: AbortSignal } = {}): AsyncIterableIterator<RecordBatch> {
    const signal = options.signal;
    const waitOptions = signal === undefined ? {} : { signal };
    let lastYield = performance.now();
    const done = (): IteratorResult<RecordBatch> => ({ done: true, value: undefined });
    const take = (): IteratorResult<RecordBatch> | undefined => {
      this.#startCall();
      return this.#nextBatch(RECORDS_BATCH_MAX) > 0 ? { done: false, value: this.#batch as RecordBatch } : undefined;
    };
    const next = async (): Promise<IteratorResult<RecordBatch>> => {
      for (;;) {
        if (this.#closed || signal?.aborted) return done();
        if (performance.now() - lastYield > 10) {
          await yieldToEventLoop();
          lastYield = performance.now();
          continue;
        }
        const got = take();
        if (got !== undefined) return got;
        await this.waitAsync(waitOptions);
        lastYield = performance.now();
      }
    };
    const iterator: AsyncIterableIterator<RecordBatch> = {
      next,
      return: () => Promise.resolve(done()),
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  /** Read everything available now as plain objects (allocates; for tests, tools and small volumes). */
  drain(max = Infinity): RecordData[] {
    const out: RecordData[] = [];
    this.read((r) => {
      out.push({ kind: r.kind, lane: r.lane, type: r.type, timestamp: r.timestamp, lost: r.lost, cause: r.cause, payload: r.payload(), pid: r.pid, threadId: r.threadId, threadName: r.threadName });
    }, max);
    return out;
  }

  /**
   * Consumer only: copy the oldest page of a lane into `dest` (at least one page long) when that page
   * is complete and untouched by record reads, and take it out of the ring; the splice-like hand-off
   * used to move whole pages to files and sockets. Returns null when no lane has such a page.
   */
  readPage(dest: Uint8Array): PageHandoff | null {
    for (const cur of this.#cursors) {
      if (dest.length < cur.bytes.length) {
        throw new RangeError(`Cannot read page: dest must be at least ${cur.bytes.length} bytes, received ${dest.length}`);
      }
      const page = cur.readPage(dest);
      if (page >= 0) return { lane: cur.lane, page, bytes: cur.bytes.length };
    }
    return null;
  }

  /** @internal The per-lane cursors, for the page hand-off of `unified-ring-buffer/node`'s pipes (consumers only). */
  handoffLanes(): readonly LaneHandoff[] {
    if (this.#closed) throw new RingClosedError("Cannot hand off pages: the reader is closed");
    return this.#cursors;
  }

  /**
   * Reset what this consumer (or group member) has not read yet: every committed record in its
   * lanes leaves the ring without being handed out, counted in `stats()` as `cleared` (not as read
   * or lost). Writers go on meanwhile. It stops at a reservation still open (that record and the
   * ones after it stay) and after the page writers were in when it began; records committed while
   * it runs may or may not be cleared. Iterators are not moved (one already walking goes on
   * walking the cleared records); iterators, snapshots and readers started afterwards do not see
   * them. Returns the data records cleared. For a ring with no consumer, use `ring.clear()`.
   *
   * @example
   * ```ts
   * reader.clear(); // start the next measurement from an empty ring
   * ```
   */
  clear(): number {
    if (this.#closed) throw new RingClosedError("Cannot clear: the reader is closed");
    let n = 0;
    for (const cur of this.#cursors) n += cur.clear();
    return n;
  }

  /** True once {@link RingReader.close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Is a record (or loss marker) ready to be read now? Loads it into its cursor without handing it out. */
  #available(): boolean {
    for (const c of this.#cursors) if (c.head()) return true;
    return false;
  }

  /**
   * Block until there is something to read: with `records` 1 (the default), until a record is
   * available; with `records` N > 1, until N records were committed (anywhere in the ring) after
   * the call began, the watermark. Returns whether something is available; false after
   * `timeoutMs` (default: forever). Blocks the thread: use it in workers, and
   * {@link RingReader.waitAsync} on a main thread. Writers pay for this only while a reader waits.
   *
   * @example
   * ```ts
   * while (running) { if (reader.wait({ timeoutMs: 100 })) reader.read(handle); }
   * ```
   */
  wait(options: { records?: number; timeoutMs?: number } = {}): boolean {
    const records = this.#watermark(options.records);
    if (records === 1 && this.#available()) return true;
    const i32 = this.#i32;
    const seq = registerWaiter(i32, records);
    try {
      // The last look, after announcing ourselves (see wakeup.ts: no lost wakeup).
      if (records === 1 && this.#available()) return true;
      const channel = this.#ring.wakeChannel;
      if (channel !== undefined) channel.wait(seq, options.timeoutMs ?? Infinity);
      else waitForSeq(i32, seq, options.timeoutMs ?? Infinity);
    } finally {
      unregisterWaiter(i32);
    }
    return this.#available();
  }

  /**
   * {@link RingReader.wait} without blocking: resolves when there is something to read (true), or
   * after `timeoutMs` or when `signal` aborts (false). While it waits, it keeps Node's event loop
   * alive.
   *
   * @example
   * ```ts
   * while (await reader.waitAsync({ signal })) reader.read(handle);
   * ```
   */
  async waitAsync(options: { records?: number; timeoutMs?: number; signal?: AbortSignal } = {}): Promise<boolean> {
    const records = this.#watermark(options.records);
    if (records === 1 && this.#available()) return true;
    if (this.#closed || options.signal?.aborted) return false;
    const i32 = this.#i32;
    const seq = registerWaiter(i32, records);
    try {
      if (records === 1 && this.#available()) return true;
      const channel = this.#ring.wakeChannel;
      if (channel !== undefined) await channel.waitAsync(seq, options.timeoutMs ?? Infinity, options.signal);
      else await waitForSeqAsync(i32, seq, options.timeoutMs ?? Infinity, options.signal);
    } finally {
      unregisterWaiter(i32);
    }
    return !this.#closed && this.#available();
  }

  #watermark(records: number | undefined): number {
    const n = records ?? 1;
    if (!Number.isInteger(n) || n < 1 || n > 0x7fffffff) {
      throw new RangeError(`Cannot wait: records must be an integer from 1 to 2147483647, received ${String(records)}`);
    }
    return n;
  }

  /**
   * Records as they come, waiting between them: `for await (const r of reader.records({ signal }))`.
   * Ends when the reader is closed or `signal` aborts (after delivering the records it already took
   * from the ring, at most {@link RECORDS_BATCH}).
   *
   * Each record is its own object and stays valid after later records are read: keep it as long
   * as you like. Its payload is a view into a batch buffer shared with the records copied next to
   * it (one allocation for many records instead of one per record); that buffer is never reused or
   * written again, but a kept record keeps it alive (16 KiB), and `payload.buffer` is the whole
   * buffer: read it through `payload` itself (or `payload.byteOffset`), or `payload.slice()` it.
   *
   * A hand-written async iterator rather than an async generator: while records are buffered, each
   * `next()` returns an already-resolved promise of the next one, without a generator's extra
   * promise hops. It gives timers and I/O (and an abort) a turn every 10 ms of a steady stream.
   *
   * @example
   * ```ts
   * const kept: RecordData[] = [];
   * for await (const r of reader.records({ signal: AbortSignal.timeout(1000) })) {
   *   if (r.kind === "data" && r.type === 7) kept.push(r); // still intact after the loop
   * }
   * ```
   */
  records(options: { signal?: AbortSignal } = {}): AsyncIterableIterator<RecordData> {
    const signal = options.signal;
    const waitOptions = signal === undefined ? {} : { signal };
    const copier = new RecordCopier();
    const batch: RecordCopy[] = [];
    const take = (r: RingRecord): void => {
      batch.push(copier.copy(r));
    };
    let at = 0;
    let lastYield = performance.now();
    const done = (): IteratorResult<RecordData> => ({ done: true, value: undefined });
    const next = async (): Promise<IteratorResult<RecordData>> => {
      for (;;) {
        // Records already taken from the ring are delivered even after an abort (they would be lost).
        if (at < batch.length) return { done: false, value: batch[at++] as RecordCopy };
        if (this.#closed || signal?.aborted) return done();
        batch.length = 0; // the copies live on in the user's hands only
        at = 0;
        if (this.read(take, RECORDS_BATCH) > 0) {
          if (performance.now() - lastYield > 10) {
            await yieldToEventLoop();
            lastYield = performance.now();
          }
          continue;
        }
        await this.waitAsync(waitOptions);
        lastYield = performance.now();
      }
    };
    const iterator: AsyncIterableIterator<RecordData> = {
      next: () => (at < batch.length ? Promise.resolve({ done: false, value: batch[at++] as RecordCopy }) : next()),
      return: () => Promise.resolve(done()),
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<RecordData> {
    return this.records();
  }

  /** Release the lanes (consumer role). Wakes this ring's waiting readers so an iteration can end. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const c of this.#cursors) c.close();
    wakeReaders(this.#i32, true, this.#ring.wakeChannel);
  }
}

/**
 * The page protocol shared by writers, readers and recovery: which page a slot holds, walking the
 * records of a page, preparing (recycling) a slot for a new page, and the per-page cumulative counts
 * that make loss accounting exact. See docs/DESIGN.md, "Pages".
 *
 * Memory ordering in one paragraph: a page is published by `Atomics.store(PG_SEQ)` after it was
 * zeroed and its header written; a record by `Atomics.store(word0)` after its bytes were written;
 * consumption by a compare-exchange on L_TAIL_POS8 after the bytes were copied out. Every such
 * store pairs with an `Atomics.load` (or the compare-exchange) of the same word on the other side,
 * and ECMAScript atomics are sequentially consistent, so each pair is a release/acquire edge.
 */
import { RingFormatError } from "./errors.js";
import {
  CLOCK_COUNTER,
  H_COUNTER_BASE,
  INTERNAL_BIT,
  L_HEAD_PAGE,
  L_TAIL_POS8,
  LENGTH_MASK,
  LENGTH_SHIFT,
  PAGE_HEADER_BYTES,
  PG_BASE_TIME,
  PG_BYTES_BEFORE,
  PG_CUM_READY,
  PG_COMMITTED,
  PG_PAGE_RECORDS,
  PG_PREPARER,
  PG_RECORDS_BEFORE,
  PG_SEQ,
  PG_SEQ_HI,
  RECORD_HEADER_BYTES,
  type RingGeometry,
  STATE_BUSY,
  STATE_COMMITTED,
  STATE_SHIFT,
  isOwnLane,
  pos8Diff,
  slotOffset,
  toPos8,
} from "./layout.js";

/** The views every part of the ring works through. */
export interface RingCore {
  readonly g: RingGeometry;
  readonly i32: Int32Array;
  readonly f64: Float64Array;
  readonly u8: Uint8Array;
  readonly overwrite: boolean;
  /**
   * Called when a writer prepares a page and when a reader moves to the next page, before either
   * touches it: a file ring checks there that its file did not shrink under the mapping (an access
   * past the file's end is a SIGBUS, which no JavaScript can catch). Undefined for memory rings.
   */
  pageSwitchCheck: (() => void) | undefined;
}

const TWO_32 = 4294967296;
/** Page counters stay below 2^53 (exact doubles): high words above this are corrupt. */
const MAX_PAGE_HI = 0x1fffff;

/**
 * The page counter whose words are (lo, hi), as a double. hi = 0xFFFFFFFF (a never-used initial
 * page) gives -1 with `initialAs`; an impossible hi (counter >= 2^53) throws RingFormatError.
 */
export function pageNumber(lo: number, hi: number, byteOffset: number, initialAs = 0): number {
  const h = hi >>> 0;
  if (h === 0xffffffff) return initialAs;
  if (h > MAX_PAGE_HI) {
    throw new RingFormatError(
      `Invalid page counter high word 0x${h.toString(16)} at byte ${byteOffset}: page counters stay below 2^53`,
      byteOffset,
      `<= 0x${MAX_PAGE_HI.toString(16)}`,
      `0x${h.toString(16)}`,
    );
  }
  return h * TWO_32 + (lo >>> 0);
}

/** High 32 bits of a page counter (page counters before 0 are the "never used" initial contents). */
/** The newest page counter writers have entered in the lane at `laneBase` (full 64-bit counter). */
export function laneHeadPage(c: RingCore, laneBase: number): number {
  // Acquire the head page number published by the writers' page switch.
  const lo = Atomics.load(c.i32, (laneBase + L_HEAD_PAGE) >> 2);
  const slot = slotOffset(c.g, laneBase, lo);
  // Acquire its high half; published before PG_SEQ by preparePage().
  const hi = Atomics.load(c.i32, (slot + PG_SEQ_HI) >> 2) >>> 0;
  return pageNumber(lo, hi, slot + PG_SEQ_HI);
}

export function pageHi(pageNo: number): number {
  return pageNo < 0 ? 0xffffffff : Math.floor(pageNo / TWO_32) >>> 0;
}

/** Does the slot at `slot` hold page `pageNo`, fully prepared? */
export function pageHolds(c: RingCore, slot: number, pageNo: number): boolean {
  // Acquire the page header and zeroed contents published by preparePage()'s Atomics.store(PG_SEQ).
  if (Atomics.load(c.i32, (slot + PG_SEQ) >> 2) !== (pageNo | 0)) return false;
  // PG_SEQ_HI is stored before PG_SEQ, so it is current once PG_SEQ matched.
  return Atomics.load(c.i32, (slot + PG_SEQ_HI) >> 2) >>> 0 === pageHi(pageNo);
}

/**
 * Where a slot is relative to page `pageNo`: 0 holds it, < 0 not there yet (older page or being
 * prepared for it), > 0 it has moved past it (the page was overwritten).
 */
export function pageState(c: RingCore, slot: number, pageNo: number): number {
  // Acquire the slot's page number; pairs with preparePage()'s stores of PG_SEQ.
  const lo = Atomics.load(c.i32, (slot + PG_SEQ) >> 2);
  if (lo === (pageNo | 0)) {
    // Pairs with preparePage()'s Atomics.store(PG_SEQ_HI), made before PG_SEQ.
    const hi = Atomics.load(c.i32, (slot + PG_SEQ_HI) >> 2) >>> 0;
    const want = pageHi(pageNo);
    return hi === want ? 0 : hi > want ? 1 : -1;
  }
  // A slot only ever holds pages congruent to it modulo P; the preparing marker (old + 1) is not,
  // and counts as "not there yet".
  return (lo - (pageNo | 0)) | 0;
}

/** Reusable result of {@link walkPage}; one per writer or reader, so walks allocate nothing. */
export class PageWalk {
  /** Committed data records seen. */
  records = 0;
  /** Their payload bytes. */
  bytes = 0;
  /** A BUSY (reserved, uncommitted) record was seen. */
  busy = false;
  /** Offset in the page where the walk stopped: the first empty header, or the page size. */
  end = 0;
}

/**
 * Walk the record headers of the page at `slot` from offset `from` to `to` (default: the page end),
 * counting. Stops at the first empty header. Bounded: every step advances at least 8 bytes, and a
 * header that points outside the page throws {@link RingFormatError}.
 *
 * Every record is published by an atomic store of its word0, and read here with an atomic load.
 * Per-thread lanes (`own`) also publish PG_COMMITTED, below which every record is final: those are
 * read with plain loads after one atomic load of PG_COMMITTED, and a page whose PG_COMMITTED is
 * short of its end counts as busy (not final).
 */
export function walkPage(c: RingCore, slot: number, from: number, w: PageWalk, own: boolean, to = c.g.pageSize): PageWalk {
  const ps = c.g.pageSize;
  const i32 = c.i32;
  w.records = 0;
  w.bytes = 0;
  w.busy = false;
  let plainUpTo = from;
  if (own) {
    const committed = committedEnd(c, slot);
    if (committed < ps) w.busy = true;
    plainUpTo = committed < to ? committed : to;
  }
  let off = from;
  while (off < to) {
    const idx = (slot + off) >> 2;
    const plain = off < plainUpTo;
    // Below PG_COMMITTED: plain load, ordered by the acquire in committedEnd(). Beyond it: acquire
    // the record published by its producer's Atomics.store of word0.
    const h = plain ? (i32[idx] ?? 0) : Atomics.load(i32, idx);
    if (h === 0) {
      if (plain) throw badHeader(slot + off, h, ps - off);
      break;
    }
    const state = h >>> STATE_SHIFT;
    const len = (h >>> LENGTH_SHIFT) & LENGTH_MASK;
    const size = (RECORD_HEADER_BYTES + len + 7) & ~7;
    if (state === 0 || off + size > ps || (plain && state === STATE_BUSY)) throw badHeader(slot + off, h, ps - off);
    if (state === STATE_BUSY) {
      w.busy = true;
    } else if (state === STATE_COMMITTED && (h & INTERNAL_BIT) === 0) {
      w.records++;
      w.bytes += len;
    }
    off += size;
  }
  w.end = off;
  return w;
}

/**
 * {@link walkPage} of page `pageNo` that tells a page recycled under the walk (its contents look
 * like garbage mid-walk) from real corruption: false when the slot no longer holds `pageNo` after
 * the walk (or when the walk tripped over a recycled page); throws only if the page is still there.
 */
export function walkHeldPage(
  c: RingCore,
  slot: number,
  pageNo: number,
  from: number,
  w: PageWalk,
  own: boolean,
  to = c.g.pageSize,
): boolean {
  try {
    walkPage(c, slot, from, w, own, to);
  } catch (e) {
    if (pageHolds(c, slot, pageNo)) throw e;
    return false;
  }
  fence(); // the walk's plain loads complete before the re-check
  return pageHolds(c, slot, pageNo);
}

/**
 * PG_COMMITTED of a per-thread lane's page, validated (8-aligned, inside the page). Every record
 * below it is final, and visible after this load.
 */
export function committedEnd(c: RingCore, slot: number): number {
  // Acquire the records below it; pairs with the owner's Atomics.store in writer.ts#LaneWriter.
  const v = Atomics.load(c.i32, (slot + PG_COMMITTED) >> 2);
  if (v < PAGE_HEADER_BYTES || v > c.g.pageSize || (v & 7) !== 0) {
    throw new RingFormatError(
      `Invalid committed offset ${v} at byte ${slot + PG_COMMITTED}: must be a multiple of 8 from ${PAGE_HEADER_BYTES} to ${c.g.pageSize}`,
      slot + PG_COMMITTED,
      `${PAGE_HEADER_BYTES}..${c.g.pageSize}`,
      String(v),
    );
  }
  return v;
}

export function badHeader(byteOffset: number, word0: number, room: number): RingFormatError {
  return new RingFormatError(
    `Invalid record header at byte ${byteOffset}: word 0x${(word0 >>> 0).toString(16).padStart(8, "0")} ` +
      `(state ${word0 >>> STATE_SHIFT}, length ${(word0 >>> LENGTH_SHIFT) & LENGTH_MASK}) does not fit the ${room} bytes left in its page`,
    byteOffset,
    `a record of at most ${room} bytes with state 1-3`,
    `0x${(word0 >>> 0).toString(16)}`,
  );
}

/** Outcomes of {@link preparePage}. */
export const PREPARE_READY = 0;
/** Another producer is preparing the slot right now. */
export const PREPARE_IN_PROGRESS = 1;
/** Discard mode: the old page in the slot has not been consumed yet. */
export const PREPARE_FULL = 2;
/** The old page still has a reserved, uncommitted record (a slow or dead writer): it cannot be reused. */
export const PREPARE_STALLED = 3;
/** The slot holds neither the page before nor `pageNo`: the caller's view is stale. */
export const PREPARE_STALE = 4;

/**
 * Make the slot of page `pageNo` hold that page, zeroed, with base time `baseTime`.
 *
 * The slot holds page old = pageNo - P (or its never-used initial contents). Before the slot can be
 * claimed: old must have no BUSY record; the cumulative counts of page old + 1 are stored (so loss
 * stays countable once old is gone); and the tail must be past old, which in discard mode means the
 * consumer has read it (else PREPARE_FULL) and in overwrite mode is achieved by pushing the tail,
 * counting the records pushed over as overrun. Then one compare-exchange of PG_SEQ from old to
 * old + 1 (the "preparing" marker) elects the single preparer, which zeroes the records area, writes
 * the header, and publishes PG_SEQ = pageNo.
 *
 * Idempotent and safe to call from several producers at once; allocates nothing. `counted`: the
 * caller (a per-thread lane's owner) already put page old's records and bytes in `w`, which spares
 * the walk.
 */
export function preparePage(
  c: RingCore,
  laneBase: number,
  pageNo: number,
  baseTime: number,
  producerId: number,
  w: PageWalk,
  counted = false,
): number {
  if (c.pageSwitchCheck !== undefined) c.pageSwitchCheck();
  const g = c.g;
  const i32 = c.i32;
  const slot = slotOffset(g, laneBase, pageNo);
  const seqIdx = (slot + PG_SEQ) >> 2;
  const old = pageNo - g.lanePages;
  const oldLo = old | 0;
  const state = pageState(c, slot, pageNo);
  if (state === 0) return PREPARE_READY;
  // Acquire the slot's current page number (pairs with the previous preparer's publication).
  const lo = Atomics.load(i32, seqIdx);
  if (lo === ((oldLo + 1) | 0)) return PREPARE_IN_PROGRESS;
  // PG_SEQ_HI is stored before PG_SEQ by every preparer, so it is current once PG_SEQ matched.
  if (lo !== oldLo || (Atomics.load(i32, (slot + PG_SEQ_HI) >> 2) >>> 0) !== pageHi(old)) return PREPARE_STALE;

  if (old >= 0) {
    if (counted) {
      // The lane's owner counted page old as it wrote it: it is final once its PG_COMMITTED reached the end.
      if (committedEnd(c, slot) !== g.pageSize) return PREPARE_STALLED;
    } else {
      // Another preparer may recycle the slot under us: then our view is stale, not the ring corrupt.
      if (!walkHeldPage(c, slot, old, PAGE_HEADER_BYTES, w, isOwnLane(g, laneBase))) return PREPARE_STALE;
      if (w.busy) return PREPARE_STALLED;
    }
    // Discard mode: the consumer must have read page old. (Checked again is not needed after the
    // claim: only the consumer moves the tail in discard mode, and only forward.)
    if (!c.overwrite && !tailPast(c, laneBase, old)) return PREPARE_FULL;
  }

  // Elect the single preparer: PG_SEQ old -> old + 1 (the preparing marker).
  if (Atomics.compareExchange(i32, seqIdx, oldLo, (oldLo + 1) | 0) !== oldLo) return PREPARE_IN_PROGRESS;
  // Name the preparer so reclaim can finish the job if it dies; pairs with the load in reclaim.
  Atomics.store(i32, (slot + PG_PREPARER) >> 2, producerId + 1);
  if (old >= 0) {
    // Only the elected preparer stores the cumulatives of old + 1: that page cannot be recycled
    // before this one is published, and the walk of old is still valid (old was final and only we
    // may change it now). They are stored before the tail is pushed, so a consumer that finds
    // itself pushed always finds the counts it needs to report its loss.
    storeCumulatives(c, laneBase, old, w);
    // Overwrite mode: take the rest of page old from the consumer, before zeroing it.
    if (c.overwrite) pushTail(c, laneBase, old);
  }
  finishPrepare(c, slot, pageNo, baseTime);
  return PREPARE_READY;
}

/** Zero the records area, write the header and publish page `pageNo` (the slot is claimed). */
export function finishPrepare(c: RingCore, slot: number, pageNo: number, baseTime: number): void {
  const i32 = c.i32;
  i32.fill(0, (slot + PAGE_HEADER_BYTES) >> 2, (slot + c.g.pageSize) >> 2);
  c.f64[(slot + PG_BASE_TIME) >> 3] = baseTime;
  // Counter clock: keep the ring-wide reference it is unwrapped against recent (plain f64 store,
  // tear-free; any recent value is good enough, so racing preparers need no ordering).
  if (c.g.clock === CLOCK_COUNTER) c.f64[H_COUNTER_BASE >> 3] = baseTime;
  c.f64[(slot + PG_RECORDS_BEFORE) >> 3] = 0;
  c.f64[(slot + PG_BYTES_BEFORE) >> 3] = 0;
  i32[(slot + PG_PAGE_RECORDS) >> 2] = 0; // the previous page's count; published with PG_SEQ below
  // Nothing committed yet; ordered before the PG_SEQ publication below.
  Atomics.store(i32, (slot + PG_COMMITTED) >> 2, PAGE_HEADER_BYTES);
  // Cumulatives of the new page are not known yet; ordered before the PG_SEQ publication below.
  Atomics.store(i32, (slot + PG_CUM_READY) >> 2, 0);
  // Ordered before PG_SEQ so that a reader matching PG_SEQ also sees the new high half.
  Atomics.store(i32, (slot + PG_SEQ_HI) >> 2, pageHi(pageNo) | 0);
  // Ordered before PG_SEQ: a new PG_SEQ means nobody is preparing.
  Atomics.store(i32, (slot + PG_PREPARER) >> 2, 0);
  // Publish the zeroed page and its header; pairs with pageHolds()/pageState() loads.
  Atomics.store(i32, (slot + PG_SEQ) >> 2, pageNo | 0);
}

/** Store the cumulative counts of page old + 1: those of `old` plus its walk `w`. Called by the elected preparer (or reclaim, for a dead one). */
export function storeCumulatives(c: RingCore, laneBase: number, old: number, w: PageWalk): void {
  const g = c.g;
  const next = slotOffset(g, laneBase, old + 1);
  const oldSlot = slotOffset(g, laneBase, old);
  // The old page's own cumulatives were stored when page old - 1 was recycled, or at ring init for
  // page 0. They are missing only if a preparer died mid-preparation (reclaim finishes the page but
  // cannot count what it may have zeroed): then the counts stay unknown rather than wrong.
  // Acquire them; pairs with the Atomics.store of PG_CUM_READY below, one recycle earlier.
  if (Atomics.load(c.i32, (oldSlot + PG_CUM_READY) >> 2) !== 1) return;
  const f64 = c.f64;
  f64[(next + PG_RECORDS_BEFORE) >> 3] = (f64[(oldSlot + PG_RECORDS_BEFORE) >> 3] ?? 0) + w.records;
  f64[(next + PG_BYTES_BEFORE) >> 3] = (f64[(oldSlot + PG_BYTES_BEFORE) >> 3] ?? 0) + w.bytes;
  // Publish the two f64 above; pairs with the Atomics.load(PG_CUM_READY) in cumulativeRecords().
  Atomics.store(c.i32, (next + PG_CUM_READY) >> 2, 1);
}

/** Is the lane's tail (the consumer's position) past page `old`? */
function tailPast(c: RingCore, laneBase: number, old: number): boolean {
  // Acquire the consumer's position (and so its copies of page old); pairs with its compareExchange in reader.ts#fill().
  const tail = Atomics.load(c.i32, (laneBase + L_TAIL_POS8) >> 2);
  return pos8Diff(tail, toPos8(c.g, old + 1, PAGE_HEADER_BYTES)) >= 0;
}

/**
 * Overwrite mode: move the lane's tail to the start of page old + 1 if it is not past it yet (the
 * records pushed over are the overrun; stats derive it from the tail's position). Each failed
 * exchange means the consumer moved forward inside page old, which it can do at most once per
 * record, so the loop ends.
 */
export function pushTail(c: RingCore, laneBase: number, old: number): void {
  const tailIdx = (laneBase + L_TAIL_POS8) >> 2;
  const target = toPos8(c.g, old + 1, PAGE_HEADER_BYTES) | 0;
  for (let attempt = 0, max = (c.g.pageSize >> 3) + 2; attempt < max; attempt++) {
    // Acquire the consumer's position; pairs with its compareExchange in reader.ts#fill().
    const tail = Atomics.load(c.i32, tailIdx);
    if (pos8Diff(tail, target) >= 0) return;
    // Take the rest of page old from the consumer; pairs with its compareExchange of the same word.
    if (Atomics.compareExchange(c.i32, tailIdx, tail, target) === tail) return;
  }
}

/**
 * Committed data records (and their payload bytes) in the lane before page `pageNo`, or NaN when
 * they cannot be known any more (pages overwritten meanwhile, or a page still has a BUSY record and
 * `requireFinal`). Read-only: readers and stats use it, only preparePage() stores cumulatives.
 */
export function cumulativeRecords(
  c: RingCore,
  laneBase: number,
  pageNo: number,
  w: PageWalk,
  out: { records: number; bytes: number },
  requireFinal: boolean,
): boolean {
  const g = c.g;
  // Find the newest page at or before pageNo whose cumulatives are stored (the oldest page still in
  // the ring always has them: they were stored when the page before it was recycled).
  let j = pageNo;
  const oldest = Math.max(0, pageNo - g.lanePages);
  for (; j >= oldest; j--) {
    const s = slotOffset(g, laneBase, j);
    // Acquire the cumulatives published by storeCumulatives(); pairs with its Atomics.store.
    if (pageHolds(c, s, j) && Atomics.load(c.i32, (s + PG_CUM_READY) >> 2) === 1) break;
  }
  if (j < oldest) {
    if (pageNo - g.lanePages > 0) return false;
    j = 0; // page 0's cumulatives are 0 by definition
  }
  const s0 = slotOffset(g, laneBase, j);
  // Page 0's cumulatives are 0 by definition: never read them from slot 0, which a recycler may be
  // refilling with a later page's counts meanwhile (found by the model in spec/own-lane.pml).
  let records = j === 0 ? 0 : (c.f64[(s0 + PG_RECORDS_BEFORE) >> 3] ?? 0);
  let bytes = j === 0 ? 0 : (c.f64[(s0 + PG_BYTES_BEFORE) >> 3] ?? 0);
  for (let p = j; p < pageNo; p++) {
    const s = slotOffset(g, laneBase, p);
    if (!pageHolds(c, s, p)) return false;
    if (!walkHeldPage(c, s, p, PAGE_HEADER_BYTES, w, isOwnLane(g, laneBase))) return false;
    if (requireFinal && w.busy) return false;
    records += w.records;
    bytes += w.bytes;
  }
  // The starting cumulatives were read from a page that must still be the same one.
  fence();
  if (j > 0 && !pageHolds(c, s0, j)) return false;
  out.records = records;
  out.bytes = bytes;
  return true;
}

/**
 * Add `n` (may be negative) to a lane's u32 (lo, hi) counter pair shared by several threads: an
 * atomic add to lo, and the thread whose add carried out of (or borrowed from) lo adjusts hi.
 */
export function addPair(i32: Int32Array, lo: number, hi: number, n: number): void {
  if (n === 0) return;
  if (n > 0) {
    // Any count up to 2^53: the low 32 bits to lo, the rest (and the carry) to hi.
    const low = n % 4294967296;
    // Add to the shared count; stats read the pair (a momentarily torn pair only skews a snapshot of it).
    const old = Atomics.add(i32, lo >> 2, low | 0) >>> 0;
    const up = (n - low) / 4294967296 + (old + low >= 4294967296 ? 1 : 0);
    // Carry into the high word; same pairing.
    if (up !== 0) Atomics.add(i32, hi >> 2, up);
    return;
  }
  // Take back a count (n > -2^32); same pairing.
  const old = Atomics.add(i32, lo >> 2, n) >>> 0;
  // Borrow from the high word; same pairing.
  if (old + n < 0) Atomics.sub(i32, hi >> 2, 1);
}

/** Read a counter pair kept by {@link addPair} (byte offsets of its lo and hi words). */
export function loadPair(i32: Int32Array, lo: number, hi: number): number {
  // Acquire both words of the atomic adds; a pair read during a carry may be off by 2^32 for an instant.
  return Atomics.load(i32, hi >> 2) * 4294967296 + (Atomics.load(i32, lo >> 2) >>> 0);
}

// Without SharedArrayBuffer (a page that is not cross-origin isolated) nothing is shared, so there is
// nothing to order; the module must still load there (readGeometry() reads a plain ArrayBuffer).
const fenceWord = new Int32Array(typeof SharedArrayBuffer === "function" ? new SharedArrayBuffer(4) : new ArrayBuffer(4));
/**
 * Order the plain loads before this point before the atomic loads after it. ECMAScript has no
 * fence; an atomic read-modify-write is a full barrier on every V8 target (x86 `lock xadd`,
 * arm64 `ldaddal` or an `ldaxr`/`stlxr` loop), and this word is private, so it costs one
 * uncontended RMW. Used by seqlock-style re-checks (copy, then confirm the page did not change).
 */
export function fence(): void {
  // A full barrier: orders every earlier load before every later one (the word itself is private).
  Atomics.add(fenceWord, 0, 0);
}

/**
 * Data records in the lane before byte `off` of page `pageNo` (its "sequence number"), or NaN when
 * that can no longer be known.
 */
export function recordsBefore(
  c: RingCore,
  laneBase: number,
  pageNo: number,
  off: number,
  w: PageWalk,
  cum: { records: number; bytes: number },
): number {
  if (!cumulativeRecords(c, laneBase, pageNo, w, cum, false)) return Number.NaN;
  if (off <= PAGE_HEADER_BYTES) return cum.records;
  const slot = slotOffset(c.g, laneBase, pageNo);
  if (!pageHolds(c, slot, pageNo)) return Number.NaN;
  return walkHeldPage(c, slot, pageNo, PAGE_HEADER_BYTES, w, isOwnLane(c.g, laneBase), Math.min(off, c.g.pageSize))
    ? cum.records + w.records
    : Number.NaN;
}

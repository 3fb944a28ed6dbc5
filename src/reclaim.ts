/**
 * Repairing what a dead producer left behind (BPF's ring blocks its consumer forever on such a
 * record; LTTng needed owner ids and a "stalled buffer fixup"). Every BUSY claim names its
 * producer (shared lanes) or its lane's owner (per-thread lanes), and a page preparation names its
 * preparer, so once a producer is declared dead its leftovers can be found and finished.
 */
import {
  BUSY_TO_DISCARDED,
  INFO_MASK,
  LENGTH_MASK,
  LENGTH_SHIFT,
  PAGE_HEADER_BYTES,
  LANE_HEADER_BYTES,
  PG_BASE_TIME,
  PG_COMMITTED,
  PG_CUM_READY,
  PG_PREPARER,
  PG_SEQ,
  PG_SEQ_HI,
  RECORD_HEADER_BYTES,
  STATE_BUSY,
  STATE_SHIFT,
  laneOffset,
  slotOffset,
} from "./layout.js";
import { PageWalk, finishPrepare, pageHolds, pageNumber, pushTail, storeCumulatives, walkPage } from "./pages.js";
import { RingFormatError } from "./errors.js";
import type { RingBuffer } from "./ring.js";

/**
 * Turn the dead producer `id`'s open reservations on `lane` into discarded records and finish any
 * page preparation it started (on a per-thread lane, also one it started without naming itself).
 * Returns the number of reservations abandoned.
 */
export function reclaimProducerPages(ring: RingBuffer, lane: number, id: number): number {
  const c = ring.core;
  const g = c.g;
  const i32 = c.i32;
  const laneBase = laneOffset(g, lane);
  const own = lane < g.ownLanes;
  let abandoned = 0;
  for (let s = 0; s < g.lanePages; s++) {
    const slot = slotOffset(g, laneBase, s);
    // Acquire the preparer mark; pairs with preparePage()'s store after its claim.
    const preparer = Atomics.load(i32, (slot + PG_PREPARER) >> 2);
    // A per-thread lane's pages are prepared by its owner alone, so on its lane a preparing marker
    // (PG_SEQ = old + 1, not congruent to the slot) with no preparer named is the owner's too: it
    // died between its claim of PG_SEQ and its store of PG_PREPARER (or between finishPrepare()'s
    // last two stores). Acquire PG_SEQ; pairs with preparePage()'s claim.
    const stuck = own && preparer === 0 && ((Atomics.load(i32, (slot + PG_SEQ) >> 2) - 1) & (g.lanePages - 1)) === s;
    if (preparer === id + 1 || stuck) finishStuckPreparation(c, laneBase, slot, own);
    let off = PAGE_HEADER_BYTES;
    while (off < g.pageSize) {
      const idx = (slot + off) >> 2;
      // Acquire the header; pairs with the writers' claim/commit stores (the producer is gone).
      const h = Atomics.load(i32, idx);
      if (h === 0) break;
      const size = (RECORD_HEADER_BYTES + ((h >>> LENGTH_SHIFT) & LENGTH_MASK) + 7) & ~7;
      if (h >>> STATE_SHIFT === 0 || off + size > g.pageSize) break; // not ours to judge here
      if (h >>> STATE_SHIFT === STATE_BUSY && (own || (h & INFO_MASK) === (id & INFO_MASK))) {
        // Abandon the claim; a compare-exchange so a claim that changed meanwhile is left alone.
        if (Atomics.compareExchange(i32, idx, h, h ^ BUSY_TO_DISCARDED) === h) abandoned++;
      }
      off += size;
    }
    // A per-thread lane's owner publishes PG_COMMITTED only when nothing is open: publish what it
    // left (every record up to the first empty header is final now), so readers and the next
    // owner can go on.
    const committedIdx = (slot + PG_COMMITTED) >> 2;
    // Acquire the published end; pairs with the owner's Atomics.store.
    if (own && Atomics.load(i32, committedIdx) < off) Atomics.store(i32, committedIdx, off); // publishes the records above
  }
  return abandoned;
}


/**
 * Finish the preparation of the slot at `slot`, which shows the preparing marker (PG_SEQ = old + 1)
 * and whose preparer is gone: what preparePage() does after its claim, from where it may have
 * stopped. Page old's number comes from the previous slot, which holds page old + P - 1 (pages are
 * entered in order, so it cannot have moved on), not from this slot's PG_SEQ_HI, which the preparer
 * may already have overwritten with the new page's high half.
 */
function finishStuckPreparation(c: RingBuffer["core"], laneBase: number, slot: number, own: boolean): boolean {
  const g = c.g;
  const i32 = c.i32;
  const s = ((slot - laneBase - LANE_HEADER_BYTES) / g.pageSize) | 0;
  const prevSlot = slotOffset(g, laneBase, s - 1);
  // Acquire the previous slot's page; pairs with its preparer's publication.
  const prevLo = Atomics.load(i32, (prevSlot + PG_SEQ) >> 2);
  // Its high half, stored before PG_SEQ by the same preparer.
  const prevHi = Atomics.load(i32, (prevSlot + PG_SEQ_HI) >> 2) >>> 0;
  const prev = pageNumber(prevLo, prevHi, prevSlot + PG_SEQ_HI, -1);
  const old = prev - g.lanePages + 1;
  // Acquire the marker; pairs with preparePage()'s claim. It must name page old, else leave the slot alone.
  if (prev < 0 || ((old + 1) | 0) !== Atomics.load(i32, (slot + PG_SEQ) >> 2)) return false;
  if (old >= 0) {
    // preparePage() step 6, if the preparer died before it: the cumulatives of old + 1 are missing
    // while page old still has its own, so it never got past that step, and page old is intact
    // (zeroing comes later): count it as the preparer would have.
    const nextSlot = slotOffset(g, laneBase, old + 1);
    // Acquire both readiness words; pair with storeCumulatives()'s and finishPrepare()'s stores.
    const nextReady = Atomics.load(i32, (nextSlot + PG_CUM_READY) >> 2) === 1;
    if (!nextReady && Atomics.load(i32, (slot + PG_CUM_READY) >> 2) === 1 && pageHolds(c, nextSlot, old + 1)) {
      try {
        storeCumulatives(c, laneBase, old, walkPage(c, slot, PAGE_HEADER_BYTES, new PageWalk(), own));
      } catch (e) {
        if (!(e instanceof RingFormatError)) throw e; // a corrupt page: its counts stay unknown
      }
    }
    // Step 7 (overwrite mode): nothing of page old may be zeroed before the tail is past it.
    if (c.overwrite) pushTail(c, laneBase, old);
  }
  finishPrepare(c, slot, old + g.lanePages, c.f64[(prevSlot + PG_BASE_TIME) >> 3] ?? 0);
  return true;
}

/**
 * For a tool that knows that every producer of shared lane `lane` is gone (e.g. crash recovery,
 * after reclaiming them all): finish the page preparations whose preparer died before naming
 * itself in PG_PREPARER (between its claim of PG_SEQ and that store, or between the last two stores
 * of finishPrepare()), which reclaim cannot attribute. Per-thread lanes need no such call (reclaim
 * of their owner does it). Returns the number of slots finished. MUST NOT run while a producer of
 * the lane may be preparing a page.
 */
export function finishOrphanedPreparations(ring: RingBuffer, lane: number): number {
  const c = ring.core;
  const g = c.g;
  const laneBase = laneOffset(g, lane);
  let finished = 0;
  for (let s = 0; s < g.lanePages; s++) {
    const slot = slotOffset(g, laneBase, s);
    // Acquire the slot's state; pairs with preparePage()'s claim and finishPrepare()'s stores.
    if (Atomics.load(c.i32, (slot + PG_PREPARER) >> 2) !== 0) continue; // a named preparer: reclaim's job
    // Acquire the page number (or marker); pairs with the same.
    if (((Atomics.load(c.i32, (slot + PG_SEQ) >> 2) - 1) & (g.lanePages - 1)) !== s) continue; // not the marker
    if (finishStuckPreparation(c, laneBase, slot, false)) finished++;
  }
  return finished;
}

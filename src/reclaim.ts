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
  PG_BASE_TIME,
  PG_COMMITTED,
  PG_PREPARER,
  PG_SEQ,
  PG_SEQ_HI,
  RECORD_HEADER_BYTES,
  STATE_BUSY,
  STATE_SHIFT,
  laneOffset,
  slotOffset,
} from "./layout.js";
import { finishPrepare, pageNumber } from "./pages.js";
import type { RingBuffer } from "./ring.js";

/**
 * Turn the dead producer `id`'s open reservations on `lane` into discarded records and finish any
 * page preparation it started. Returns the number of reservations abandoned.
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
    if (Atomics.load(i32, (slot + PG_PREPARER) >> 2) === id + 1) {
      // It died between claiming the slot and publishing the page: finish the job.
      const marker = Atomics.load(i32, (slot + PG_SEQ) >> 2);
      // The high half of the old page's counter, stored before its PG_SEQ by its preparer.
      const hi = Atomics.load(i32, (slot + PG_SEQ_HI) >> 2) >>> 0;
      const old = (hi >>> 0) === 0xffffffff ? (marker - 1) | 0 : pageNumber(marker - 1, hi, slot + PG_SEQ_HI);
      const prevSlot = slotOffset(g, laneBase, old + g.lanePages - 1);
      finishPrepare(c, slot, old + g.lanePages, c.f64[(prevSlot + PG_BASE_TIME) >> 3] ?? 0);
    }
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


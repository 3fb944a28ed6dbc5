/**
 * Counters, per lane and in total. Everything is derived from single-writer fields and the page
 * cumulatives, so the numbers are exact at the moment each lane is read (lanes are read one after
 * the other, not atomically together).
 */
import {
  L_CLEARED_HI,
  L_CLEARED_LO,
  L_HEAD_PAGE,
  L_GROUP_READ_HI,
  L_GROUP_READ_LO,
  L_READ,
  L_TAIL_POS8,
  H_FOLDS_BEGUN,
  H_FOLDS_ENDED,
  L_ABANDONED_HI,
  L_ABANDONED_LO,
  L_DROPPED_HI,
  L_DROPPED_LO,
  P_ABANDONED,
  P_DROPPED,
  P_LANE,
  P_STATE,
  PG_SEQ_HI,
  PRODUCER_ALIVE,
  PRODUCER_DEAD,
  laneOffset,
  producerOffset,
  pos8Offset,
  pos8Page,
  slotOffset,
} from "./layout.js";
import { PageWalk, type RingCore, cumulativeRecords, loadPair, recordsBefore, pageNumber } from "./pages.js";
import type { RingBuffer } from "./ring.js";
import { RingFormatError } from "./errors.js";

/** Counters of one lane (or the sum over lanes). */
export interface LaneCounters {
  /** Records committed (entries written). */
  written: number;
  /** Payload bytes of those records. */
  bytes: number;
  /** Records handed to the consumer. */
  read: number;
  /** Committed records overwritten before the consumer read them (overwrite mode). */
  overrun: number;
  /** Committed records removed unread by a reset (`ring.clear()`, `reader.clear()`). */
  cleared: number;
  /** Records refused because the lane was full or could not move on (discard mode, mostly). */
  dropped: number;
  /** Reservations of dead producers turned into discarded records by reclaim. */
  abandoned: number;
  /** Committed records still in the ring and not consumed: written - read - overrun - cleared. */
  inRing: number;
}

export interface LaneStats extends LaneCounters {
  lane: number;
  kind: "own" | "shared";
  /** Pages in the lane and their size. */
  pages: number;
  pageSize: number;
  /** Counter of the newest page writers entered. */
  headPage: number;
}

export interface RingStats {
  mode: "overwrite" | "discard";
  lanes: LaneStats[];
  total: LaneCounters;
}

export function collectStats(ring: RingBuffer): RingStats {
  const c = ring.core;
  const g = c.g;
  const walk = new PageWalk();
  const cum = { records: 0, bytes: 0 };
  const perLane = retiredAndLive(c);
  const lanes: LaneStats[] = [];
  const total: LaneCounters = { written: 0, bytes: 0, read: 0, overrun: 0, cleared: 0, dropped: 0, abandoned: 0, inRing: 0 };
  // A page whose records do not parse (damage) makes the counts that walk it unknown (NaN), for its lane only.
  let damagedLane = false;
  const countable = <T>(count: () => T, unknown: T): T => {
    try {
      return count();
    } catch (e) {
      if (!(e instanceof RingFormatError)) throw e;
      damagedLane = true;
      return unknown;
    }
  };
  for (let lane = 0; lane < g.lanes; lane++) {
    const lb = laneOffset(g, lane);
    damagedLane = false;
    let written = Number.NaN;
    let bytes = Number.NaN;
    let head = 0;
    for (let attempt = 0; attempt < 8 && Number.isNaN(written); attempt++) {
      // Acquire the head page; pairs with the writers' page switch.
      const lo = Atomics.load(c.i32, (lb + L_HEAD_PAGE) >> 2);
      // Acquire the high half, published before PG_SEQ by preparePage().
      const hi = Atomics.load(c.i32, (slotOffset(g, lb, lo) + PG_SEQ_HI) >> 2) >>> 0;
      head = pageNumber(lo, hi, slotOffset(g, lb, lo) + PG_SEQ_HI);
      if (countable(() => cumulativeRecords(c, lb, head + 1, walk, cum, false), false)) {
        written = cum.records;
        bytes = cum.bytes;
      } else if (damagedLane) break;
    }
    // Acquire the group members' count (atomic adds); the single consumer's f64 is plain.
    const groupRead = Atomics.load(c.i32, (lb + L_GROUP_READ_HI) >> 2) * 4294967296 + (Atomics.load(c.i32, (lb + L_GROUP_READ_LO) >> 2) >>> 0);
    const read = (c.f64[(lb + L_READ) >> 3] ?? 0) + groupRead;
    // Acquire the cleared count (atomic adds by clear()).
    const cleared = Atomics.load(c.i32, (lb + L_CLEARED_HI) >> 2) * 4294967296 + (Atomics.load(c.i32, (lb + L_CLEARED_LO) >> 2) >>> 0);
    // Records before the tail were consumed, cleared, or pushed over by a writer recycling their page.
    // Acquire the tail; pairs with the consumer's and the recyclers' compareExchange.
    const tail = Atomics.load(c.i32, (lb + L_TAIL_POS8) >> 2);
    const beforeTail = countable(() => recordsBefore(c, lb, Math.max(0, pos8Page(g, tail, head)), pos8Offset(g, tail), walk, cum), Number.NaN);
    const overrun = Math.max(0, beforeTail - read - cleared);
    const p = perLane[lane] ?? { dropped: 0, abandoned: 0 };
    const s: LaneStats = {
      lane,
      kind: lane < g.ownLanes ? "own" : "shared",
      written,
      bytes,
      read,
      overrun,
      cleared,
      dropped: p.dropped,
      abandoned: p.abandoned,
      inRing: written - read - overrun - cleared,
      pages: g.lanePages,
      pageSize: g.pageSize,
      headPage: head,
    };
    lanes.push(s);
    total.written += s.written;
    total.bytes += s.bytes;
    total.read += s.read;
    total.overrun += s.overrun;
    total.cleared += s.cleared;
    total.dropped += s.dropped;
    total.abandoned += s.abandoned;
    total.inRing += s.inRing;
  }
  return { mode: ring.mode, lanes, total };
}

/** Attempts at a read of the producer table that no fold overlapped (a fold takes a few stores). */
const FOLD_ATTEMPTS = 1000;

/**
 * Dropped and abandoned records per lane: the live (and retiring) producers' own counters plus
 * the totals folded into the lane by retired ones. Read inside a window no fold overlapped
 * (ring.ts#retire() brackets each fold by H_FOLDS_BEGUN / H_FOLDS_ENDED): with sequentially
 * consistent Atomics, ENDED loaded before the reads equal to BEGUN loaded after them means no fold
 * was half done and none began meanwhile, so no producer is counted twice (slot and lane) or not
 * at all (slot freed, lane not yet added). Under a fold storm the last attempt is kept.
 */
function retiredAndLive(c: RingCore): { dropped: number; abandoned: number }[] {
  const g = c.g;
  let out: { dropped: number; abandoned: number }[] = [];
  for (let attempt = 0; attempt < FOLD_ATTEMPTS; attempt++) {
    // Folds ended so far; pairs with the Atomics.add closing each fold in ring.ts#retire().
    const ended = Atomics.load(c.i32, H_FOLDS_ENDED >> 2);
    out = [];
    for (let lane = 0; lane < g.lanes; lane++) {
      const lb = laneOffset(g, lane);
      out.push({ dropped: loadPair(c.i32, lb + L_DROPPED_LO, lb + L_DROPPED_HI), abandoned: loadPair(c.i32, lb + L_ABANDONED_LO, lb + L_ABANDONED_HI) });
    }
    for (let id = 0; id < g.maxProducers; id++) {
      const base = producerOffset(g, id);
      // Acquire the slot state; pairs with the claim in ring.ts#writer() and the free in ring.ts#retire().
      const state = Atomics.load(c.i32, (base + P_STATE) >> 2);
      if (state !== PRODUCER_ALIVE && state !== PRODUCER_DEAD) continue;
      // Acquire the lane recorded at claim time.
      const lane = Atomics.load(c.i32, (base + P_LANE) >> 2);
      const e = out[lane];
      if (e === undefined) continue; // a corrupt lane word: nothing to add it to
      e.dropped += c.f64[(base + P_DROPPED) >> 3] ?? 0;
      e.abandoned += c.f64[(base + P_ABANDONED) >> 3] ?? 0;
    }
    // Folds begun so far; pairs with the Atomics.add opening each fold.
    if (Atomics.load(c.i32, H_FOLDS_BEGUN >> 2) === ended) break;
  }
  return out;
}

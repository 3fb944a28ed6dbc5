/**
 * Crash recovery, the flight recorder's promise: after the processes writing a file ring died (any
 * moment, SIGKILL included), get back every record they committed, and put the ring back in
 * service.
 *
 * What a killed writer leaves, and what recovery does about it:
 *  - committed records: in the ring, readable as they are (each was published by its own word0);
 *  - reservations it never committed: BUSY records, which stop readers at that point. Reclaim
 *    (src/reclaim.ts, FORMAT.md 10.5) turns them into DISCARDED records and counts them as
 *    abandoned; readers then go past them;
 *  - a per-thread lane whose committed offset lags its records: reclaim publishes it;
 *  - a page it was preparing: reclaim finishes the preparation (on a shared lane whose producers
 *    are all gone, also one whose preparer died before naming itself);
 *  - its lane claim and producer slot: released, so a new writer can take the lane.
 * Which producers are dead: those tagged with the pid of a process that no longer runs (the
 * file-ring convention `ring.writer({ tag: process.pid })`), or all of them with `reclaim: "all"`.
 * Then a non-consuming iterator delivers every record still in the ring (records consumed by a
 * reader but still in their page included), merged across lanes by time.
 */
import type { AttachOptions, RingBuffer } from "../ring.js";
import type { RingRecord } from "../reader.js";
import type { RingStats } from "../stats.js";
import { openFileRing } from "./file-ring.js";
import { type LiveProducer, liveProducers, processAlive } from "./producers.js";
import { H_WAITERS, RECORD_HEADER_BYTES } from "../layout.js";
import { finishOrphanedPreparations } from "../reclaim.js";

/** Options of {@link recoverFileRing}. */
export interface RecoverOptions extends AttachOptions {
  /**
   * Which ALIVE producers to declare dead and repair: `"dead-processes"` (default) those whose tag
   * is the pid of a process that no longer runs (tags <= 0 are left alone); `"all"` every one
   * (when you know every writer and reader is gone, e.g. untagged writers; this also clears the
   * sleeper count a reader killed while asleep leaves behind); `"none"` nobody: read only, not a
   * byte of the ring changes (records behind an uncommitted reservation stay out of reach).
   */
  reclaim?: "dead-processes" | "all" | "none";
  /**
   * Called for each record in the ring, oldest first, merged across lanes by time: data records and
   * `lost` markers (records overwritten before this read). The record object is reused. Decode typed
   * events with `eventRegistry(ring).decode(record)`.
   */
  onRecord?: (record: RingRecord, ring: RingBuffer) => void;
}

/** A producer that recovery declared dead and repaired. */
export interface ReclaimedProducer extends LiveProducer {
  /** Its reservations that were never committed, discarded now. */
  readonly abandoned: number;
}

/** What {@link recoverFileRing} found and did. */
export interface RecoveryReport {
  /** The ring, open and repaired: write to it again, or decode with `eventRegistry(ring)`. */
  readonly ring: RingBuffer;
  /** Data records delivered to `onRecord`. */
  readonly records: number;
  /** Their payload bytes. */
  readonly bytes: number;
  /** Sum of the `lost` markers delivered (loss the reader met while reading). */
  readonly lost: number;
  /** Reservations reserved but never committed, skipped (discarded) by this recovery. */
  readonly abandoned: number;
  /** Producers declared dead and repaired. */
  readonly reclaimed: readonly ReclaimedProducer[];
  /** Producers left alone: alive, or not known to be dead. */
  readonly alive: readonly LiveProducer[];
  /** Shared-lane page preparations whose (dead, unnamed) preparer was finished by recovery. */
  readonly preparationsFinished: number;
  /** With `reclaim: "all"`: the registered sleepers (H_WAITERS) cleared, left by reader processes that died asleep. */
  readonly sleepersCleared: number;
  /**
   * Damage met while reading: a word that does not parse (a corrupt record header or committed
   * offset). Each cost the rest of its page (`lost` records, NaN when unknown); the other pages
   * and lanes were read on.
   */
  readonly damaged: readonly { lane: number; offset: number; lost: number }[];
  /** Ring statistics after recovery (written, overrun, dropped, abandoned, ... per lane and in total). */
  readonly stats: RingStats;
}

/**
 * Recover a file ring after its writers died: repair what dead producers left, deliver every
 * record still in the ring to `onRecord`, and return the counts and the ring (ready to be written
 * again). Records committed by live writers while this runs may or may not be delivered.
 * Throws like {@link openFileRing} for a file that is not a valid ring (a bad ring header). Damage
 * inside a lane costs only the rest of the page it is in: it is listed in `damaged`, and every
 * other page and lane is delivered.
 *
 * @example
 * ```ts
 * import { recoverFileRing } from "unified-ring-buffer/node";
 * import { eventRegistry } from "unified-ring-buffer";
 * const report = recoverFileRing("/dev/shm/myapp.urb", {
 *   onRecord: (r, ring) => console.log(eventRegistry(ring).decode(r)),
 * });
 * console.log(`${report.records} records, ${report.abandoned} uncommitted reservations skipped`);
 * ```
 */
export function recoverFileRing(path: string, options: RecoverOptions = {}): RecoveryReport {
  const { reclaim = "dead-processes", onRecord, ...attach } = options;
  const ring = openFileRing(path, attach);
  const reclaimed: ReclaimedProducer[] = [];
  const alive: LiveProducer[] = [];
  let abandoned = 0;
  for (const p of liveProducers(ring)) {
    const dead = reclaim === "all" || (reclaim === "dead-processes" && p.tag > 0 && !processAlive(p.tag));
    const n = dead ? ring.reclaimProducer(p.id) : -1;
    if (n >= 0) {
      reclaimed.push({ ...p, abandoned: n });
      abandoned += n;
    } else {
      alive.push(p);
    }
  }
  // A shared-lane preparer killed between its claim of a slot and naming itself left a slot that
  // no reclaim can attribute. Once no producer of the lane is alive, nobody else can be preparing
  // there: finish such slots, so writers can move through them again.
  let preparationsFinished = 0;
  const g = ring.geometry;
  if (reclaim !== "none") {
    for (let lane = g.ownLanes; lane < g.lanes; lane++) {
      if (!alive.some((p) => p.lane === lane)) preparationsFinished += finishOrphanedPreparations(ring, lane);
    }
  }
  // A reader process killed while asleep leaves H_WAITERS raised, and then every commit takes the
  // wakeup path (a futex wake syscall). Readers are not in the producer table, so only when told
  // that every party is gone ("all") can recovery clear it.
  let sleepersCleared = 0;
  if (reclaim === "all") {
    // Clear the sleeper count; pairs with writers' Atomics.load(H_WAITERS) after each commit.
    sleepersCleared = Atomics.exchange(ring.core.i32, H_WAITERS >> 2, 0);
  }
  let records = 0;
  let bytes = 0;
  let lost = 0;
  const damaged: { lane: number; offset: number; lost: number }[] = [];
  const visit = (r: RingRecord): void => {
    if (r.kind === "data") {
      records++;
      bytes += r.length;
    } else {
      if (Number.isFinite(r.lost)) lost += r.lost;
      if (r.cause === "damaged") damaged.push({ lane: r.lane, offset: r.damageOffset, lost: r.lost });
    }
    onRecord?.(r, ring);
  };
  // Bounded even if live writers keep writing: at most twice what the ring can hold.
  const limit = 2 * g.lanes * g.lanePages * Math.floor(g.pageSize / RECORD_HEADER_BYTES);
  // Not closed: an iterator claims nothing, and its close() would only wake sleepers, a store to
  // H_WAKE_SEQ that `reclaim: "none"` (read only) must not make.
  const it = ring.iterator();
  let delivered = 0;
  for (let n = it.read(visit, 4096); n > 0 && delivered < limit; n = it.read(visit, 4096)) delivered += n;
  return { ring, records, bytes, lost, abandoned, reclaimed, alive, preparationsFinished, sleepersCleared, damaged, stats: ring.stats() };
}

/**
 * Draining a file ring from outside the processes that write it (LTTng's consumer daemon): the
 * writers only write into the mapped ring; one drain process moves what they commit to a target
 * (a trace file through {@link TracePipe}, or any other {@link DrainTarget}), so a writer that
 * exits, throws or is SIGKILLed loses nothing it committed. What a dead writer leaves open (BUSY
 * reservations, which stop readers, and half-prepared pages) is reclaimed as soon as its process
 * is seen gone (writers of file rings are tagged with their pid, FORMAT.md 1.2), so the records
 * behind it flow again.
 *
 * Used by `urb record` (drain to a trace file); built to be reused by any drain of a file ring
 * (e.g. one feeding log transports): the loop knows nothing of what the target does with pages.
 */
import type { RingBuffer } from "../ring.js";
import { P_DROPPED, P_LANE, P_REPORTED, P_STATE, PRODUCER_ALIVE, producerOffset } from "../layout.js";
import { finishOrphanedPreparations } from "../reclaim.js";
import { type LiveProducer, liveProducers, processAlive } from "./producers.js";
import type { ReclaimedProducer } from "./recover.js";

/** What a drain moves pages to: a {@link TracePipe} is one. */
export interface DrainTarget {
  /** Move every complete page now. */
  pump(): number;
  /** Move the committed records of unfinished pages too. */
  flush(): number;
  /** Final flush, then release the ring's lanes (and close what the target opened). */
  close(): void;
  /** Sleep until pages may be ready (or the timeout, or the abort). */
  waitForPages(options: { timeoutMs: number; wakeRecords?: number; signal?: AbortSignal }): Promise<void>;
  /** Report `count` records of `lane` that a writer dropped and never reported in-band, at ring time `time`. */
  lost(lane: number, count: number, time: number): void;
}

/** Options of {@link drainRing}. */
export interface DrainOptions {
  /** Stop (after reclaiming the dead, a final flush and closing the target) when this aborts. */
  signal?: AbortSignal;
  /** Move the committed part of unfinished pages at least this often, in ms. Default 1000. */
  flushMs?: number;
  /** Look for dead writers this often, in ms. Default 200. */
  checkMs?: number;
  /**
   * Sleep until this many commits ring-wide, or the next check; after a sleep that writers ended
   * (records are coming), at most {@link TAIL_WAIT_MS}, so the tail of a burst (fewer records than
   * this) is not left for the next check. Default 1024.
   */
  wakeRecords?: number;
  /**
   * Longest sleep (ms) for {@link ACTIVE_MS} after a sleep that writers' commits ended. Default
   * {@link TAIL_WAIT_MS}; 0: no short sleeps. A target that moves only whole pages between flushes
   * (a page hand-off, `urb record`) finds nothing to move in them and should pass 0: they cost a
   * wakeup every few ms while a steady stream is written.
   */
  tailWaitMs?: number;
  /**
   * Also stop by itself when this returns true and no writer of the ring is known to be alive (see
   * {@link liveWriters}): e.g. `() => programExited` to drain until the whole process tree ended.
   */
  stopWhenNoWriters?: () => boolean;
  /** Called for each dead writer reclaimed. */
  onReclaimed?: (producer: ReclaimedProducer) => void;
}

/** What a drain did. */
export interface DrainReport {
  /** Dead writers reclaimed. */
  readonly reclaimed: number;
  /** Their reservations that were never committed (discarded; nothing committed is lost). */
  readonly abandoned: number;
  /** Records writers dropped and did not report in-band themselves, reported to the target for them. */
  readonly unreported: number;
}

/**
 * The drops that no LOST record reports of the producers still ALIVE in the table (P_DROPPED -
 * P_REPORTED), for the end of a drain when no process of theirs will write again (writers that
 * cannot be told dead: untagged ones). Producers that closed or were reclaimed need nothing here:
 * retiring folds their unreported drops into the lane's L_UNREPORTED, which the consumer reports
 * (FORMAT.md 4.1, 9.7.1). Returns [lane, count] pairs.
 */
export function unreportedDropsOfLive(ring: RingBuffer): [number, number][] {
  const g = ring.geometry;
  const { i32, f64 } = ring.core;
  const out: [number, number][] = [];
  for (let id = 0; id < g.maxProducers; id++) {
    const base = producerOffset(g, id);
    // Acquire the slot's state; its lane and counters were stored before it became ALIVE.
    if (Atomics.load(i32, (base + P_STATE) >> 2) !== PRODUCER_ALIVE) continue;
    const n = (f64[(base + P_DROPPED) >> 3] ?? 0) - (f64[(base + P_REPORTED) >> 3] ?? 0);
    if (!(n > 0)) continue;
    // Stored before P_STATE = ALIVE; ordered after the load above.
    const lane = Atomics.load(i32, (base + P_LANE) >> 2);
    if (lane >= 0 && lane < g.lanes) out.push([lane, n]);
  }
  return out;
}

/**
 * Reclaim the writers of `ring` whose process is gone (tag = a pid that no longer runs), and
 * finish shared-lane page preparations left by dead writers once no live writer uses that lane.
 * Returns the writers reclaimed.
 *
 * @example
 * ```ts
 * for (const p of reclaimDeadWriters(ring)) console.error(`pid ${p.tag} died with ${p.abandoned} open reservations`);
 * ```
 */
export function reclaimDeadWriters(ring: RingBuffer): ReclaimedProducer[] {
  const out: ReclaimedProducer[] = [];
  const live = liveProducers(ring);
  let anyDead = false;
  for (const p of live) {
    if (p.tag <= 0 || processAlive(p.tag)) continue;
    anyDead = true;
    const n = ring.reclaimProducer(p.id);
    if (n >= 0) out.push({ ...p, abandoned: n });
  }
  if (anyDead) {
    const g = ring.geometry;
    const alive = liveWriters(ring);
    for (let lane = g.ownLanes; lane < g.lanes; lane++) {
      if (!alive.some((p) => p.lane === lane)) finishOrphanedPreparations(ring, lane);
    }
  }
  return out;
}

/**
 * The writers of `ring` known to be alive: open, tagged with a pid (FORMAT.md 1.2), and that
 * process runs. Untagged writers (tag 0: e.g. `attachRing()` of a file ring's buffer in a worker)
 * cannot be told dead and are not listed.
 */
export function liveWriters(ring: RingBuffer): LiveProducer[] {
  return liveProducers(ring).filter((p) => p.tag > 0 && processAlive(p.tag));
}

/**
 * Longest sleep (ms) while writers are committing (a sleep ended early, woken by `wakeRecords`
 * commits, less than {@link ACTIVE_MS} ago): the last records of a burst, fewer than
 * `wakeRecords`, which would not wake the drain, are moved this soon instead of at the end of a
 * full sleep (100 ms in the drain process: 12 % of the ring_transport bench's end-to-end time,
 * bench/notes/ring-transport.md). Above the time `wakeRecords` commits take at a high rate (3.4 ms
 * at 300,000 lines/s), so a busy drain is still woken by the writers, not by its timer.
 */
export const TAIL_WAIT_MS = 5;
/**
 * How long (ms) after the last early wake sleeps stay short: an idle ring costs about 20 short
 * sleeps after each burst, and a steady stream of more than `wakeRecords` commits per ACTIVE_MS
 * (10,000 a second with the default) is looked at every TAIL_WAIT_MS (moved in smaller takes,
 * sooner).
 */
export const ACTIVE_MS = 100;

/**
 * Drain `ring` into `target` until `options.signal` aborts (or, with `stopWhenNoWriters`, the
 * writers are all gone): pages as they fill, unfinished pages every `flushMs`, dead writers
 * reclaimed every `checkMs`. On the way out it reclaims the dead once more and closes the target
 * (a final flush): every record committed by then, by any writer dead or alive, is in it.
 *
 * @example
 * ```ts
 * import { drainRing, openFileRing, pipeToFile } from "unified-ring-buffer/node";
 * const ring = openFileRing("/dev/shm/app.ring");
 * const stop = new AbortController();
 * const done = drainRing(ring, pipeToFile(ring, "app.urb"), { signal: stop.signal });
 * // ... later: stop.abort(); await done;
 * ```
 */
export async function drainRing(ring: RingBuffer, target: DrainTarget, options: DrainOptions = {}): Promise<DrainReport> {
  const flushMs = options.flushMs ?? 1000;
  const checkMs = options.checkMs ?? 200;
  const wakeRecords = options.wakeRecords ?? 1024;
  const tailWaitMs = options.tailWaitMs ?? TAIL_WAIT_MS;
  if (!(tailWaitMs >= 0)) throw new RangeError(`Cannot drain: tailWaitMs must be a number >= 0 (ms), received ${String(tailWaitMs)}`);
  const { signal, stopWhenNoWriters, onReclaimed } = options;
  let reclaimed = 0;
  let abandoned = 0;
  let unreported = 0;
  const reclaim = (final: boolean): void => {
    for (const p of reclaimDeadWriters(ring)) {
      reclaimed++;
      abandoned += p.abandoned;
      onReclaimed?.(p);
    }
    // Writers that are gone were retired by the reclaim: the consumer (the target) reports their
    // unreported drops from the lane's totals. At the end, those still ALIVE in the table will not
    // write again either (untagged writers, whose death cannot be seen): a LOST chunk says what
    // they dropped and never reported, after the pages moved by a flush.
    if (!final) return;
    const drops = unreportedDropsOfLive(ring);
    if (drops.length === 0) return;
    target.flush();
    const now = ring.clock.read(0);
    for (const [lane, n] of drops) {
      unreported += n;
      target.lost(lane, n, now);
    }
  };
  let lastFlush = performance.now();
  let lastCheck = lastFlush;
  let activeUntil = 0; // sleeps are short until then (see TAIL_WAIT_MS)
  try {
    while (signal?.aborted !== true) {
      target.pump();
      const now = performance.now();
      if (now - lastCheck >= checkMs) {
        lastCheck = now;
        reclaim(false);
        // Checked after the reclaim and a pump: what the last writers committed is moved below.
        if (stopWhenNoWriters?.() === true && liveWriters(ring).length === 0) break;
      }
      if (now - lastFlush >= flushMs) {
        lastFlush = now;
        target.flush();
      }
      const slept = performance.now();
      const timeoutMs = Math.min(tailWaitMs > 0 && slept < activeUntil ? tailWaitMs : 100, flushMs, checkMs);
      await target.waitForPages({ timeoutMs, wakeRecords, ...(signal ? { signal } : {}) });
      const woke = performance.now();
      // Ended early: woken by commits (a timer may fire up to a millisecond before its time).
      if (woke - slept < timeoutMs - 1) activeUntil = woke + ACTIVE_MS;
    }
  } finally {
    try {
      reclaim(true);
    } finally {
      target.close();
    }
  }
  return { reclaimed, abandoned, unreported };
}

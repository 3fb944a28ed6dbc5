/**
 * Exactly one drain process per file ring: a pid file beside the ring (`<ring>.drain`), taken
 * atomically and checked for liveness, so a drain that was SIGKILLed does not keep its ring from
 * being drained again.
 *
 * Why a pid file and not the ring's consumer claim (L_CONSUMER) alone: the claim is a bare word
 * with no owner, so a dead drain's claim can never be told from a live one's. The pid file says
 * who holds the ring; whoever takes it over from a dead holder also frees that holder's consumer
 * claims ({@link releaseStaleConsumerClaims}). The claim still guards the lanes: a second drain
 * that got past the lock by a bug could not consume beside the first.
 *
 * Taking the lock: the pid is written to a temporary file that is then hard-linked to the lock
 * path (atomic, fails if it exists), so nobody ever reads a half-written lock. A lock whose pid is
 * not running is stale; it is removed only under a second exclusive file (`<ring>.drain.steal`)
 * after reading it again, so two processes that both saw the same dead pid cannot remove each
 * other's fresh lock. The steal file names its maker: it is removed as stale only when that
 * process is gone (it died while stealing), or when it is older than {@link STEAL_STALE_MS}; a
 * maker that is merely slow (a loaded machine can pause a process for seconds) keeps it, because
 * removing the steal file of a stealer still at work lets two processes remove and take the lock.
 */
import { closeSync, linkSync, openSync, readFileSync, statSync, unlinkSync, writeFileSync, writeSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { CONSUMER_SINGLE, L_CONSUMER, laneOffset } from "../layout.js";
import type { RingBuffer } from "../ring.js";
import { processAlive } from "./producers.js";

/** A steal file older than this (ms) is stale even if its maker runs (a pid reused since). */
const STEAL_STALE_MS = 30_000;
/** A steal file without a pid (being written, or damaged) is stale after this many ms. */
const STEAL_UNNAMED_STALE_MS = 2000;
/** Tries to take the lock before giving up (each after a stale lock was removed, or a race lost). */
const MAX_TRIES = 100;

/** The lock file of the drain of the ring at `ringPath`. */
export function drainLockPath(ringPath: string): string {
  return `${ringPath}.drain`;
}

/** The pid in a lock file, or undefined if there is none (no file, or not a pid: a damaged one counts as stale, 0). */
function readHolder(lock: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(lock, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
  const pid = Number(text.trim());
  return Number.isInteger(pid) && pid > 0 ? pid : 0;
}

/** The pid of the live drain process serving the ring at `ringPath`, or undefined when none is. */
export function drainHolder(ringPath: string): number | undefined {
  const pid = readHolder(drainLockPath(ringPath));
  return pid !== undefined && pid > 0 && processAlive(pid) ? pid : undefined;
}

/** A held drain lock. */
export interface DrainLock {
  /** True when the previous holder had died without releasing it (its consumer claims are stale). */
  readonly tookOver: boolean;
  /** Whether the lock file still names this process. */
  held(): boolean;
  /** Remove the lock (if it still names this process). */
  release(): void;
}

function sleepMs(ms: number): void {
  // A plain sleep: a wait on a private word nobody notifies; it orders nothing.
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Take the drain lock of the ring at `ringPath` for this process, or return undefined when a live
 * process holds it. Throws the fs error when the directory cannot be written.
 *
 * @example
 * ```ts
 * const lock = acquireDrainLock("/dev/shm/app.ring");
 * if (lock === undefined) process.exit(0); // another drain serves it
 * try { ... } finally { lock.release(); }
 * ```
 */
export function acquireDrainLock(ringPath: string): DrainLock | undefined {
  const lock = drainLockPath(ringPath);
  const me = process.pid;
  const tmp = `${lock}.${me}.${randomBytes(6).toString("hex")}.tmp`;
  writeFileSync(tmp, `${me}\n`, { mode: 0o600 });
  let tookOver = false;
  try {
    for (let i = 0; i < MAX_TRIES; i++) {
      try {
        linkSync(tmp, lock);
        return makeLock(lock, tookOver);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      }
      const holder = readHolder(lock);
      if (holder === undefined) continue; // released meanwhile: try again
      if (holder === me) return makeLock(lock, tookOver);
      if (holder > 0 && processAlive(holder)) return undefined;
      if (removeStale(lock, holder)) tookOver = true;
      else sleepMs(5);
    }
    throw new Error(`Cannot take the drain lock ${lock}: it kept changing hands over ${MAX_TRIES} tries`);
  } finally {
    unlinkSync(tmp);
  }
}

/** Remove `lock` if it still names the dead `holder`, under the steal file. False when another process is stealing. */
function removeStale(lock: string, holder: number): boolean {
  const steal = `${lock}.steal`;
  let fd: number;
  try {
    fd = openSync(steal, "wx", 0o600);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    try {
      const age = Date.now() - statSync(steal).mtimeMs;
      const maker = readHolder(steal);
      const stale = maker === undefined ? false : maker > 0 ? !processAlive(maker) || age > STEAL_STALE_MS : age > STEAL_UNNAMED_STALE_MS;
      if (stale) unlinkSync(steal);
    } catch {
      // gone meanwhile
    }
    return false;
  }
  try {
    writeSync(fd, `${process.pid}\n`);
  } finally {
    closeSync(fd);
  }
  try {
    if (readHolder(lock) === holder) unlinkSync(lock);
    return true;
  } finally {
    unlinkSync(steal);
  }
}

function makeLock(lock: string, tookOver: boolean): DrainLock {
  const me = process.pid;
  return {
    tookOver,
    held: () => readHolder(lock) === me,
    release: () => {
      if (readHolder(lock) !== me) return;
      try {
        unlinkSync(lock);
      } catch {
        // gone
      }
    },
  };
}

/**
 * Free the single-consumer claims (L_CONSUMER) that a dead drain left on the ring's lanes. Only
 * for the holder of the drain lock that took it over from a dead process: nobody else consumes.
 * Returns the lanes freed.
 */
export function releaseStaleConsumerClaims(ring: RingBuffer): number {
  const g = ring.geometry;
  let freed = 0;
  for (let lane = 0; lane < g.lanes; lane++) {
    const idx = (laneOffset(g, lane) + L_CONSUMER) >> 2;
    // Free the dead consumer's claim; the constructor of our consumer claims it again with a compareExchange.
    if (Atomics.compareExchange(ring.core.i32, idx, CONSUMER_SINGLE, 0) === CONSUMER_SINGLE) freed++;
  }
  return freed;
}

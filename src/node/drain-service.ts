/**
 * The drain process of a file ring (LTTng's consumer daemon for log lines and spans): it holds the
 * ring's drain lock (drain-lock.ts: exactly one per ring), consumes every lane with
 * {@link drainRing} (the loop `urb record` uses: pump, flush, reclaim of dead writers by pid)
 * into a record sink (pino's transport targets, or a span exporter), and exits when no writer is
 * left (after a linger), or keeps serving with `keep`. It is the only process that touches the
 * sinks; the writers only write into the mapped ring, so their death loses nothing they committed.
 *
 * Hand-over without a gap: a drain that finds no writer releases the lock and then looks for
 * writers once more; writers register in the ring before they look at the lock
 * ({@link ensureDrain}). So a writer that arrives while the drain leaves either saw the lock free
 * (and started a new drain) or is seen by the leaving drain (which takes the lock again).
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { closeSync, existsSync, openSync, statSync, unlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { RingBuffer } from "../ring.js";
import { type DrainReport, drainRing, liveWriters } from "./drain.js";
import { type DrainLock, acquireDrainLock, drainHolder, releaseStaleConsumerClaims } from "./drain-lock.js";
import { createFileRing, type FileRingOptions, openFileRing } from "./file-ring.js";
import { type PinoDrainConfig, pinoSink } from "./pino-sink.js";
import { RecordDrainTarget, type RecordSink } from "./record-drain.js";
import { type SpanDrainConfig, spanSink } from "./span-sink.js";

/** What a drain process feeds: pino's transport targets, or a span exporter. */
export type DrainConfig = { pino: PinoDrainConfig; otel?: undefined } | { otel: SpanDrainConfig; pino?: undefined };

/** Options of {@link serveDrain}. */
export interface ServeDrainOptions {
  /** Keep serving when no writer is left (until `signal` aborts). Default false: exit after `lingerMs` without writers. */
  keep?: boolean;
  /** How long (ms) to wait for a new writer once none is left, before exiting. Default 500. */
  lingerMs?: number;
  /** Stop (after draining what is committed) when this aborts. */
  signal?: AbortSignal;
  /** Move the committed part of unfinished pages at least this often. Default 100 ms (log lines should not wait long). */
  flushMs?: number;
  /** One line of news (a dead writer reclaimed, lines lost). Default: nothing. */
  log?: (line: string) => void;
}

/** What a drain process did. */
export interface ServeDrainReport {
  /** Records handed to the sink. */
  readonly records: number;
  /** Records the writers dropped (a full ring) and the drain reported. */
  readonly lost: number;
  /** Dead writers reclaimed. */
  readonly reclaimed: number;
  /** Spans of batches the exporter failed after every retry (span drains). */
  readonly failed: number;
}

/**
 * Serve the ring at `ringPath` with the sink of `config`, unless a live drain already does
 * (then resolves with undefined at once). Resolves when no writer is left (or `signal` aborted),
 * after every committed record reached the sink and the sink closed.
 *
 * @example
 * ```ts
 * const report = await serveDrain("/dev/shm/app.ring", { pino: { worker, targets: [{ target: fileJs, options: { destination: "app.log" } }] } });
 * ```
 */
export async function serveDrain(ringPath: string, config: DrainConfig, options: ServeDrainOptions = {}): Promise<ServeDrainReport | undefined> {
  const linger = options.lingerMs ?? 500;
  const log = options.log ?? (() => {});
  let lock: DrainLock | undefined;
  try {
    lock = acquireDrainLock(ringPath);
  } finally {
    endStartClaim(ringPath);
  }
  if (lock === undefined) return undefined;
  let records = 0;
  let lost = 0;
  let reclaimed = 0;
  let failed = 0;
  try {
    const ring = openFileRing(ringPath);
    let target: RecordDrainTarget | undefined;
    let sink: RecordSink | undefined;
    for (;;) {
      if (target === undefined || sink === undefined) {
        if (lock.tookOver) {
          const n = releaseStaleConsumerClaims(ring);
          if (n > 0) log(`took over from a drain that died: freed its claim on ${n} lanes; continuing where it stopped`);
        }
        sink = await buildSink(ring, config);
        target = new RecordDrainTarget(ring, sink);
      }
      let idleSince: number | undefined;
      let report: DrainReport;
      try {
        report = await drainRing(ring, target, {
          ...(options.signal ? { signal: options.signal } : {}),
          flushMs: options.flushMs ?? 100,
          checkMs: 100,
          stopWhenNoWriters: () => {
            if (options.keep === true || liveWriters(ring).length > 0) {
              idleSince = undefined;
              return false;
            }
            idleSince ??= performance.now();
            return performance.now() - idleSince >= linger;
          },
          onReclaimed: (p) => log(`writer pid ${p.tag} is gone: reclaimed${p.abandoned > 0 ? ` (${p.abandoned} reservations it never committed discarded)` : ""}`),
        });
      } catch (e) {
        // A sink that failed: still free the lanes (our consumer claims) for the next drain, then report the failure.
        await target.finish().catch(() => {});
        throw e;
      }
      reclaimed += report.reclaimed;
      // A writer came while this drain was leaving: serve it on with the same target (what was
      // delivered stays delivered; the lock is still ours).
      if (options.signal?.aborted !== true && liveWriters(ring).length > 0) continue;
      // No writer left: none can commit behind what was delivered, so every page can go (else
      // they stay for the next drain, which delivers them again).
      await target.finish(() => liveWriters(ring).length === 0);
      records += target.taken;
      lost += sink.lost;
      failed += sink.failed;
      if (sink.lost > 0) log(`${sink.lost} records lost: ${target.undelivered > 0 ? `${target.undelivered} taken in the drain's last instant, the rest ` : ""}dropped by writers of the full ring (the drain did not keep up)`);
      target = undefined;
      // Hand-over: release, then look once more (see the module comment).
      lock.release();
      lock = undefined;
      if (options.signal?.aborted === true || liveWriters(ring).length === 0) break;
      lock = acquireDrainLock(ringPath);
      if (lock === undefined) break; // a new drain took it
    }
  } finally {
    lock?.release();
  }
  return { records, lost, reclaimed, failed };
}

async function buildSink(ring: RingBuffer, config: DrainConfig): Promise<RecordSink> {
  if (config.pino !== undefined) return pinoSink(ring, config.pino);
  if (config.otel !== undefined) return spanSink(ring, config.otel);
  throw new TypeError("Cannot serve a drain: the config has neither pino nor otel");
}

/** Ring geometry of the rings `ringTransport()` and `ringSpanProcessor()` create: 8 MiB per lane, lines up to 16 KiB. */
export const DRAIN_RING_DEFAULTS: FileRingOptions = { lanes: 4, sharedLanes: 1, pageSize: 32768, pagesPerLane: 256, mode: "discard" };

/**
 * The default ring path of an integration: one per user, working directory and configuration, in
 * /dev/shm (memory) where it exists, so the processes of one application started alike (a cluster)
 * share one ring and one drain.
 */
export function defaultRingPath(kind: string, config: unknown): string {
  const dir = existsSync("/dev/shm") ? "/dev/shm" : tmpdir();
  const key = createHash("sha256").update(`${process.cwd()}\0${JSON.stringify(config)}`).digest("hex").slice(0, 16);
  const uid = typeof process.getuid === "function" ? process.getuid() : 0;
  return join(dir, `urb-${kind}-${uid}-${key}.ring`);
}

/** Open the file ring at `path`, or create it with `options` when there is none (another process may win the race: then open its). */
export function openOrCreateFileRing(path: string, options: FileRingOptions): RingBuffer {
  for (let i = 0; i < 3; i++) {
    try {
      return openFileRing(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    }
    try {
      return createFileRing(path, options);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
  }
  return openFileRing(path);
}

/** A start claim older than this (ms) was left by a drain that never got to take the lock. */
const START_STALE_MS = 5000;

/** The file that says a drain is being started for the ring (so that the processes of a cluster start one, not one each). */
function startClaimPath(ringPath: string): string {
  return `${ringPath}.drain.starting`;
}

/** Claim the start of a drain for the ring: false when another process started one less than START_STALE_MS ago. */
function claimStart(ringPath: string): boolean {
  const path = startClaimPath(ringPath);
  for (let i = 0; i < 2; i++) {
    try {
      closeSync(openSync(path, "wx", 0o600));
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    try {
      if (Date.now() - statSync(path).mtimeMs < START_STALE_MS) return false;
      unlinkSync(path); // its drain never started: claim again
    } catch {
      // removed meanwhile: claim again
    }
  }
  return false;
}

/** The drain started for the ring holds its lock (or found another drain holding it): the next start may be claimed. */
function endStartClaim(ringPath: string): void {
  try {
    unlinkSync(startClaimPath(ringPath));
  } catch {
    // not there (started by hand, or removed as stale)
  }
}

/** Rings this process keeps served (path -> config), checked by one unref'd timer. */
const watched = new Map<string, DrainConfig>();
/** How often a writer process checks that a drain serves its rings, in ms. */
const WATCH_MS = 1000;

/**
 * {@link ensureDrain} now, and again every second while this process runs (an unref'd timer: it
 * never keeps the process alive), so a drain that died is replaced and picks up where it stopped
 * (its consumer's position is the ring's tail, in the ring).
 */
export function keepDrained(ringPath: string, config: DrainConfig): void {
  ensureDrain(ringPath, config);
  if (watched.size === 0) {
    setInterval(() => {
      for (const [path, c] of watched) {
        try {
          ensureDrain(path, c);
        } catch {
          // the ring's directory is gone or unwritable: nothing this process can do about it
        }
      }
    }, WATCH_MS).unref();
  }
  watched.set(ringPath, config);
}

/** The `urb` executable of this package (dist/src/cli/main.js). */
const URB_MAIN = new URL("../cli/main.js", import.meta.url);

/**
 * Start a detached drain process (`urb drain`) for the ring at `ringPath` unless a live one
 * serves it. Call it after this process's writer is registered in the ring (see the module
 * comment). The drain's stderr goes to `<ringPath>.drain.log`. Returns the pid started, or
 * undefined when a drain was already serving.
 */
export function ensureDrain(ringPath: string, config: DrainConfig): number | undefined {
  if (drainHolder(ringPath) !== undefined || !claimStart(ringPath)) return undefined;
  const err = openSync(`${ringPath}.drain.log`, "a", 0o600);
  try {
    const child = spawn(process.execPath, [fileURLToPath(URB_MAIN), "drain", ringPath, "--config-json", JSON.stringify(config)], {
      detached: true, // its own process group: a signal to the application's group does not reach it
      stdio: ["ignore", "ignore", err],
      env: { ...process.env, NODE_OPTIONS: "" }, // not the application's preloads (urb record's, a tracer's)
    });
    child.unref();
    return child.pid;
  } finally {
    closeSync(err);
  }
}

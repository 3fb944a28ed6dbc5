/**
 * What the torture writers and the torture reader agree on: the payload format, the checksum, the
 * seeded PRNG, the control words and the messages. No ring code here.
 *
 * Payload of every data record (little-endian, the payload offset is 8-aligned):
 *
 * ```
 *  0  u32  writerId
 *  4  u32  seq        per-writer attempt number; DISCARD_SEQ in a reservation that will be discarded
 *  8  u32  length     the payload length the writer reserved (must equal record.length)
 * 12  u32  checksum   FNV-1a over bytes [0, 12) and [16, length)
 * 16  ...  filler     PRNG bytes
 * ```
 *
 * Sequence numbers: a writer numbers its *attempts* 0, 1, 2, ... An attempt is a reservation that
 * is meant to be committed, or any reservation that was dropped (reserve() returned -1, whatever
 * its intended fate). A reservation that succeeds and is then discarded consumes no number. So
 * seq = committed + dropped, and for each writer the reader sees every committed number (or a
 * loss marker covering it) and never a discarded one.
 */

/** Bytes of the fixed payload header. */
export const PAYLOAD_HEADER = 16;
/** seq value written into reservations that will be discarded (they must never be read). */
export const DISCARD_SEQ = 0xffffffff;
/** Event type used for reservations that will be discarded. */
export const DISCARD_TYPE = 8191;

/** The record type a committed record of (writerId, seq) carries: a second integrity check. */
export function typeFor(writerId: number, seq: number): number {
  return 1 + ((Math.imul(writerId, 131) + seq) >>> 0) % 8000;
}

/** FNV-1a (32-bit) over `b[start, end)`, continuing from `h`. */
export function fnv1a(b: Uint8Array, start: number, end: number, h = 0x811c9dc5): number {
  for (let i = start; i < end; i++) {
    h = Math.imul(h ^ (b[i] as number), 0x01000193);
  }
  return h >>> 0;
}

/** Checksum of a payload `b[at, at + length)`: FNV-1a over everything but the checksum field. */
export function payloadChecksum(b: Uint8Array, at: number, length: number): number {
  const h = fnv1a(b, at, at + 12);
  return fnv1a(b, at + PAYLOAD_HEADER, at + length, h);
}

/** mulberry32: small, fast, seeded; returns a u32 per call. */
export class Prng {
  #s: number;
  constructor(seed: number) {
    this.#s = seed >>> 0;
  }
  u32(): number {
    this.#s = (this.#s + 0x6d2b79f5) | 0;
    let t = this.#s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  /** Uniform in [0, 1). */
  float(): number {
    return this.u32() / 4294967296;
  }
  /** Uniform integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + (this.u32() % (hi - lo + 1));
  }
}

/** Seed of writer `writerId` in a run seeded `seed`. */
export function writerSeed(seed: number, writerId: number): number {
  return (seed ^ Math.imul(writerId + 1, 0x9e3779b9)) >>> 0;
}

// Control words (an Int32Array over a small SharedArrayBuffer shared by main and the workers).
/** Main sets 1 when every writer is attached and may start (workers Atomics.wait on it). */
export const CTRL_GO = 0;
/** Main sets 1 to ask timed writers to stop. */
export const CTRL_STOP = 1;
/** Main sets 1 once every writer has finished: group members read until the lanes are empty, then stop. */
export const CTRL_DRAIN = 2;
export const CTRL_WORDS = 4;

/** What main tells each worker. */
export interface WorkerConfig {
  buffer: SharedArrayBuffer;
  ctrl: SharedArrayBuffer;
  writerId: number;
  /** "own": claim a free per-thread lane; a number: that lane (per-thread or shared). */
  lane: "own" | number;
  seed: number;
  /** Attempts (seqs) to make; 0 = until CTRL_STOP. */
  records: number;
  minSize: number;
  maxSize: number;
  /** Probability that an iteration is a nested group of 2 or 3 reservations. */
  nestProb: number;
  /** Probability that a reservation is discarded instead of committed. */
  discardProb: number;
  /** Probability that a record is written with w.write() instead of reserve/commit. */
  writeProb: number;
  /** Probability that a writer holds its open reservation(s) for a while (a slow writer) before finishing. */
  holdProb: number;
  /** How long such a hold sleeps (ms, fractional; Atomics.wait on a private word). */
  holdMs: number;
  /**
   * Probability that a reservation uses reserveWaiting() (a wait of at most 2 ms for room, then a
   * plain reserve(), which counts the drop) instead of reserve().
   */
  waitProb: number;
  /** Give up flushing pending drops after this many ms. */
  flushTimeoutMs: number;
  /**
   * Self-test of the checks: "checksum" corrupts the checksum of the first committed record from seq 1000 on,
   * "seq-skip" skips seq 1000 (a gap no loss marker explains). Default: none.
   */
  inject: "none" | "checksum" | "seq-skip";
  /** The ring is a file ring (shared with writer processes): attach with its cross-process wake channel. */
  fileRing: boolean;
}

/** An exception a ring call threw in a worker (the worker records it and carries on). */
export interface WriterException {
  seq: number;
  call: string;
  message: string;
  stack: string;
}

/** A worker's final report. */
export interface WriterTotals {
  writerId: number;
  lane: number;
  producerId: number;
  /** Sequence numbers consumed: committed + dropped. */
  attempted: number;
  committed: number;
  /**
   * The largest seq of a committed record, or -1. Drops after it (the writer's last reservation may
   * be one it discards, which reports them in-band but carries no seq) leave no gap a reader sees.
   */
  lastCommittedSeq: number;
  /** Reservations that succeeded and were discarded (no seq). */
  discarded: number;
  /** w.dropped at the end. */
  dropped: number;
  /** Drops the worker counted itself (reserve() returned -1); must equal `dropped`. */
  droppedSeen: number;
  /** Drops not yet reported in-band when the worker finished (0 unless the flush timed out). */
  pending: number;
  /** Reservations that were nested inside another open one. */
  nested: number;
  /** Reservations held open deliberately long. */
  held: number;
  /** Records written with w.write(). */
  viaWrite: number;
  /** Final flush attempts (after the timed/counted loop) until the last attempt succeeded. */
  flushAttempts: number;
  payloadBytes: number;
  elapsedMs: number;
  /** Exceptions thrown by reserve()/write() (each counted, the first few kept). Must be 0. */
  exceptionCount: number;
  exceptions: WriterException[];
}

export type WorkerMessage =
  | { type: "ready"; writerId: number; lane: number; producerId: number }
  | { type: "done"; totals: WriterTotals }
  | { type: "error"; writerId: number; message: string; stack: string };

/** What main tells each consumer-group member (group-worker.ts). */
export interface GroupMemberConfig {
  buffer: SharedArrayBuffer;
  ctrl: SharedArrayBuffer;
  member: number;
  /** ms the member sleeps after each read batch (0: none). */
  readerDelay: number;
  /** Records per read() call. */
  readBatch: number;
  /** The ring is a file ring: attach with its cross-process wake channel. */
  fileRing: boolean;
}

export type GroupMessage =
  | { type: "ready"; member: number }
  | { type: "records"; member: number; batch: ArrayBuffer; count: number }
  | { type: "done"; member: number; records: number; reads: number }
  | { type: "error"; member: number; message: string; stack: string };

/**
 * A group member's records travel to main in batches, each record as a 40-byte header then its
 * payload, padded to 8 bytes:
 *
 * ```
 *  0 u32 kind (0 data, 1 lost)    4 u32 lane    8 u32 type    12 u32 length
 * 16 f64 timestamp               24 f64 lost   32 u32 cause (0 none, 1 overrun, 2 dropped)   36 u32 0
 * 40 payload (length bytes), zero padding to a multiple of 8
 * ```
 */
export const BATCH_ENTRY_HEADER = 40;
const CAUSES = ["", "overrun", "dropped"] as const;

/** Append a record to a batch; returns the new end (the caller makes room: BATCH_ENTRY_HEADER + length + 8). */
export function encodeBatchEntry(
  dv: DataView,
  at: number,
  r: { kind: string; lane: number; type: number; timestamp: number; lost: number; cause: string; bytes: Uint8Array; offset: number; length: number },
): number {
  dv.setUint32(at, r.kind === "lost" ? 1 : 0, true);
  dv.setUint32(at + 4, r.lane, true);
  dv.setUint32(at + 8, r.type, true);
  dv.setUint32(at + 12, r.kind === "lost" ? 0 : r.length, true);
  dv.setFloat64(at + 16, r.timestamp, true);
  dv.setFloat64(at + 24, r.lost, true);
  dv.setUint32(at + 32, Math.max(0, CAUSES.indexOf(r.cause as (typeof CAUSES)[number])), true);
  dv.setUint32(at + 36, 0, true);
  if (r.kind === "lost") return at + BATCH_ENTRY_HEADER;
  new Uint8Array(dv.buffer, dv.byteOffset + at + BATCH_ENTRY_HEADER, r.length).set(r.bytes.subarray(r.offset, r.offset + r.length));
  return at + BATCH_ENTRY_HEADER + ((r.length + 7) & ~7);
}

/** A decoded batch entry (reused per call). */
export interface BatchRecord {
  kind: "data" | "lost";
  lane: number;
  type: number;
  timestamp: number;
  lost: number;
  cause: "" | "overrun" | "dropped";
  bytes: Uint8Array;
  offset: number;
  length: number;
}

/** Call `visit` for each record of a batch, in order. */
export function decodeBatch(batch: ArrayBuffer, visit: (r: BatchRecord) => void): void {
  const dv = new DataView(batch);
  const bytes = new Uint8Array(batch);
  const r: BatchRecord = { kind: "data", lane: 0, type: 0, timestamp: 0, lost: 0, cause: "", bytes, offset: 0, length: 0 };
  for (let at = 0; at + BATCH_ENTRY_HEADER <= batch.byteLength; ) {
    r.kind = dv.getUint32(at, true) === 1 ? "lost" : "data";
    r.lane = dv.getUint32(at + 4, true);
    r.type = dv.getUint32(at + 8, true);
    r.length = dv.getUint32(at + 12, true);
    r.timestamp = dv.getFloat64(at + 16, true);
    r.lost = dv.getFloat64(at + 24, true);
    r.cause = CAUSES[dv.getUint32(at + 32, true)] ?? "";
    r.offset = at + BATCH_ENTRY_HEADER;
    visit(r);
    at += BATCH_ENTRY_HEADER + ((r.length + 7) & ~7);
  }
}

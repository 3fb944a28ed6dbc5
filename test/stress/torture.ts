/**
 * Multi-thread torture of the ring: N per-thread-lane writers and M shared-lane writers (worker
 * threads, see torture-worker.ts) write as fast as they can while the main thread consumes, the
 * realistic arrangement. Every record is checked as it is read, and the books are balanced exactly
 * once all writers have finished and the reader has drained the ring.
 *
 * Per record (the failure names are the `check` of a {@link TortureFailure}):
 *  - `payload-length`: record.length equals the length the writer put in the payload;
 *  - `checksum`: the FNV-1a checksum matches (no torn, stale or corrupt record);
 *  - `writer-id`, `lane`, `type`: the writer exists, wrote to this lane, with this type;
 *  - `discarded-delivered`: a reservation that was discarded is never handed out;
 *  - `duplicate`: a (writerId, seq) is handed out at most once;
 *  - `order`: per writer, seq strictly increases;
 *  - `own-lane-gap` (per-thread lanes, where the lane's lost markers all come from its one writer):
 *    discard mode: the seq gap before a record equals the lost markers since the lane's previous
 *    record, exactly; overwrite mode: the lost markers never exceed the gap (the difference is
 *    drops whose in-band LOST record was itself overwritten);
 *  - `time-order`: timestamps never go back per writer, nor per lane on per-thread lanes (and on
 *    shared lanes with the counter clock);
 *  - `lost-count`: a lost marker carries a positive integer count (not NaN, not 0).
 *
 * Exact accounting at the end (see {@link checkBooks}). The ring reports loss in two ways that the
 * reader cannot tell apart: in-band LOST records (drops, counted by the writer and written before
 * its next successful reservation) and "lapped" markers (the consumer found its page overwritten;
 * the count comes from the page cumulatives). Drops still pending in a writer when it stops are
 * invisible to the reader, so each worker ends with a flush: it keeps attempting committed records
 * (napping while the main thread consumes) until one succeeds, and that one carries the LOST
 * record; it reports `pending` (0 unless the flush timed out, which is itself a failure). Then:
 *  - discard mode (no overwriting): reader data == committed, reader lost == dropped == stats
 *    dropped, exactly, per writer (seq gaps == w.dropped), per lane and in total;
 *  - overwrite mode: committed == reader data + stats overrun, exactly, per lane; reader lost ==
 *    overrun + the in-band drop reports that survived, so overrun <= lost <= overrun + dropped,
 *    and lost == overrun exactly on every lane whose writers dropped nothing.
 *  - both: stats written == committed, stats read == reader data, inRing == 0, abandoned == 0.
 */
import { Worker } from "node:worker_threads";
import { setImmediate as yieldNow, setTimeout as sleep } from "node:timers/promises";
import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRing, type RingReader, type RingRecord, type RingStats } from "../../src/index.js";
import { openTraceFile, pipeToFile } from "../../src/node/index.js";
import {
  CTRL_GO,
  CTRL_STOP,
  CTRL_WORDS,
  DISCARD_SEQ,
  PAYLOAD_HEADER,
  type WorkerConfig,
  type WorkerMessage,
  type WriterTotals,
  payloadChecksum,
  typeFor,
} from "./protocol.js";

export interface TortureOptions {
  mode: "overwrite" | "discard";
  /** Run the writers this long (one of seconds / records is required). */
  seconds?: number;
  /** Or: attempts per writer. */
  records?: number;
  /** Writers on per-thread lanes (one lane each). */
  ownWriters: number;
  /** Writers on shared lanes (spread round-robin over them). */
  sharedWriters: number;
  sharedLanes: number;
  pageSize: number;
  pagesPerLane: number;
  seed: number;
  /** ms the reader sleeps after each read batch (0: only yields to the event loop). */
  readerDelay: number;
  /** Records per read() call (default: all available). */
  readBatch?: number;
  clock?: "mono" | "counter";
  /** Payload sizes, uniform in [minSize, maxSize] (clamped to 16 .. the ring's max payload). Default 16..200. */
  minSize?: number;
  maxSize?: number;
  nestProb?: number;
  discardProb?: number;
  writeProb?: number;
  holdProb?: number;
  holdMs?: number;
  /** Failures kept with details per check (all are counted). Default 5. */
  maxFailures?: number;
  /** Abort (and fail) if the writers have not all finished this long after the planned end. Default 60000. */
  watchdogMs?: number;
  /** Self-test: make the writers break the protocol on purpose (see WorkerConfig.inject). */
  inject?: "none" | "checksum" | "seq-skip";
  /**
   * How records leave the ring: `reader` (a consumer's read(), checked as it goes) or `pipe` (page
   * hand-off to a trace file in the OS temp dir, with periodic flushes; the file is checked after
   * the run with the same checks). Default `reader`.
   */
  via?: "reader" | "pipe";
}

/** One failed check, with the record that failed it. */
export interface TortureFailure {
  check: string;
  message: string;
  record?: RecordSnapshot;
}

export interface RecordSnapshot {
  kind: string;
  lane: number;
  type: number;
  timestamp: number;
  length: number;
  lost: number;
  writerId?: number;
  seq?: number;
  lengthField?: number;
  checksum?: number;
  computedChecksum?: number;
  /** First bytes of the payload, hex. */
  head?: string;
  /** Records (data + lost) the reader had handed out before this one. */
  index: number;
}

export interface LaneTally {
  lane: number;
  kind: "own" | "shared";
  writers: number[];
  data: number;
  bytes: number;
  lostMarkers: number;
  lostTotal: number;
  /** Shared lanes with the mono clock: timestamps that went back in lane order (threads' clocks differ by ~100 ns; informational). */
  timeInversions: number;
}

export interface WriterTally {
  writerId: number;
  lane: number;
  seen: number;
  lastSeq: number;
  /** Sum over read records of (seq - previous seq - 1). */
  gaps: number;
  /** Per-thread lanes: seq gaps not covered by lost markers (overwrite mode: drops whose LOST record was overwritten). */
  unexplained: number;
}

export interface TortureResult {
  ok: boolean;
  options: Required<Omit<TortureOptions, "seconds" | "records">> & { seconds?: number; records?: number };
  elapsedMs: number;
  writers: WriterTotals[];
  writerTallies: WriterTally[];
  lanes: LaneTally[];
  reader: { data: number; bytes: number; lostMarkers: number; lostTotal: number; readCalls: number };
  totals: { attempted: number; committed: number; discarded: number; dropped: number; nested: number; held: number };
  stats: RingStats | undefined;
  /** Pages entered per lane (the head page counter): each one recycled a slot once the lane wrapped. */
  pagesPerLaneEntered: number[];
  failures: TortureFailure[];
  failureCounts: Record<string, number>;
  /** The exact equalities and bounds that were checked at the end, as "name: lhs == rhs" lines. */
  books: string[];
}

const DEFAULTS = {
  readBatch: Infinity,
  clock: "mono" as const,
  minSize: PAYLOAD_HEADER,
  maxSize: 200,
  nestProb: 0.15,
  discardProb: 0.1,
  writeProb: 0.2,
  holdProb: 0.002,
  holdMs: 0.3,
  maxFailures: 5,
  watchdogMs: 60_000,
  inject: "none" as const,
};

function hex(b: Uint8Array, from: number, n: number): string {
  let s = "";
  for (let i = from; i < from + n && i < b.length; i++) s += (b[i] as number).toString(16).padStart(2, "0");
  return s;
}

function u32(b: Uint8Array, o: number): number {
  return ((b[o] as number) | ((b[o + 1] as number) << 8) | ((b[o + 2] as number) << 16) | ((b[o + 3] as number) << 24)) >>> 0;
}

/** Growable bitset of the seqs seen from one writer. */
class SeqSet {
  bits = new Uint8Array(1 << 16);
  has(seq: number): boolean {
    const i = seq >>> 3;
    return i < this.bits.length && ((this.bits[i] as number) & (1 << (seq & 7))) !== 0;
  }
  add(seq: number): void {
    const i = seq >>> 3;
    if (i >= this.bits.length) {
      let n = this.bits.length;
      while (n <= i) n *= 2;
      const next = new Uint8Array(n);
      next.set(this.bits);
      this.bits = next;
    }
    this.bits[i] = (this.bits[i] as number) | (1 << (seq & 7));
  }
}

export async function runTorture(input: TortureOptions): Promise<TortureResult> {
  const o = { ...DEFAULTS, ...input };
  if ((o.seconds === undefined) === (o.records === undefined)) throw new RangeError("runTorture: give exactly one of seconds, records");
  const nWriters = o.ownWriters + o.sharedWriters;
  if (nWriters === 0) throw new RangeError("runTorture: no writers");
  if (o.sharedWriters > 0 && o.sharedLanes === 0) throw new RangeError("runTorture: shared writers need sharedLanes >= 1");

  const ring = createRing({
    lanes: o.ownWriters,
    sharedLanes: o.sharedLanes,
    pageSize: o.pageSize,
    pagesPerLane: o.pagesPerLane,
    mode: o.mode,
    clock: o.clock,
    maxProducers: nWriters + 1,
    metadataBytes: 0,
  });
  const g = ring.geometry;
  const ctrlSab = new SharedArrayBuffer(CTRL_WORDS * 4);
  const ctrl = new Int32Array(ctrlSab);

  const failures: TortureFailure[] = [];
  const failureCounts: Record<string, number> = {};
  let failureTotal = 0;
  let index = 0; // records handed out so far
  const fail = (check: string, message: string, rec?: RingRecord): void => {
    failureTotal++;
    failureCounts[check] = (failureCounts[check] ?? 0) + 1;
    if ((failureCounts[check] as number) > o.maxFailures) return;
    const f: TortureFailure = { check, message };
    if (rec !== undefined) f.record = snapshot(rec, index);
    failures.push(f);
  };

  // ---- per-lane and per-writer reader state
  const lanes: LaneTally[] = [];
  for (let l = 0; l < g.lanes; l++) {
    lanes.push({ lane: l, kind: l < g.ownLanes ? "own" : "shared", writers: [], data: 0, bytes: 0, lostMarkers: 0, lostTotal: 0, timeInversions: 0 });
  }
  const laneLastTime = new Float64Array(g.lanes).fill(-Infinity);
  /** Lost markers on the lane since its last data record (per-thread lanes: all from its one writer). */
  const laneLostSince = new Float64Array(g.lanes);
  const writerLane = new Int32Array(nWriters).fill(-1);
  const tallies: WriterTally[] = [];
  const seqSets: SeqSet[] = [];
  const writerLastTime = new Float64Array(nWriters).fill(-Infinity);
  for (let w = 0; w < nWriters; w++) {
    tallies.push({ writerId: w, lane: -1, seen: 0, lastSeq: -1, gaps: 0, unexplained: 0 });
    seqSets.push(new SeqSet());
  }
  const overwrite = o.mode === "overwrite";
  const strictSharedTime = o.clock === "counter";
  let readerData = 0;
  let readerBytes = 0;
  let readerLostMarkers = 0;
  let readerLost = 0;

  const visit = (rec: RingRecord): void => {
    const lane = rec.lane;
    const lt = lanes[lane];
    if (lt === undefined) {
      fail("lane", `record on lane ${lane}, which does not exist`, rec);
      index++;
      return;
    }
    if (rec.kind === "lost") {
      const n = rec.lost;
      lt.lostMarkers++;
      readerLostMarkers++;
      if (!(Number.isInteger(n) && n > 0)) {
        fail("lost-count", `lost marker with count ${n} on lane ${lane} (expected a positive integer)`, rec);
      } else {
        lt.lostTotal += n;
        readerLost += n;
        laneLostSince[lane] = (laneLostSince[lane] as number) + n;
      }
      index++;
      return;
    }
    if (rec.kind !== "data") {
      fail("kind", `record kind ${String(rec.kind)}`, rec);
      index++;
      return;
    }
    const b = rec.bytes;
    const at = rec.offset;
    const len = rec.length;
    if (len < PAYLOAD_HEADER) {
      fail("payload-length", `data record of ${len} bytes, shorter than the ${PAYLOAD_HEADER}-byte torture header`, rec);
      index++;
      return;
    }
    const writerId = u32(b, at);
    const seq = u32(b, at + 4);
    const lenField = u32(b, at + 8);
    const sum = u32(b, at + 12);
    if (lenField !== len) {
      fail("payload-length", `record.length ${len} but the writer reserved ${lenField} bytes`, rec);
      index++;
      return;
    }
    const computed = payloadChecksum(b, at, len);
    if (computed !== sum) {
      fail("checksum", `checksum 0x${sum.toString(16)} but the payload hashes to 0x${computed.toString(16)} (torn or corrupt record)`, rec);
      index++;
      return;
    }
    if (writerId >= nWriters) {
      fail("writer-id", `writerId ${writerId} but there are ${nWriters} writers`, rec);
      index++;
      return;
    }
    if (seq === DISCARD_SEQ) {
      fail("discarded-delivered", `writer ${writerId} discarded this reservation but the reader handed it out`, rec);
      index++;
      return;
    }
    if (rec.lane !== writerLane[writerId]) {
      fail("lane", `writer ${writerId} writes lane ${writerLane[writerId]} but its record came from lane ${rec.lane}`, rec);
    }
    if (rec.type !== typeFor(writerId, seq)) {
      fail("type", `type ${rec.type}, expected ${typeFor(writerId, seq)} for writer ${writerId} seq ${seq}`, rec);
    }
    const t = tallies[writerId] as WriterTally;
    const set = seqSets[writerId] as SeqSet;
    if (set.has(seq)) {
      fail("duplicate", `writer ${writerId} seq ${seq} handed out twice`, rec);
      index++;
      return;
    }
    set.add(seq);
    if (seq <= t.lastSeq) {
      fail("order", `writer ${writerId} seq ${seq} after seq ${t.lastSeq}`, rec);
    } else {
      const gap = seq - t.lastSeq - 1;
      t.gaps += gap;
      if (lt.kind === "own") {
        const lost = laneLostSince[lane] as number;
        if (overwrite ? lost > gap : lost !== gap) {
          fail(
            "own-lane-gap",
            `writer ${writerId} seq ${seq} follows seq ${t.lastSeq} (gap ${gap}) but the lane reported ${lost} lost in between` +
              (overwrite ? " (lost markers may not exceed the gap)" : " (must be equal in discard mode)"),
            rec,
          );
        }
        t.unexplained += gap - lost;
      }
      t.lastSeq = seq;
    }
    laneLostSince[lane] = 0;
    const ts = rec.timestamp;
    if (ts < (writerLastTime[writerId] as number)) {
      fail("time-order", `writer ${writerId} seq ${seq} has timestamp ${ts}, earlier than its previous record's ${writerLastTime[writerId]}`, rec);
    }
    writerLastTime[writerId] = ts;
    if (ts < (laneLastTime[lane] as number)) {
      if (lt.kind === "own" || strictSharedTime) {
        fail("time-order", `lane ${lane}: timestamp ${ts} is earlier than the lane's previous record's ${laneLastTime[lane]}`, rec);
      } else {
        lt.timeInversions++;
      }
    }
    laneLastTime[lane] = ts;
    t.seen++;
    lt.data++;
    lt.bytes += len;
    readerData++;
    readerBytes += len;
    index++;
  };

  // ---- workers
  const workerUrl = new URL("./torture-worker.js", import.meta.url);
  const workers: Worker[] = [];
  const exitPromises: Promise<void>[] = [];
  const totals: (WriterTotals | undefined)[] = new Array<WriterTotals | undefined>(nWriters).fill(undefined);
  let readyCount = 0;
  let finished = 0; // done, errored or exited
  const exited = new Set<number>();
  let readyResolve: () => void = () => {};
  const allReady = new Promise<void>((resolve) => (readyResolve = resolve));
  const markFinished = (id: number) => {
    if (exited.has(id)) return;
    exited.add(id);
    finished++;
    if (readyCount < nWriters) readyResolve(); // do not wait for a writer that died before ready
  };
  for (let id = 0; id < nWriters; id++) {
    const own = id < o.ownWriters;
    const cfg: WorkerConfig = {
      buffer: ring.buffer,
      ctrl: ctrlSab,
      writerId: id,
      lane: own ? "own" : g.ownLanes + ((id - o.ownWriters) % o.sharedLanes),
      seed: o.seed,
      records: o.records ?? 0,
      minSize: o.minSize,
      maxSize: o.maxSize,
      nestProb: o.nestProb,
      discardProb: o.discardProb,
      writeProb: o.writeProb,
      holdProb: o.holdProb,
      holdMs: o.holdMs,
      flushTimeoutMs: Math.max(1000, o.watchdogMs / 2),
      inject: o.inject,
    };
    const wk = new Worker(workerUrl, { workerData: cfg });
    workers.push(wk);
    exitPromises.push(new Promise<void>((resolve) => wk.once("exit", () => resolve())));
    wk.on("message", (m: WorkerMessage) => {
      if (m.type === "ready") {
        writerLane[m.writerId] = m.lane;
        (tallies[m.writerId] as WriterTally).lane = m.lane;
        (lanes[m.lane] as LaneTally).writers.push(m.writerId);
        if (++readyCount === nWriters) readyResolve();
      } else if (m.type === "done") {
        totals[m.totals.writerId] = m.totals;
        for (const x of m.totals.exceptions) {
          fail("writer-exception", `writer ${m.totals.writerId} ${x.call} threw at seq ${x.seq}: ${shortStack(x.stack || x.message)}`);
        }
        const more = m.totals.exceptionCount - m.totals.exceptions.length;
        if (more > 0) fail("writer-exception", `writer ${m.totals.writerId}: ${more} more exceptions`);
        markFinished(id);
      } else {
        fail("worker-error", `writer ${m.writerId} threw: ${shortStack(m.stack || m.message)}`);
        markFinished(id);
      }
    });
    wk.on("error", (e: Error) => {
      fail("worker-error", `writer ${id} crashed: ${e.stack ?? e.message}`);
      markFinished(id);
    });
    wk.on("exit", (code) => {
      if (totals[id] === undefined && !exited.has(id)) fail("worker-error", `writer ${id} exited (code ${code}) without reporting`);
      markFinished(id);
    });
  }

  await allReady;
  const viaPipe = o.via === "pipe";
  const tracePath = join(tmpdir(), `urb-torture-${process.pid}-${o.seed}-${Date.now()}.urb`);
  const pipe = viaPipe ? pipeToFile(ring, tracePath, { batchPages: 8 }) : undefined;
  const consumer = viaPipe ? undefined : ring.consumer();
  let lastFlush = performance.now();
  const t0 = performance.now();
  // Publish the start signal (and the ring, created before); pairs with the workers' Atomics.load(CTRL_GO).
  Atomics.store(ctrl, CTRL_GO, 1);
  Atomics.notify(ctrl, CTRL_GO); // wake the workers sleeping in Atomics.wait(CTRL_GO); orders nothing by itself
  const stopTimer =
    o.seconds !== undefined
      ? setTimeout(() => {
          // Publish the stop request; pairs with the workers' periodic Atomics.load(CTRL_STOP).
          Atomics.store(ctrl, CTRL_STOP, 1);
        }, o.seconds * 1000)
      : undefined;

  let readCalls = 0;
  let readerBroken = false;
  const read = (max: number): number => {
    if (readerBroken) return 0;
    readCalls++;
    try {
      if (pipe !== undefined) {
        // Whole pages as they fill; a flush (page fragments) every few ms, as a live recorder does.
        const now = performance.now();
        const flush = now - lastFlush > 5 || max === Infinity;
        if (flush) lastFlush = now;
        return flush ? pipe.flush() : pipe.pump();
      }
      return (consumer as RingReader).read(visit, max);
    } catch (e) {
      readerBroken = true;
      const err = e instanceof Error ? e : new Error(String(e));
      fail("reader-error", `consumer.read() threw after ${index} records: ${err.stack ?? err.message}`);
      return 0;
    }
  };

  // ---- main loop: consume while the writers run
  const plannedEnd = o.seconds !== undefined ? t0 + o.seconds * 1000 : Infinity;
  let watchdogFired = false;
  let lastYield = performance.now();
  while (finished < nWriters) {
    const n = read(o.readBatch);
    const now = performance.now();
    if (o.readerDelay > 0) {
      await sleep(o.readerDelay);
      lastYield = performance.now();
    } else if (n === 0 || now - lastYield > 4) {
      await yieldNow(); // let the workers' messages in
      lastYield = performance.now();
    }
    const limit = (Number.isFinite(plannedEnd) ? plannedEnd : t0) + o.watchdogMs + (o.records !== undefined ? 120_000 : 0);
    if (finished < nWriters && performance.now() > limit) {
      watchdogFired = true;
      fail("watchdog", `writers had not finished ${o.watchdogMs} ms after the planned end (${finished}/${nWriters} finished)`);
      break;
    }
  }
  if (stopTimer !== undefined) clearTimeout(stopTimer);
  Atomics.store(ctrl, CTRL_STOP, 1); // publish the stop request again (records mode, watchdog); pairs with the workers' Atomics.load(CTRL_STOP)
  const elapsedMs = performance.now() - t0;

  // ---- drain: every writer has finished, everything committed is in the ring
  for (let k = 0; k < 2; ) {
    if (read(Infinity) === 0) k++;
    else k = 0;
  }
  let stats: RingStats | undefined;
  try {
    stats = ring.stats();
  } catch (e) {
    fail("stats-error", `ring.stats() threw: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  }
  consumer?.close();
  if (pipe !== undefined) {
    try {
      pipe.close();
      const trace = openTraceFile(tracePath);
      try {
        trace.read(visit);
        for (const w of trace.warnings) fail("trace-file", `${w.message} (byte ${w.byteOffset})`);
        if (!trace.intact) fail("trace-file", "the trace file was not closed cleanly");
      } finally {
        trace.close();
      }
    } catch (e) {
      readerBroken = true;
      fail("reader-error", `page hand-off to ${tracePath} failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    } finally {
      rmSync(tracePath, { force: true });
    }
  }
  if (watchdogFired) for (const wk of workers) void wk.terminate();
  await Promise.race([Promise.all(exitPromises), sleep(5000, undefined, { ref: false })]);

  const writersDone = totals.filter((t): t is WriterTotals => t !== undefined);
  const sumT = (f: (t: WriterTotals) => number) => writersDone.reduce((s, t) => s + f(t), 0);
  const books: string[] = [];
  if (writersDone.length === nWriters && !readerBroken) {
    checkBooks({ overwrite, g, lanes, tallies, totals: writersDone, stats, readerData, readerLost, fail, books });
  } else {
    fail("books", `accounting skipped: ${writersDone.length}/${nWriters} writers reported, reader ${readerBroken ? "broken" : "ok"}`);
  }

  const opts = { ...o } as TortureResult["options"];
  return {
    ok: failureTotal === 0,
    options: opts,
    elapsedMs,
    writers: writersDone,
    writerTallies: tallies,
    lanes,
    reader: { data: readerData, bytes: readerBytes, lostMarkers: readerLostMarkers, lostTotal: readerLost, readCalls },
    totals: {
      attempted: sumT((t) => t.attempted),
      committed: sumT((t) => t.committed),
      discarded: sumT((t) => t.discarded),
      dropped: sumT((t) => t.dropped),
      nested: sumT((t) => t.nested),
      held: sumT((t) => t.held),
    },
    stats,
    pagesPerLaneEntered: stats ? stats.lanes.map((l) => l.headPage) : [],
    failures,
    failureCounts,
    books,
  };
}

/** The message and the first frames of a stack. */
function shortStack(stack: string, frames = 5): string {
  return stack.split("\n").slice(0, frames + 1).join("\n");
}

function snapshot(rec: RingRecord, index: number): RecordSnapshot {
  const s: RecordSnapshot = {
    kind: rec.kind,
    lane: rec.lane,
    type: rec.type,
    timestamp: rec.timestamp,
    length: rec.length,
    lost: rec.lost,
    index,
  };
  if (rec.kind === "data" && rec.length >= PAYLOAD_HEADER) {
    const b = rec.bytes;
    s.writerId = u32(b, rec.offset);
    s.seq = u32(b, rec.offset + 4);
    s.lengthField = u32(b, rec.offset + 8);
    s.checksum = u32(b, rec.offset + 12);
    s.computedChecksum = payloadChecksum(b, rec.offset, Math.min(rec.length, b.length - rec.offset));
    s.head = hex(b, rec.offset, Math.min(rec.length, 32));
  }
  return s;
}

interface Books {
  overwrite: boolean;
  g: { lanes: number; ownLanes: number };
  lanes: LaneTally[];
  tallies: WriterTally[];
  totals: WriterTotals[];
  stats: RingStats | undefined;
  readerData: number;
  readerLost: number;
  fail: (check: string, message: string) => void;
  books: string[];
}

/** The end-of-run equalities; see the module comment. Each line checked goes into `books`. */
function checkBooks(b: Books): void {
  const { overwrite, lanes, tallies, totals, stats, fail, books } = b;
  const eq = (check: string, what: string, lhs: number, rhs: number) => {
    books.push(`${what}: ${lhs} == ${rhs}`);
    if (lhs !== rhs) fail(check, `${what}: ${lhs} != ${rhs}`);
  };
  const le = (check: string, what: string, lhs: number, rhs: number) => {
    books.push(`${what}: ${lhs} <= ${rhs}`);
    if (!(lhs <= rhs)) fail(check, `${what}: ${lhs} > ${rhs}`);
  };

  // Per writer.
  for (const t of totals) {
    const r = tallies[t.writerId] as WriterTally;
    const w = `writer ${t.writerId} (lane ${t.lane})`;
    eq("writer-self", `${w} w.dropped == drops it counted`, t.dropped, t.droppedSeen);
    eq("writer-self", `${w} attempted == committed + dropped`, t.attempted, t.committed + t.dropped);
    eq("writer-flush", `${w} drops never reported in-band`, t.pending, 0);
    const missing = t.attempted - r.seen;
    if (overwrite) {
      le("writer-seen", `${w} records read <= committed`, r.seen, t.committed);
      le("writer-missing", `${w} dropped <= seqs never read (dropped + overrun)`, t.dropped, missing);
    } else {
      eq("writer-seen", `${w} records read == committed`, r.seen, t.committed);
      eq("writer-missing", `${w} seqs never read == w.dropped`, missing, t.dropped);
      eq("writer-gaps", `${w} seq gaps seen by the reader == w.dropped`, r.gaps, t.dropped);
      eq("writer-last", `${w} last seq read == last attempt`, r.lastSeq, t.attempted - 1);
    }
    if (r.lane < b.g.ownLanes) le("own-lane-gap", `${w} seq gaps not covered by lost markers <= w.dropped`, r.unexplained, t.dropped);
  }

  // Per lane.
  for (const l of lanes) {
    const ws = totals.filter((t) => t.lane === l.lane);
    const committed = ws.reduce((s, t) => s + t.committed, 0);
    const dropped = ws.reduce((s, t) => s + t.dropped, 0);
    const st = stats?.lanes[l.lane];
    const name = `lane ${l.lane} (${l.kind})`;
    if (st === undefined) {
      fail("stats", `${name}: no stats`);
      continue;
    }
    eq("stats-written", `${name} stats.written == committed`, st.written, committed);
    eq("stats-read", `${name} stats.read == records read`, st.read, l.data);
    eq("stats-dropped", `${name} stats.dropped == writers' w.dropped`, st.dropped, dropped);
    eq("stats-abandoned", `${name} stats.abandoned == 0`, st.abandoned, 0);
    eq("stats-inring", `${name} stats.inRing == 0 after draining`, st.inRing, 0);
    if (overwrite) {
      eq("books", `${name} committed == read + stats.overrun`, committed, l.data + st.overrun);
      le("books-lost", `${name} stats.overrun <= lost reported`, st.overrun, l.lostTotal);
      le("books-lost", `${name} lost reported <= stats.overrun + dropped`, l.lostTotal, st.overrun + dropped);
      if (dropped === 0) eq("books-lost", `${name} (no drops) lost reported == stats.overrun`, l.lostTotal, st.overrun);
    } else {
      eq("books", `${name} committed == read`, committed, l.data);
      eq("books-lost", `${name} lost reported == dropped`, l.lostTotal, dropped);
      eq("stats-overrun", `${name} stats.overrun == 0`, st.overrun, 0);
    }
  }

  // Totals.
  const C = totals.reduce((s, t) => s + t.committed, 0);
  const D = totals.reduce((s, t) => s + t.dropped, 0);
  const R = b.readerData;
  const L = b.readerLost;
  if (stats !== undefined) {
    eq("stats-written", "total stats.written == committed", stats.total.written, C);
    eq("stats-read", "total stats.read == records read", stats.total.read, R);
    eq("stats-dropped", "total stats.dropped == dropped", stats.total.dropped, D);
    if (overwrite) {
      eq("books", "total committed == read + overrun", C, R + stats.total.overrun);
      le("books-lost", "total overrun <= lost", stats.total.overrun, L);
      le("books-lost", "total lost <= overrun + dropped", L, stats.total.overrun + D);
    } else {
      eq("books", "total committed + dropped == read + lost", C + D, R + L);
      eq("books-lost", "total lost == dropped", L, D);
    }
  }
}

/** A human-readable summary of a result (multi-line). */
export function describe(r: TortureResult): string {
  const o = r.options;
  const lines: string[] = [];
  lines.push(
    `torture ${o.mode}: seed ${o.seed}, ${o.ownWriters} own-lane + ${o.sharedWriters} shared-lane writers on ${o.sharedLanes} shared lane(s), ` +
      `pages ${o.pagesPerLane} x ${o.pageSize} B, clock ${o.clock}, reader delay ${o.readerDelay} ms, ` +
      (o.seconds !== undefined ? `${o.seconds} s` : `${o.records} attempts/writer`) +
      ` -> ${r.ok ? "OK" : "FAILED"} in ${(r.elapsedMs / 1000).toFixed(2)} s`,
  );
  const t = r.totals;
  lines.push(
    `  writers: attempted ${t.attempted}, committed ${t.committed}, dropped ${t.dropped}, discarded ${t.discarded}, nested ${t.nested}, held ${t.held}`,
  );
  lines.push(
    `  reader: data ${r.reader.data} (${r.reader.bytes} B), lost markers ${r.reader.lostMarkers} totalling ${r.reader.lostTotal}, read() calls ${r.reader.readCalls}`,
  );
  if (r.stats) {
    const s = r.stats.total;
    lines.push(`  stats: written ${s.written}, read ${s.read}, overrun ${s.overrun}, dropped ${s.dropped}, abandoned ${s.abandoned}, inRing ${s.inRing}`);
  }
  for (const l of r.lanes) {
    const st = r.stats?.lanes[l.lane];
    lines.push(
      `  lane ${l.lane} ${l.kind.padEnd(6)} writers [${l.writers.join(",")}]: read ${l.data}, lost ${l.lostTotal} in ${l.lostMarkers} markers, ` +
        `pages entered ${st?.headPage ?? "?"} (${st ? Math.floor(st.headPage / st.pages) : "?"} laps), overrun ${st?.overrun ?? "?"}, dropped ${st?.dropped ?? "?"}` +
        (l.kind === "shared" && l.timeInversions > 0 ? `, timestamp inversions ${l.timeInversions}` : ""),
    );
  }
  for (const w of r.writers) {
    lines.push(
      `  writer ${w.writerId} lane ${w.lane}: attempted ${w.attempted}, committed ${w.committed}, dropped ${w.dropped}, discarded ${w.discarded}, ` +
        `nested ${w.nested}, via write() ${w.viaWrite}, held ${w.held}, flush attempts ${w.flushAttempts}`,
    );
  }
  if (!r.ok) {
    lines.push(`  FAILED checks: ${JSON.stringify(r.failureCounts)}`);
    for (const f of r.failures) {
      lines.push(`  - [${f.check}] ${f.message}`);
      if (f.record) lines.push(`      record ${JSON.stringify(f.record)}`);
    }
  }
  return lines.join("\n");
}

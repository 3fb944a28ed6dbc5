/**
 * Multi-thread torture of the ring: N per-thread-lane writers and M shared-lane writers (worker
 * threads, see torture-worker.ts) write as fast as they can while records leave the ring one of
 * four ways (`via`): a consumer's read() on the main thread (`reader`), a consumer's
 * `for await` (`async`), the page hand-off to a trace file (`pipe`), or a consumer group of member
 * threads (`group`, group-worker.ts). Optionally, at the same time, iterators follow the writers
 * and snapshots are taken and read back (side-readers.ts). Every record is checked as it is seen
 * (checker.ts), and the books are balanced exactly once all writers have finished and the ring has
 * been drained.
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
 *    and lost == overrun exactly on every lane whose writers dropped nothing. (Group members are
 *    not told of overruns, FORMAT 5: for a group, lost <= dropped.)
 *  - both: stats written == committed, stats read == reader data, inRing == 0, abandoned == 0.
 *
 * Writers are threads, and optionally processes (`processes`): the ring is then a file ring in
 * /dev/shm that child processes map too, each running two writers (its own per-thread lane and a
 * shared lane, test/node/fixtures/torture-writer.ts) that make a fixed number of attempts while the
 * threads run for the time given; their records are checked with everyone else's.
 */
import { Worker } from "node:worker_threads";
import { setImmediate as yieldNow, setTimeout as sleep } from "node:timers/promises";
import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRing, type RingBuffer, type RingReader, type RingStats } from "../../src/index.js";
import { createFileRing, openTraceFile, pipeToFile, type PipeStats, type TracePipe } from "../../src/node/index.js";
import { ringPath, startChild, type Child } from "../node/children.js";
import type { TortureWriterConfig, WriterReport } from "../node/fixtures/torture-writer.js";
import { RecordChecker, type CheckerRole, type LaneTally, type RecordSnapshot, type WriterTally } from "./checker.js";
import {
  CTRL_DRAIN,
  CTRL_GO,
  CTRL_STOP,
  CTRL_WORDS,
  PAYLOAD_HEADER,
  type GroupMemberConfig,
  type GroupMessage,
  type WorkerConfig,
  type WorkerMessage,
  type WriterTotals,
  decodeBatch,
} from "./protocol.js";
import { SideReaders, emptySideCounts, type SideCounts } from "./side-readers.js";

export type { LaneTally, RecordSnapshot, WriterTally } from "./checker.js";
export type { SideCounts } from "./side-readers.js";

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
  clock?: "mono" | "counter" | "none";
  /** Payload sizes, uniform in [minSize, maxSize] (clamped to 16 .. the ring's max payload). Default 16..200. */
  minSize?: number;
  maxSize?: number;
  nestProb?: number;
  discardProb?: number;
  writeProb?: number;
  holdProb?: number;
  holdMs?: number;
  /** Probability that a reservation waits for room (reserveWaiting(), at most 2 ms) before it may drop. Default 0.1. */
  waitProb?: number;
  /** Failures kept with details per check (all are counted). Default 5. */
  maxFailures?: number;
  /** Abort (and fail) if the writers have not all finished this long after the planned end. Default 60000. */
  watchdogMs?: number;
  /** Self-test: make the writers break the protocol on purpose (see WorkerConfig.inject). */
  inject?: "none" | "checksum" | "seq-skip";
  /**
   * How records leave the ring: `reader` (a consumer's read(), checked as it goes), `async` (the
   * consumer's `for await`), `pipe` (page hand-off to a trace file in the OS temp dir, with
   * periodic flushes; the file is checked after the run with the same checks) or `group`
   * (`groupMembers` consumer-group member threads). Default `reader`.
   */
  via?: "reader" | "async" | "pipe" | "group";
  /** Members of the consumer group (`via: "group"`). Default 2. */
  groupMembers?: number;
  /** Iterators following the writers on the main thread. Default 0. */
  iterators?: number;
  /** A fresh iterator after this many ms. Default 200. */
  iteratorPassMs?: number;
  /** Take (and check) a snapshot this often, in ms; 0: never. Default 0. */
  snapshotEveryMs?: number;
  /** Resize (copy) the ring while it is written, and check the copy, this often, in ms; 0: never. Default 0. */
  resizeEveryMs?: number;
  /**
   * Writer processes (each with two writers: a per-thread lane of its own and a shared lane). The
   * ring is then a file ring; needs the native addon. Default 0.
   */
  processes?: number;
  /** Attempts per process writer. Default 50,000. */
  processAttempts?: number;
}

/** One failed check, with the record that failed it. */
export interface TortureFailure {
  check: string;
  message: string;
  record?: RecordSnapshot;
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
  /** Iterators and snapshots run alongside. */
  side: SideCounts;
  /** Records each group member handed out (`via: "group"`). */
  memberRecords: number[];
  /** What the page hand-off moved (`via: "pipe"`). */
  pipe: PipeStats | undefined;
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
  waitProb: 0.1,
  maxFailures: 5,
  watchdogMs: 60_000,
  inject: "none" as const,
  via: "reader" as const,
  groupMembers: 2,
  iterators: 0,
  iteratorPassMs: 200,
  snapshotEveryMs: 0,
  resizeEveryMs: 0,
  processes: 0,
  processAttempts: 50_000,
};

/** A thread or process that runs for the torture (a writer or a group member), as main sees it. */
interface Participant {
  stop(): void;
  exited: Promise<void>;
}

function threadParticipant(wk: Worker): Participant {
  return { stop: () => void wk.terminate(), exited: new Promise<void>((resolve) => wk.once("exit", () => resolve())) };
}

export async function runTorture(input: TortureOptions): Promise<TortureResult> {
  const o = { ...DEFAULTS, ...input };
  if ((o.seconds === undefined) === (o.records === undefined)) throw new RangeError("runTorture: give exactly one of seconds, records");
  const threadWriters = o.ownWriters + o.sharedWriters;
  const nWriters = threadWriters + 2 * o.processes;
  if (nWriters === 0) throw new RangeError("runTorture: no writers");
  if ((o.sharedWriters > 0 || o.processes > 0) && o.sharedLanes === 0) throw new RangeError("runTorture: shared-lane writers need sharedLanes >= 1");
  const nMembers = o.via === "group" ? o.groupMembers : 0;
  if (o.via === "group" && !(nMembers >= 1)) throw new RangeError("runTorture: a group needs groupMembers >= 1");

  const ringOptions = {
    lanes: o.ownWriters + o.processes,
    sharedLanes: o.sharedLanes,
    pageSize: o.pageSize,
    pagesPerLane: o.pagesPerLane,
    mode: o.mode,
    clock: o.clock,
    maxProducers: nWriters + 1,
    metadataBytes: 0,
  };
  const ringFile = o.processes > 0 ? ringPath(`torture-${o.seed}`) : undefined;
  const ring = ringFile !== undefined ? createFileRing(ringFile, ringOptions) : createRing(ringOptions);
  const g = ring.geometry;
  const ctrlSab = new SharedArrayBuffer(CTRL_WORDS * 4);
  const ctrl = new Int32Array(ctrlSab);

  const failures: TortureFailure[] = [];
  const failureCounts: Record<string, number> = {};
  let failureTotal = 0;
  const fail = (check: string, message: string, record?: RecordSnapshot): void => {
    failureTotal++;
    failureCounts[check] = (failureCounts[check] ?? 0) + 1;
    if ((failureCounts[check] as number) > o.maxFailures) return;
    const f: TortureFailure = { check, message };
    if (record !== undefined) f.record = record;
    failures.push(f);
  };

  const overwrite = o.mode === "overwrite";
  const writerLane = new Int32Array(nWriters).fill(-1);
  const checkerFor = (role: CheckerRole): RecordChecker =>
    new RecordChecker({
      role,
      nWriters,
      lanes: g.lanes,
      ownLanes: g.ownLanes,
      overwrite,
      strictSharedTime: o.clock === "counter",
      writerLane,
      fail: role === "consumer" || role === "group" ? fail : (check, message, record) => fail(`${role}/${check}`, message, record),
    });
  const main = checkerFor(o.via === "group" ? "group" : "consumer");
  const side = new SideReaders(ring, o, checkerFor, fail);

  // ---- threads: writers, then group members
  const totals: (WriterTotals | undefined)[] = new Array<WriterTotals | undefined>(nWriters).fill(undefined);
  const memberRecords: number[] = new Array<number>(nMembers).fill(0);
  const memberDone: boolean[] = new Array<boolean>(nMembers).fill(false);
  let readyCount = 0;
  let finished = 0; // writers done, errored or exited
  let membersFinished = 0;
  let readyResolve: () => void = () => {};
  const allReady = new Promise<void>((resolve) => (readyResolve = resolve));
  const expectReady = nWriters + nMembers;
  const writers = spawnWriters(ring, ringFile, ctrlSab, o, {
    ready: (m) => {
      writerLane[m.writerId] = m.lane;
      main.writerReady(m.writerId, m.lane);
      if (++readyCount === expectReady) readyResolve();
    },
    done: (t) => {
      totals[t.writerId] = t;
      for (const x of t.exceptions) fail("writer-exception", `writer ${t.writerId} ${x.call} threw at seq ${x.seq}: ${shortStack(x.stack || x.message)}`);
      const more = t.exceptionCount - t.exceptions.length;
      if (more > 0) fail("writer-exception", `writer ${t.writerId}: ${more} more exceptions`);
    },
    failed: (id, message) => fail("worker-error", `writer ${id} ${message}`),
    finished: () => {
      finished++;
      if (readyCount < expectReady) readyResolve(); // do not wait for a writer that died before ready
    },
  });
  const members: Participant[] = [];
  let membersBroken = false;
  for (let m = 0; m < nMembers; m++) {
    const cfg: GroupMemberConfig = {
      buffer: ring.buffer,
      ctrl: ctrlSab,
      member: m,
      readerDelay: o.readerDelay,
      readBatch: Number.isFinite(o.readBatch) ? o.readBatch : 1 << 20,
      fileRing: ringFile !== undefined,
    };
    const wk = new Worker(new URL("./group-worker.js", import.meta.url), { workerData: cfg });
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      membersFinished++;
      if (readyCount < expectReady) readyResolve();
    };
    wk.on("message", (msg: GroupMessage) => {
      if (msg.type === "ready") {
        if (++readyCount === expectReady) readyResolve();
      } else if (msg.type === "records") {
        decodeBatch(msg.batch, (r) => main.visit(r, msg.member));
      } else if (msg.type === "done") {
        memberRecords[m] = msg.records;
        memberDone[m] = true;
        end();
      } else {
        membersBroken = true;
        fail("group-member", `group member ${m} threw: ${shortStack(msg.stack || msg.message)}`);
        end();
      }
    });
    wk.on("error", (e: Error) => {
      membersBroken = true;
      fail("group-member", `group member ${m} crashed: ${e.stack ?? e.message}`);
      end();
    });
    wk.on("exit", (code) => {
      if (!memberDone[m] && !ended) {
        membersBroken = true;
        fail("group-member", `group member ${m} exited (code ${code}) without reporting`);
      }
      end();
    });
    members.push(threadParticipant(wk));
  }

  await allReady;
  const viaPipe = o.via === "pipe";
  const tracePath = join(tmpdir(), `urb-torture-${process.pid}-${o.seed}-${Date.now()}.urb`);
  const pipe: TracePipe | undefined = viaPipe ? pipeToFile(ring, tracePath, { batchPages: 8 }) : undefined;
  const consumer: RingReader | undefined = o.via === "reader" || o.via === "async" ? ring.consumer() : undefined;
  let lastFlush = performance.now();
  const t0 = performance.now();
  // Publish the start signal (and the ring, created before); pairs with the threads' Atomics.load(CTRL_GO).
  Atomics.store(ctrl, CTRL_GO, 1);
  Atomics.notify(ctrl, CTRL_GO); // wake the threads sleeping in Atomics.wait(CTRL_GO); orders nothing by itself
  writers.go(); // and the processes
  const stopTimer =
    o.seconds !== undefined
      ? setTimeout(() => {
          // Publish the stop request; pairs with the workers' periodic Atomics.load(CTRL_STOP).
          Atomics.store(ctrl, CTRL_STOP, 1);
        }, o.seconds * 1000)
      : undefined;

  let readCalls = 0;
  let readerBroken = false;
  const visit = (r: Parameters<RecordChecker["visit"]>[0]): void => main.visit(r);
  const readerFailed = (what: string, e: unknown): void => {
    readerBroken = true;
    const err = e instanceof Error ? e : new Error(String(e));
    fail("reader-error", `${what} threw after ${main.index} records: ${err.stack ?? err.message}`);
  };
  const read = (max: number): number => {
    if (readerBroken || (consumer === undefined && pipe === undefined)) return 0;
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
      readerFailed(pipe !== undefined ? "the pipe" : "consumer.read()", e);
      return 0;
    }
  };

  // `for await` consumer: runs beside the main loop until the writers are done.
  const asyncStop = new AbortController();
  const asyncLoop =
    o.via === "async"
      ? (async () => {
          let k = 0;
          try {
            for await (const r of (consumer as RingReader).records({ signal: asyncStop.signal })) {
              readCalls++;
              main.visit({ kind: r.kind, lane: r.lane, type: r.type, timestamp: r.timestamp, lost: r.lost, bytes: r.payload, offset: 0, length: r.payload.length });
              if (++k % 256 === 0 && o.readerDelay > 0) await sleep(o.readerDelay);
            }
          } catch (e) {
            readerFailed("for await of consumer.records()", e);
          }
        })()
      : Promise.resolve();

  // ---- main loop: consume (reader, pipe) and run the side readers while the writers run
  const plannedEnd = o.seconds !== undefined ? t0 + o.seconds * 1000 : Infinity;
  let watchdogFired = false;
  let lastYield = performance.now();
  const consumesHere = o.via === "reader" || o.via === "pipe";
  while (finished < nWriters) {
    const n = consumesHere ? read(o.readBatch) : 0;
    side.tick();
    const now = performance.now();
    if (o.readerDelay > 0 || !consumesHere) {
      await sleep(Math.max(o.readerDelay, consumesHere ? 0 : 1));
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

  // ---- every writer has finished: everything committed is in the ring. A still ring: a snapshot
  // and an iterator must agree (group members still consume, so for a group: once they are done).
  const sideChecks = o.iterators > 0 || o.snapshotEveryMs > 0 || o.resizeEveryMs > 0;
  if (sideChecks && nMembers === 0) side.quiescentCheck();
  asyncStop.abort();
  await asyncLoop;
  for (let k = 0; k < 2; ) {
    if (read(Infinity) === 0) k++;
    else k = 0;
  }
  if (nMembers > 0) {
    // Publish the drain request; pairs with the members' Atomics.load(CTRL_DRAIN).
    Atomics.store(ctrl, CTRL_DRAIN, 1);
    const drainLimit = performance.now() + o.watchdogMs;
    while (membersFinished < nMembers && performance.now() < drainLimit) await sleep(2);
    if (membersFinished < nMembers) {
      membersBroken = true;
      fail("watchdog", `group members had not drained the ring ${o.watchdogMs} ms after the writers finished`);
    } else if (sideChecks) side.quiescentCheck();
  }
  side.close();
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
      readerFailed(`page hand-off to ${tracePath}`, e);
    } finally {
      rmSync(tracePath, { force: true });
    }
  }
  if (ringFile !== undefined) rmSync(ringFile, { force: true }); // the processes keep their mappings until they exit
  if (watchdogFired || membersBroken) for (const p of [...writers.participants, ...members]) p.stop();
  await Promise.race([Promise.all([...writers.participants, ...members].map((p) => p.exited)), sleep(5000, undefined, { ref: false })]);

  const writersDone = totals.filter((t): t is WriterTotals => t !== undefined);
  const sumT = (f: (t: WriterTotals) => number) => writersDone.reduce((s, t) => s + f(t), 0);
  const books: string[] = [];
  if (writersDone.length === nWriters && !readerBroken && !membersBroken) {
    checkBooks({ overwrite, group: o.via === "group", g, lanes: main.lanes, tallies: main.tallies, totals: writersDone, stats, readerData: main.data, readerLost: main.lost, fail, books });
  } else {
    fail("books", `accounting skipped: ${writersDone.length}/${nWriters} writers reported, reader ${readerBroken || membersBroken ? "broken" : "ok"}`);
  }

  const opts = { ...o } as TortureResult["options"];
  return {
    ok: failureTotal === 0,
    options: opts,
    elapsedMs,
    writers: writersDone,
    writerTallies: main.tallies,
    lanes: main.lanes,
    reader: { data: main.data, bytes: main.bytes, lostMarkers: main.lostMarkers, lostTotal: main.lost, readCalls },
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
    side: sideChecks ? side.counts : emptySideCounts(),
    memberRecords,
    pipe: pipe?.stats,
    failures,
    failureCounts,
    books,
  };
}

interface WriterEvents {
  ready(m: { writerId: number; lane: number }): void;
  done(t: WriterTotals): void;
  failed(writerId: number, message: string): void;
  /** Once per writer: reported, failed or exited. */
  finished(writerId: number): void;
}

/**
 * Start the writers: worker threads attached to the ring's SharedArrayBuffer (ids 0 .. threads - 1),
 * then the writer processes, two writers each (test/node/fixtures/torture-writer.ts, the same
 * record format): process p writes per-thread lane `ownWriters + p` and a shared lane. The threads
 * start on CTRL_GO, the processes on `go()`.
 */
function spawnWriters(ring: RingBuffer, ringFile: string | undefined, ctrl: SharedArrayBuffer, o: TortureResult["options"], on: WriterEvents): { participants: Participant[]; go(): void } {
  const g = ring.geometry;
  const out: Participant[] = [];
  const threads = o.ownWriters + o.sharedWriters;
  for (let id = 0; id < threads; id++) {
    const own = id < o.ownWriters;
    const cfg: WorkerConfig = {
      buffer: ring.buffer,
      ctrl,
      writerId: id,
      lane: own ? id : g.ownLanes + ((id - o.ownWriters) % o.sharedLanes), // per-thread lanes 0 .. ownWriters - 1
      seed: o.seed,
      records: o.records ?? 0,
      minSize: o.minSize,
      maxSize: o.maxSize,
      nestProb: o.nestProb,
      discardProb: o.discardProb,
      writeProb: o.writeProb,
      holdProb: o.holdProb,
      holdMs: o.holdMs,
      waitProb: o.waitProb,
      flushTimeoutMs: Math.max(1000, o.watchdogMs / 2),
      inject: o.inject,
      fileRing: ringFile !== undefined,
    };
    const wk = new Worker(new URL("./torture-worker.js", import.meta.url), { workerData: cfg });
    let reported = false;
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      on.finished(id);
    };
    wk.on("message", (m: WorkerMessage) => {
      if (m.type === "ready") on.ready(m);
      else if (m.type === "done") {
        reported = true;
        on.done(m.totals);
        end();
      } else {
        on.failed(id, `threw: ${shortStack(m.stack || m.message)}`);
        end();
      }
    });
    wk.on("error", (e: Error) => {
      on.failed(id, `crashed: ${e.stack ?? e.message}`);
      end();
    });
    wk.on("exit", (code) => {
      if (!reported && !ended) on.failed(id, `exited (code ${code}) without reporting`);
      end();
    });
    out.push(threadParticipant(wk));
  }
  const children: Child[] = [];
  for (let p = 0; p < o.processes && ringFile !== undefined; p++) {
    const ids = [threads + 2 * p, threads + 2 * p + 1];
    const lanes = [o.ownWriters + p, g.ownLanes + (p % o.sharedLanes)];
    const cfg: TortureWriterConfig = {
      path: ringFile,
      writers: [
        [ids[0] as number, lanes[0] as number],
        [ids[1] as number, lanes[1] as number],
      ],
      seed: o.seed,
      attempts: o.processAttempts,
      minSize: o.minSize,
      maxSize: o.maxSize,
      napProb: 0,
    };
    const child = startChild("torture-writer", cfg);
    children.push(child);
    let reported = false;
    child
      .next((m) => m["type"] === "ready", 60_000)
      .then(
        () => ids.forEach((id, k) => on.ready({ writerId: id, lane: lanes[k] as number })),
        () => {},
      );
    const done = child.next<{ reports: WriterReport[] }>((m) => m["type"] === "done", 3_600_000).then(
      (m) => {
        reported = true;
        for (const r of m.reports) on.done(processTotals(r));
      },
      () => {},
    );
    void child.exited.then(async (code) => {
      await Promise.race([done, sleep(2000)]); // its last message may still be on its way
      if (!reported || code !== 0) for (const id of ids) on.failed(id, `(process ${child.process.pid}) exited (${String(code)})${reported ? "" : " without reporting"}`);
      for (const id of ids) on.finished(id);
    });
    out.push({ stop: () => child.kill(), exited: child.exited.then(() => undefined) });
  }
  return { participants: out, go: () => children.forEach((c) => c.send("go")) };
}

/** A writer process's report as a thread writer's totals (what the books need). */
function processTotals(r: WriterReport): WriterTotals {
  return {
    writerId: r.writerId,
    lane: r.lane,
    producerId: -1,
    attempted: r.attempted,
    committed: r.committed,
    lastCommittedSeq: r.lastCommittedSeq,
    discarded: r.discarded,
    dropped: r.dropped,
    droppedSeen: r.droppedSeen,
    pending: r.pending,
    nested: 0,
    held: 0,
    viaWrite: 0,
    flushAttempts: 0,
    payloadBytes: 0,
    elapsedMs: 0,
    exceptionCount: 0,
    exceptions: [],
  };
}

/** The message and the first frames of a stack. */
function shortStack(stack: string, frames = 5): string {
  return stack.split("\n").slice(0, frames + 1).join("\n");
}

interface Books {
  overwrite: boolean;
  /** The records were read by a consumer group: no overrun markers, no single-stream gaps. */
  group: boolean;
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
  const { overwrite, group, lanes, tallies, totals, stats, fail, books } = b;
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
      // Drops after the last committed record leave no gap (its last reservation may have been a
      // discarded one, which reported them in-band): they are the attempts after that record.
      const trailing = t.attempted - 1 - t.lastCommittedSeq;
      if (!group) eq("writer-gaps", `${w} seq gaps seen by the reader + drops after its last committed record == w.dropped`, r.gaps + trailing, t.dropped);
      eq("writer-last", `${w} last seq read == its last committed seq`, r.lastSeq, t.lastCommittedSeq);
    }
    if (r.lane < b.g.ownLanes && !group) le("own-lane-gap", `${w} seq gaps not covered by lost markers <= w.dropped`, r.unexplained, t.dropped);
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
      if (group) {
        le("books-lost", `${name} lost reported <= dropped (group members get no overrun markers)`, l.lostTotal, dropped);
      } else {
        le("books-lost", `${name} stats.overrun <= lost reported`, st.overrun, l.lostTotal);
        le("books-lost", `${name} lost reported <= stats.overrun + dropped`, l.lostTotal, st.overrun + dropped);
        if (dropped === 0) eq("books-lost", `${name} (no drops) lost reported == stats.overrun`, l.lostTotal, st.overrun);
      }
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
      if (group) le("books-lost", "total lost <= dropped", L, D);
      else {
        le("books-lost", "total overrun <= lost", stats.total.overrun, L);
        le("books-lost", "total lost <= overrun + dropped", L, stats.total.overrun + D);
      }
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
      (o.processes > 0 ? `${o.processes} writer process(es) of 2 writers (${o.processAttempts} attempts each), ` : "") +
      `pages ${o.pagesPerLane} x ${o.pageSize} B, clock ${o.clock}, reader delay ${o.readerDelay} ms, ` +
      (o.seconds !== undefined ? `${o.seconds} s` : `${o.records} attempts/writer`) +
      `, via ${o.via}${o.via === "group" ? ` (${o.groupMembers} members)` : ""}` +
      ` -> ${r.ok ? "OK" : "FAILED"} in ${(r.elapsedMs / 1000).toFixed(2)} s`,
  );
  const t = r.totals;
  lines.push(
    `  writers: attempted ${t.attempted}, committed ${t.committed}, dropped ${t.dropped}, discarded ${t.discarded}, nested ${t.nested}, held ${t.held}`,
  );
  lines.push(
    `  reader: data ${r.reader.data} (${r.reader.bytes} B), lost markers ${r.reader.lostMarkers} totalling ${r.reader.lostTotal}, read() calls ${r.reader.readCalls}`,
  );
  if (r.memberRecords.length > 0) lines.push(`  group members handed out: [${r.memberRecords.join(", ")}]`);
  if (r.pipe) lines.push(`  pipe: ${r.pipe.pages} pages, ${r.pipe.fragments} fragments, ${r.pipe.bytes} B in ${r.pipe.writes} writes, ${r.pipe.lost} lost in LOST chunks`);
  const sd = r.side;
  if (sd.iteratorPasses > 0) {
    lines.push(`  iterators: ${sd.iteratorPasses} passes, ${sd.iteratorRecords} records checked, ${sd.iteratorLost} lost in ${sd.iteratorLostMarkers} markers (${sd.iteratorLostUnknown} of unknown count)`);
  }
  if (sd.resizes > 0) lines.push(`  resizes: ${sd.resizes} copies taken while writing, ${sd.resizeRecords} records read back and checked`);
  if (sd.snapshots > 0) {
    lines.push(
      `  snapshots: ${sd.snapshots} (${sd.snapshotPages} pages), ${sd.snapshotRecords} records checked, ${sd.snapshotUncommitted} uncommitted skipped, ` +
        `${sd.snapshotLost} lost while copying; quiescent snapshot == iterator over ${sd.quiescentRecords} records`,
    );
  }
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

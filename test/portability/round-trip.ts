/**
 * The cross-thread round trip that proves the core portable. It uses only what a browser page, Deno
 * and Bun have in common (module `Worker`s, `SharedArrayBuffer`, `Atomics`, `performance`), so the
 * same compiled file runs in each of them; the Node tests start it there and assert on the report.
 *
 * Writers are module workers (round-trip-writer.ts), each on its own lane, started together:
 *  1. Race: each writes `records` raw records (backing off while its lane is full) and a typed
 *     event every `eventEvery` records on the shared lane, while this thread consumes with
 *     `waitAsync` + `read`: the ring is much smaller than what goes through it.
 *  2. Merge: once everything is consumed, this thread notes the ring time and opens a gate; each
 *     writer writes `tailRecords` more (and their events), then says it is done. One merged
 *     read must then hand them out in timestamp order, none stamped before the gate opened.
 * Every record's payload, lane, per-producer sequence and per-lane time order is checked; problems
 * are collected (the first 20), not thrown, so the caller sees them all in one report.
 */
import { createRing, defineEvent, eventRegistry, type RingRecord } from "../../src/index.js";
import { findHrtime } from "../../src/clock.js";
import { TICK_FIELDS, TYPE_RACE, TYPE_TAIL, eventsBelow, payloadWords, type WriterTask } from "./round-trip-protocol.js";

/** What {@link runRoundTrip} saw. */
export interface RoundTripReport {
  /** `navigator.userAgent` (or "unknown"). */
  userAgent: string;
  /** `crossOriginIsolated` where the runtime defines it (browsers), else null. */
  crossOriginIsolated: boolean | null;
  /** What `mono` ring time was calibrated against in this runtime. */
  clockBase: "process.hrtime" | "performance.timeOrigin";
  writers: number;
  /** Raw records consumed per producer, race phase and merge phase together. */
  recordsPerProducer: number[];
  /** Typed events consumed and decoded. */
  events: number;
  /** Records handed out by the single merged read of the merge phase. */
  merged: number;
  /** Smallest (merge-phase timestamp - ring time when the gate opened), in ns: the clock's cross-thread agreement. */
  minLeadNs: number;
  /** `ring.stats().total` after the run. */
  total: { written: number; read: number; dropped: number; overrun: number; inRing: number };
  problems: string[];
  elapsedMs: number;
}

/** Sizes of a run. */
export interface RoundTripOptions {
  writers?: number;
  records?: number;
  eventEvery?: number;
  tailRecords?: number;
  timeoutMs?: number;
  /** Tolerated clock disagreement between threads, ns (a merge-phase record stamped this long before the gate is a problem). */
  skewNs?: number;
}

/** The sizes used unless told otherwise: a few thousand records, well under a second on any runtime here. */
export const ROUND_TRIP_DEFAULTS: Required<RoundTripOptions> = {
  writers: 2,
  records: 4000,
  eventEvery: 40,
  tailRecords: 200,
  timeoutMs: 20_000,
  skewNs: 1e6,
};

const MAX_PROBLEMS = 20;

/** Run the round trip in this runtime. Never throws for a failed check: read `report.problems`. */
export async function runRoundTrip(options: RoundTripOptions = {}): Promise<RoundTripReport> {
  const { writers, records, eventEvery, tailRecords, timeoutMs, skewNs } = { ...ROUND_TRIP_DEFAULTS, ...options };
  const started = performance.now();
  const deadline = started + timeoutMs;
  const problems: string[] = [];
  const problem = (msg: string) => {
    if (problems.length < MAX_PROBLEMS) problems.push(msg);
  };

  // 16 KiB per lane: the race phase pushes ~96 KiB through each writer's lane.
  const ring = createRing({ lanes: writers, sharedLanes: 1, pageSize: 1024, pagesPerLane: 16, mode: "discard", clock: "mono" });
  const tick = defineEvent(ring, "tick", TICK_FIELDS);
  const registry = eventRegistry(ring);
  // gate[0]: go (race); gate[1]: go (merge).
  const gate = new Int32Array(new SharedArrayBuffer(8));

  const nextSeq = new Array<number>(writers).fill(0);
  const nextEventSeq = new Array<number>(writers).fill(0);
  const laneOf = new Array<number>(writers).fill(-1);
  const lastTs = new Map<number, number>();
  const lastProducerTs = new Map<number, number>();
  let events = 0;
  let raw = 0;

  const visit = (r: RingRecord) => {
    if (r.kind === "lost") return problem(`lane ${r.lane}: ${r.lost} records lost (${r.cause})`);
    // Time order holds per lane on per-thread lanes, and per producer on the shared lane: two
    // writers there read the clock before they claim, so their records may interleave a few
    // microseconds out of time order (docs/DESIGN.md, shared lanes; the torture allows it too).
    const key = r.lane < writers ? r.lane : -1;
    const prev = key >= 0 ? (lastTs.get(key) ?? -Infinity) : -Infinity;
    if (r.timestamp < prev) problem(`lane ${r.lane}: timestamp ${r.timestamp} after ${prev}`);
    if (key >= 0) lastTs.set(key, r.timestamp);
    if (r.type === tick.id) {
      const d = registry.decode(r);
      if (d.kind !== "event") return problem(`lane ${r.lane}: event not decoded: ${d.kind === "raw" ? d.warning : d.kind}`);
      const p = d.fields["producer"] as number;
      const prevP = lastProducerTs.get(p) ?? -Infinity;
      if (r.timestamp < prevP) problem(`producer ${p}: shared-lane timestamp ${r.timestamp} after ${prevP}`);
      lastProducerTs.set(p, r.timestamp);
      const seq = d.fields["seq"] as number;
      const want = nextEventSeq[p];
      if (want === undefined) return problem(`event from unknown producer ${p}`);
      if (seq !== want) problem(`producer ${p}: event seq ${seq}, expected ${want}`);
      if (d.fields["label"] !== `p${p}/${seq}`) problem(`producer ${p}: event label ${String(d.fields["label"])}`);
      if (r.lane < writers) problem(`producer ${p}: event on lane ${r.lane}, not the shared lane`);
      nextEventSeq[p] = seq + eventEvery;
      events++;
      return;
    }
    if ((r.type !== TYPE_RACE && r.type !== TYPE_TAIL) || r.length !== 16) {
      return problem(`lane ${r.lane}: unexpected record type ${r.type} length ${r.length}`);
    }
    const dv = new DataView(r.bytes.buffer, r.bytes.byteOffset + r.offset, 16);
    const p = dv.getUint32(0, true);
    const seq = dv.getUint32(4, true);
    const want = nextSeq[p];
    if (want === undefined) return problem(`record from unknown producer ${p}`);
    if (seq !== want) problem(`producer ${p}: seq ${seq}, expected ${want}`);
    const [w2, w3] = payloadWords(p, seq);
    if (dv.getUint32(8, true) !== w2 || dv.getUint32(12, true) !== w3) problem(`producer ${p} seq ${seq}: corrupt payload`);
    if ((r.type === TYPE_TAIL) !== seq >= records) problem(`producer ${p} seq ${seq}: type ${r.type}`);
    if (laneOf[p] === -1) laneOf[p] = r.lane;
    if (laneOf[p] !== r.lane) problem(`producer ${p}: lane ${r.lane}, earlier ${laneOf[p]}`);
    nextSeq[p] = seq + 1;
    raw++;
  };

  const url = new URL("./round-trip-writer.js", import.meta.url);
  const workers: Worker[] = [];
  const ready: Promise<unknown>[] = [];
  const done: Promise<unknown>[] = [];
  for (let p = 0; p < writers; p++) {
    const worker = new Worker(url, { type: "module" });
    workers.push(worker);
    let onReady!: () => void;
    let onDone!: () => void;
    ready.push(new Promise<void>((resolve) => (onReady = resolve)));
    done.push(new Promise<void>((resolve) => (onDone = resolve)));
    worker.onmessage = (e: MessageEvent<{ state: string; message?: string }>) => {
      if (e.data.state === "ready") onReady();
      else if (e.data.state === "done") onDone();
      else problem(`writer ${p}: ${e.data.message ?? JSON.stringify(e.data)}`);
    };
    worker.onerror = (e: ErrorEvent) => {
      problem(`writer ${p}: ${e.message}`);
      e.preventDefault();
    };
    const task: WriterTask = { buffer: ring.buffer, gate: gate.buffer as SharedArrayBuffer, producer: p, records, eventEvery, tailRecords };
    worker.postMessage(task);
  }

  const untilDeadline = async <T>(what: string, all: Promise<T>[]): Promise<boolean> => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const ok = await Promise.race([
      Promise.all(all).then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), Math.max(0, deadline - performance.now())))),
    ]);
    clearTimeout(timer);
    if (!ok) problem(`timed out waiting for writers: ${what}`);
    return ok;
  };

  let merged = 0;
  let minLeadNs = NaN;
  const reader = ring.consumer();
  try {
    if (await untilDeadline("ready", ready)) {
      // Start the writers together; pairs with round-trip-writer.ts#awaitGate().
      Atomics.store(gate, 0, 1);
      Atomics.notify(gate, 0);
      const raceTotal = writers * (records + eventsBelow(records, eventEvery));
      while (raw + events < raceTotal && problems.length === 0 && performance.now() < deadline) {
        if (reader.read(visit) === 0) await reader.waitAsync({ timeoutMs: 50 });
      }
      if (raw + events < raceTotal) problem(`race phase: ${raw + events} of ${raceTotal} records after ${Math.round(performance.now() - started)} ms`);

      const gateNs = ring.now();
      // Let the writers write the merge phase; pairs with round-trip-writer.ts#awaitGate().
      Atomics.store(gate, 1, 1);
      Atomics.notify(gate, 1);
      if (await untilDeadline("merge phase", done)) {
        let last = -Infinity;
        minLeadNs = Infinity;
        merged = reader.read((r) => {
          // Merged order is exact among per-thread lanes (see the per-lane note above for the shared lane).
          if (r.lane < writers) {
            if (r.timestamp < last) problem(`merged read: timestamp ${r.timestamp} after ${last} (lane ${r.lane})`);
            last = r.timestamp;
          }
          minLeadNs = Math.min(minLeadNs, r.timestamp - gateNs);
          visit(r);
        });
        if (minLeadNs < -skewNs) problem(`a merge-phase record is stamped ${-minLeadNs} ns before the gate opened`);
        const all = records + tailRecords;
        const mergeTotal = writers * (tailRecords + eventsBelow(all, eventEvery) - eventsBelow(records, eventEvery));
        if (merged !== mergeTotal) problem(`merged read: ${merged} records, expected ${mergeTotal}`);
      }
    }
  } finally {
    reader.close();
    for (const w of workers) w.terminate();
  }
  nextSeq.forEach((n, p) => n !== records + tailRecords && problem(`producer ${p}: ${n} records, expected ${records + tailRecords}`));
  const s = ring.stats().total;
  const g = globalThis as { navigator?: { userAgent?: string }; crossOriginIsolated?: boolean };
  return {
    userAgent: g.navigator?.userAgent ?? "unknown",
    crossOriginIsolated: typeof g.crossOriginIsolated === "boolean" ? g.crossOriginIsolated : null,
    clockBase: findHrtime() === undefined ? "performance.timeOrigin" : "process.hrtime",
    writers,
    recordsPerProducer: nextSeq,
    events,
    merged,
    minLeadNs,
    total: { written: s.written, read: s.read, dropped: s.dropped, overrun: s.overrun, inRing: s.inRing },
    problems,
    elapsedMs: Math.round(performance.now() - started),
  };
}

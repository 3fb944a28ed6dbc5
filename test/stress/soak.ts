/**
 * The soak: torture rounds one after the other, each with another configuration, until the time is
 * up. A round is one {@link runTorture} run with writers on per-thread and shared lanes (nesting,
 * discards, held reservations), records leaving the ring one of four ways (a consumer's read(), a
 * `for await`, the page hand-off to a trace file, a consumer group of threads), and at the same
 * time an iterator following the writers, snapshots read back as trace files, and resizes (copies
 * of the ring into one with more pages, read back). Every record is
 * checked (checksum, order, no duplicate or discarded record) and the books balance exactly at the
 * end of each round (written = read + overrun, lost = dropped, per lane: see torture.ts).
 *
 * The configurations rotate through: the four ways out x both modes x four geometries (page size,
 * pages per lane, lane counts, record sizes) x three clocks x three reader speeds, so that a soak
 * of 32 rounds or more meets every pairing of way out, mode and geometry. Every other round (so
 * that each way out meets them in both modes) the ring is a file ring and writer processes join
 * the writer threads, two writers each (a per-thread lane of their own and a shared lane that
 * threads write too), when the native addon that maps file rings is built.
 */
import { describe, runTorture, type TortureOptions, type TortureResult } from "./torture.js";

/** The geometries rounds rotate through. */
export const SOAK_GEOMETRIES = [
  { name: "tiny", pageSize: 256, pagesPerLane: 4, ownWriters: 2, sharedWriters: 2, sharedLanes: 1, minSize: 16, maxSize: 120 },
  { name: "small", pageSize: 1024, pagesPerLane: 8, ownWriters: 1, sharedWriters: 3, sharedLanes: 2, minSize: 16, maxSize: 400 },
  { name: "medium", pageSize: 4096, pagesPerLane: 16, ownWriters: 3, sharedWriters: 1, sharedLanes: 1, minSize: 16, maxSize: 2000 },
  { name: "huge-pages", pageSize: 65536, pagesPerLane: 4, ownWriters: 2, sharedWriters: 2, sharedLanes: 1, minSize: 16, maxSize: 8000 },
] as const;
const VIAS = ["reader", "async", "pipe", "group"] as const;
const MODES = ["overwrite", "discard"] as const;
const CLOCKS = ["mono", "counter", "none"] as const;
const READER_DELAYS = [1, 0, 2] as const;

/**
 * The configuration of round `i` (0-based) of a soak seeded `seed`, running `seconds`, with up to
 * `processes` writer processes in the rounds that have them (0: threads only).
 */
export function soakRound(i: number, seed: number, seconds: number, processes = 0): TortureOptions {
  const geo = SOAK_GEOMETRIES[Math.floor(i / 8) % SOAK_GEOMETRIES.length] as (typeof SOAK_GEOMETRIES)[number];
  const via = VIAS[i % VIAS.length] as (typeof VIAS)[number];
  return {
    mode: MODES[Math.floor(i / 4) % MODES.length] as (typeof MODES)[number],
    seconds,
    ownWriters: geo.ownWriters,
    sharedWriters: geo.sharedWriters,
    sharedLanes: geo.sharedLanes,
    pageSize: geo.pageSize,
    pagesPerLane: geo.pagesPerLane,
    minSize: geo.minSize,
    maxSize: geo.maxSize,
    seed: (seed + i) >>> 0,
    clock: CLOCKS[i % CLOCKS.length] as (typeof CLOCKS)[number],
    readerDelay: READER_DELAYS[Math.floor(i / 3) % READER_DELAYS.length] as number,
    readBatch: via === "group" ? 256 : 2000,
    via,
    groupMembers: 2 + (i % 2),
    iterators: 1,
    iteratorPassMs: 250,
    snapshotEveryMs: 100,
    resizeEveryMs: 500,
    watchdogMs: 60_000,
    processes: (Math.floor(i / 8) + i) % 2 === 1 ? processes : 0,
    // About as long as the threads run, on this machine: process writers stop by count, not time.
    processAttempts: Math.max(10_000, Math.round(25_000 * seconds)),
  };
}

/** Counts summed over the rounds of a soak. */
export interface SoakTotals {
  rounds: number;
  failedRounds: number;
  seconds: number;
  attempted: number;
  committed: number;
  dropped: number;
  discarded: number;
  nested: number;
  held: number;
  /** Data records checked as they left the ring (consumer, group members, or the trace file). */
  consumed: number;
  /** Records the ring reported lost in-band or as overrun markers to those readers. */
  lostReported: number;
  overrun: number;
  /** Pages entered by writers over all lanes (each a slot recycled once the lane wrapped). */
  pagesEntered: number;
  pagesHandedOff: number;
  iteratorRecords: number;
  iteratorPasses: number;
  snapshots: number;
  snapshotRecords: number;
  resizes: number;
  resizeRecords: number;
  /** Equalities and bounds checked at the ends of the rounds. */
  booksChecked: number;
  byVia: Record<string, number>;
  /** Rounds with writer processes. */
  roundsWithProcesses: number;
}

export function emptyTotals(): SoakTotals {
  return {
    rounds: 0,
    failedRounds: 0,
    seconds: 0,
    attempted: 0,
    committed: 0,
    dropped: 0,
    discarded: 0,
    nested: 0,
    held: 0,
    consumed: 0,
    lostReported: 0,
    overrun: 0,
    pagesEntered: 0,
    pagesHandedOff: 0,
    iteratorRecords: 0,
    iteratorPasses: 0,
    snapshots: 0,
    snapshotRecords: 0,
    resizes: 0,
    resizeRecords: 0,
    booksChecked: 0,
    byVia: {},
    roundsWithProcesses: 0,
  };
}

export function addRound(t: SoakTotals, r: TortureResult): void {
  t.rounds++;
  if (!r.ok) t.failedRounds++;
  t.seconds += r.elapsedMs / 1000;
  t.attempted += r.totals.attempted;
  t.committed += r.totals.committed;
  t.dropped += r.totals.dropped;
  t.discarded += r.totals.discarded;
  t.nested += r.totals.nested;
  t.held += r.totals.held;
  t.consumed += r.reader.data;
  t.lostReported += r.reader.lostTotal;
  t.overrun += r.stats?.total.overrun ?? 0;
  t.pagesEntered += r.pagesPerLaneEntered.reduce((a, b) => a + b, 0);
  t.pagesHandedOff += r.pipe?.pages ?? 0;
  t.iteratorRecords += r.side.iteratorRecords;
  t.iteratorPasses += r.side.iteratorPasses;
  t.snapshots += r.side.snapshots;
  t.snapshotRecords += r.side.snapshotRecords;
  t.resizes += r.side.resizes;
  t.resizeRecords += r.side.resizeRecords;
  t.booksChecked += r.books.length;
  if (r.options.processes > 0) t.roundsWithProcesses++;
  const key = `${r.options.via}/${r.options.mode}`;
  t.byVia[key] = (t.byVia[key] ?? 0) + 1;
}

export interface SoakOptions {
  /** Stop starting rounds after this many ms (the round running then finishes). */
  durationMs: number;
  /** Seconds the writers run per round. */
  roundSeconds: number;
  seed: number;
  /** First round index (to resume a rotation). Default 0. */
  firstRound?: number;
  /** Writer processes in the rounds that have them (0: threads only). Default 0. */
  processes?: number;
  /** Called after each round. */
  onRound?: (r: TortureResult, index: number, totals: SoakTotals) => void;
}

/** Run rounds until `durationMs` has passed; returns the totals (failedRounds > 0 on any failure). */
export async function runSoak(o: SoakOptions): Promise<{ totals: SoakTotals; failed: TortureResult[] }> {
  const totals = emptyTotals();
  const failed: TortureResult[] = [];
  const t0 = performance.now();
  for (let i = o.firstRound ?? 0; performance.now() - t0 < o.durationMs; i++) {
    const r = await runTorture(soakRound(i, o.seed, o.roundSeconds, o.processes ?? 0));
    addRound(totals, r);
    if (!r.ok) failed.push(r);
    o.onRound?.(r, i, totals);
  }
  return { totals, failed };
}

/** One line per round. */
export function roundLine(r: TortureResult, index: number): string {
  const o = r.options;
  const s = r.stats?.total;
  const laps = r.stats ? r.stats.lanes.map((l) => Math.floor(l.headPage / l.pages)) : [];
  return (
    `round ${index} ${r.ok ? "OK" : "FAILED"}: ${o.mode} via ${o.via}${o.via === "group" ? `x${o.groupMembers}` : ""}, ` +
    `${o.ownWriters}+${o.sharedWriters} writer threads${o.processes > 0 ? ` + ${o.processes}x2 in processes` : ""}, ${o.pagesPerLane}x${o.pageSize} B, clock ${o.clock}, seed ${o.seed}, ${(r.elapsedMs / 1000).toFixed(1)} s: ` +
    `committed ${r.totals.committed}, read ${r.reader.data}, overrun ${s?.overrun ?? "?"}, dropped ${r.totals.dropped}, lost reported ${r.reader.lostTotal}, ` +
    `laps [${laps.join(",")}], iterator ${r.side.iteratorRecords}, snapshots ${r.side.snapshots} (${r.side.snapshotRecords} records), resizes ${r.side.resizes} (${r.side.resizeRecords} records), books ${r.books.length}` +
    (r.ok ? "" : `\n${describe(r)}`)
  );
}

/** The closing summary. */
export function summary(t: SoakTotals): string {
  return [
    `soak: ${t.rounds} rounds (${t.failedRounds} failed, ${t.roundsWithProcesses} with writer processes) in ${t.seconds.toFixed(1)} s of writing`,
    `  writers: attempted ${t.attempted}, committed ${t.committed}, dropped ${t.dropped}, discarded ${t.discarded}, nested ${t.nested}, held ${t.held}`,
    `  checked leaving the ring: ${t.consumed} records, ${t.lostReported} reported lost, overrun ${t.overrun}; ${t.pagesHandedOff} whole pages handed off to files`,
    `  checked in place: ${t.iteratorRecords} records by ${t.iteratorPasses} iterator passes, ${t.snapshotRecords} records in ${t.snapshots} snapshots, ${t.resizeRecords} records in ${t.resizes} resized copies`,
    `  pages entered (slot recycles) ${t.pagesEntered}; end-of-round equalities and bounds checked ${t.booksChecked}`,
    `  rounds by way out/mode: ${Object.entries(t.byVia)
      .sort()
      .map(([k, v]) => `${k} ${v}`)
      .join(", ")}`,
  ].join("\n");
}

/**
 * Creating a ring in a SharedArrayBuffer, attaching to one (in any thread), and the ring-wide
 * operations: producer slots, writers, readers, stats and recovery of dead producers.
 */
import { type ThreadIdentity, checkIdentity, currentIdentity } from "./identity.js";
import {
  CLOCK_MONO,
  CLOCK_USER,
  FLAG_EPOCH_MONOTONIC,
  FLAG_OVERWRITE,
  FORMAT_VERSION,
  H_CLOCK,
  H_EPOCH_MONO_HI,
  H_EPOCH_MONO_LO,
  H_EPOCH_ORIGIN_MS,
  H_EPOCH_WALL_MS,
  H_FLAGS,
  H_HEADER_BYTES,
  H_LANE_PAGES_SHIFT,
  H_LANE_STRIDE,
  H_LANES_OFFSET,
  H_MAGIC,
  H_MAX_PRODUCERS,
  H_METADATA_BYTES,
  H_METADATA_OFFSET,
  H_OWN_LANES,
  H_PAGE_SHIFT,
  H_PRODUCERS_OFFSET,
  H_SHARED_LANES,
  H_TOTAL_BYTES,
  H_VERSION,
  H_COUNTER,
  H_COUNTER_BASE,
  KNOWN_FLAGS,
  L_CONSUMER,
  L_OWNER,
  L_TAIL_POS8,
  LANE_OWN,
  LANE_SHARED,
  MAX_LANE_PAGES,
  MAX_PAGE_SIZE,
  MIN_LANE_PAGES,
  MIN_PAGE_SIZE,
  P_DROPPED,
  P_GENERATION,
  P_LANE,
  P_STATE,
  P_TAG,
  P_ABANDONED,
  P_REPORTED,
  H_FOLDS_BEGUN,
  H_FOLDS_ENDED,
  L_ABANDONED_HI,
  L_ABANDONED_LO,
  L_DROPPED_HI,
  L_DROPPED_LO,
  L_UNREPORTED_HI,
  L_UNREPORTED_LO,
  PAGE_HEADER_BYTES,
  PG_COMMITTED,
  PG_CUM_READY,
  PG_SEQ,
  PG_SEQ_HI,
  PRODUCER_ALIVE,
  PRODUCER_CLAIMING,
  PRODUCER_DEAD,
  PRODUCER_FREE,
  METADATA_ALIGN,
  L_KIND as L_KIND_OFFSET,
  RING_HEADER_BYTES,
  RING_MAGIC,
  type RingGeometry,
  assertLittleEndianHost,
  computeGeometry,
  laneOffset,
  producerOffset,
  slotOffset,
  toPos8,
} from "./layout.js";
import { CapacityError, ConsumerClaimError, RingFormatError, showValue } from "./errors.js";
import { type ClockKind, RingClock, calibrateMonotonic, calibrateOrigin, clockCode, monotonicNowWords } from "./clock.js";
import { type RingCore, addPair } from "./pages.js";
import { LaneWriter, SharedLaneWriter, type RingWriter } from "./writer.js";
import { RingReader } from "./reader.js";
import { type RingStats, collectStats } from "./stats.js";
import { reclaimProducerPages } from "./reclaim.js";
import { type SnapshotInfo, type SnapshotOptions, snapshotRing } from "./snapshot.js";
import type { WakeChannel } from "./wakeup.js";
import { checkOptions, optionKeys } from "./options.js";

/** Options of {@link createRing}. */
export interface RingOptions {
  /** Per-thread lanes: each is written by one thread at a time, with no atomic read-modify-write. Default 4. */
  lanes?: number;
  /** Multi-producer lanes, shared by any number of threads. Default 1. */
  sharedLanes?: number;
  /** Bytes per page, a power of two from 256 to 65536. A record never straddles pages. Default 4096. */
  pageSize?: number;
  /** Pages per lane, a power of two from 4. Default 16. */
  pagesPerLane?: number;
  /** `overwrite` (flight recorder: oldest pages are overwritten) or `discard` (new records are dropped when full). Default `overwrite`. */
  mode?: "overwrite" | "discard";
  /** Timestamp source. Default `mono`. */
  clock?: ClockKind;
  /** Producer slots (threads x lanes that write). Default 64. */
  maxProducers?: number;
  /** Bytes reserved for metadata (event schemas). Default 65536. */
  metadataBytes?: number;
}

/** Options of {@link attachRing}. */
export interface AttachOptions {
  /** The clock function of a ring created with a user clock (functions cannot be shared): needed to write to it, not to read it. */
  clock?: () => number;
}

const ATTACH_OPTION_KEYS = optionKeys<AttachOptions>({ clock: true });

/** Options of {@link RingBuffer.writer}. */
export interface WriterOptions {
  /** A lane index, or `"shared"` for the first shared lane. Default: a free per-thread lane, else the first shared lane. */
  lane?: number | "shared";
  /**
   * A number recorded with the producer (e.g. a thread or process id) so it can be found and
   * reclaimed later. Default 0; for a file ring, this process's pid (what recovery uses to tell
   * dead writers from live ones).
   */
  tag?: number;
  /**
   * Who writes (stamped on every record, FORMAT.md 8.3): fields given here replace those of the
   * calling thread's identity (the installed provider's, see `setIdentityProvider`; in Node,
   * `unified-ring-buffer/node` installs `process.pid`, `threadId` and the thread's name).
   */
  identity?: Partial<ThreadIdentity>;
}

const WRITER_OPTION_KEYS = optionKeys<WriterOptions>({ lane: true, tag: true, identity: true });

/** Options of {@link RingBuffer.consumer} and {@link RingBuffer.iterator}. */
export interface ReaderOptions {
  /** Lanes to read. Default: all. */
  lanes?: readonly number[];
  /**
   * How records of different lanes are ordered. `"time"` (the default): merged by timestamp, equal
   * timestamps in the order of `lanes`. `"lane"`: lane by lane with no merge (each lane's records
   * in order, the lanes taking turns), the cheapest read when order across lanes does not matter.
   * A ring with clock `none` has no order across lanes and is always read lane by lane.
   *
   * @example
   * ```ts
   * const reader = ring.consumer({ order: "lane" }); // per-lane order only, no merge
   * ```
   */
  order?: "time" | "lane";
}

/** The `order` of {@link ReaderOptions}, checked. */
function readOrder(options: ReaderOptions): "time" | "lane" {
  const order = options.order ?? "time";
  if (order !== "time" && order !== "lane") {
    throw new RangeError(`Cannot create reader: order must be "time" or "lane", received ${JSON.stringify(order)}`);
  }
  return order;
}

const READER_OPTION_KEYS = optionKeys<ReaderOptions>({ lanes: true, order: true });

/**
 * A ring buffer living in one SharedArrayBuffer. Obtain one with {@link createRing} or
 * {@link attachRing}; an instance belongs to the thread that made it.
 *
 * @example
 * ```ts
 * const ring = createRing({ lanes: 2 });
 * const w = ring.writer();
 * w.write(1, new Uint8Array([1, 2, 3]));
 * ring.consumer().read((r) => console.log(r.type, r.timestamp, r.payload()));
 * ```
 */
export class RingBuffer {
  /** The shared memory; post it to a worker and call {@link attachRing} there. */
  readonly buffer: SharedArrayBuffer;
  readonly geometry: RingGeometry;
  /** @internal */
  readonly core: RingCore;
  /** @internal */
  readonly clock: RingClock;
  /** @internal the channel of {@link RingBuffer.setWakeChannel}; read only where sleepers are woken. */
  wakeChannel: WakeChannel | undefined = undefined;
  /** @internal the tag of writers made without one (a file ring's: this process's pid, so recovery knows who is dead). */
  defaultWriterTag = 0;

  /** @internal use createRing() or attachRing() */
  constructor(buffer: SharedArrayBuffer, geometry: RingGeometry, clock: RingClock, core: RingCore) {
    this.buffer = buffer;
    this.geometry = geometry;
    this.clock = clock;
    this.core = core;
  }

  /**
   * Make this ring object's sleeping readers and waking writers use `channel` besides
   * `Atomics.wait/notify`, which reach only the threads of one process (undefined: remove it).
   * For memory shared between processes; `unified-ring-buffer/node`'s file rings install a futex
   * channel themselves. Writers call `channel.wake()` only when they wake sleepers (never while
   * nobody waits); readers' `wait()`/`waitAsync()` sleep in `channel.wait()`/`waitAsync()`.
   * Applies to this object only: every attacher of a shared ring should install the same kind.
   *
   * @example
   * ```ts
   * ring.setWakeChannel({ wake: () => myFutexWake(), wait: (seq, ms) => myFutexWait(seq, ms), waitAsync: (seq, ms, signal) => myAsyncWait(seq, ms, signal) });
   * ```
   */
  setWakeChannel(channel: WakeChannel | undefined): void {
    this.wakeChannel = channel;
  }

  get mode(): "overwrite" | "discard" {
    return this.geometry.overwrite ? "overwrite" : "discard";
  }

  /** Wall-clock time (ms since the Unix epoch) of ring time 0. */
  get epochWallMs(): number {
    return this.core.f64[H_EPOCH_WALL_MS >> 3] ?? 0;
  }

  /** Ring time now, in the ring's clock units (ns for `mono`). */
  now(): number {
    return this.clock.peek(0);
  }

  /**
   * A writer for this thread. By default it claims a free per-thread lane (no contention, no atomic
   * read-modify-write on the write path) and falls back to the first shared lane when all are taken.
   * Throws {@link CapacityError} when no lane or producer slot is free.
   */
  writer(options: WriterOptions = {}): RingWriter {
    checkOptions("Cannot create writer", options, WRITER_OPTION_KEYS);
    const g = this.geometry;
    const i32 = this.core.i32;
    const tag = options.tag ?? this.defaultWriterTag;
    if (!(Number.isInteger(tag) && tag >= -0x80000000 && tag <= 0xffffffff)) {
      throw new RangeError(`Cannot create writer: tag must be an integer that fits 32 bits, received ${showValue(tag)}`);
    }
    let lane = -1;
    const want = options.lane;
    if (typeof want === "number") {
      if (!Number.isInteger(want) || want < 0 || want >= g.lanes) {
        throw new RangeError(`Cannot create writer: lane must be an integer from 0 to ${g.lanes - 1}, received ${want}`);
      }
      lane = want;
    } else if (want === "shared") {
      if (g.sharedLanes === 0) throw new CapacityError("Cannot create writer: the ring has no shared lane (sharedLanes is 0)");
      lane = g.ownLanes;
    }
    if (this.clock.userMissing) {
      throw new TypeError("Cannot create writer: the ring uses a user clock; attach it with the same clock function as options.clock (readers do not need it)");
    }
    const identity = options.identity === undefined ? currentIdentity() : checkIdentity({ ...currentIdentity(), ...options.identity }, "Cannot create writer: identity");
    const pid = this.#claimProducer(tag);
    try {
      if (lane === -1) {
        for (let l = 0; l < g.ownLanes && lane === -1; l++) {
          // Claim the lane for this producer; pairs with the release in LaneWriter#close() and reclaim.
          if (Atomics.compareExchange(i32, (laneOffset(g, l) + L_OWNER) >> 2, 0, pid + 1) === 0) lane = l;
        }
        if (lane === -1) {
          if (g.sharedLanes === 0) {
            throw new CapacityError(
              `Cannot create writer: all ${g.ownLanes} per-thread lanes are taken and the ring has no shared lane`,
            );
          }
          lane = g.ownLanes;
        }
      } else if (lane < g.ownLanes) {
        // Claim the requested lane; pairs with the release in LaneWriter#close() and reclaim.
        const owner = Atomics.compareExchange(i32, (laneOffset(g, lane) + L_OWNER) >> 2, 0, pid + 1);
        if (owner !== 0) {
          throw new CapacityError(`Cannot create writer: lane ${lane} is owned by producer ${owner - 1}`);
        }
      }
    } catch (e) {
      this.#releaseProducer(pid);
      throw e;
    }
    // Made visible with P_STATE = ALIVE below (stats and reclaim read it after loading P_STATE).
    Atomics.store(i32, (producerOffset(g, pid) + P_LANE) >> 2, lane);
    // Publish the producer (tag, lane, zeroed counters); pairs with loads of P_STATE in stats and producersByTag().
    Atomics.store(i32, (producerOffset(g, pid) + P_STATE) >> 2, PRODUCER_ALIVE);
    return lane < g.ownLanes
      ? new LaneWriter(this, lane, pid, identity)
      : new SharedLaneWriter(this, lane, pid, identity);
  }

  /**
   * A consuming reader: records it reads leave the ring. One consumer per lane at a time. It is
   * told of every record that left a lane unread, exactly once (docs/FORMAT.md 9.7.1): first the
   * records overwritten before it attached that no earlier consumer was told of, then overruns,
   * in-band drops, and, when it has caught up, the drops of writers that closed or died before
   * they could report them.
   *
   * @example
   * ```ts
   * ring.consumer().read((r) => { if (r.kind === "lost") console.log(`lane ${r.lane}: ${r.lost} ${r.cause}`); });
   * ```
   */
  consumer(options: ReaderOptions = {}): RingReader {
    return new RingReader(this, this.#lanesOf(options), "consumer", readOrder(options));
  }

  /**
   * A member of the lanes' consumer group: any number of group consumers (in any threads) share
   * the lanes, and each record goes to exactly one of them (whoever takes its run first); nothing
   * is delivered twice and nothing is skipped. A group excludes a single {@link consumer} on the
   * same lanes. Overruns are not reported in-band to members (none knows whether a peer or a
   * recycler moved the tail); `stats()` counts them exactly.
   *
   * @example
   * ```ts
   * // in each worker of a pool:
   * const member = attachRing(buffer).groupConsumer();
   * while (running) if (member.wait({ timeoutMs: 100 })) member.read(handle);
   * ```
   */
  groupConsumer(options: ReaderOptions = {}): RingReader {
    return new RingReader(this, this.#lanesOf(options), "group", readOrder(options));
  }

  /** A non-consuming iterator: walks what is in the ring without removing it, from the oldest record not consumed (or cleared) yet. */
  iterator(options: ReaderOptions = {}): RingReader {
    return new RingReader(this, this.#lanesOf(options), "iterator", readOrder(options));
  }

  /**
   * Reset, as ftrace's `echo > trace`: every committed record in the lanes (all, or `options.lanes`)
   * leaves the ring, counted in `stats()` as `cleared`, while writers go on writing. Each lane is
   * cleared by a consumer made for the call, or, on a lane a consumer group reads, by a member that
   * joins for the call. A lane with a single consumer elsewhere cannot be cleared from here (that
   * consumer alone moves its tail): call its {@link RingReader.clear}. What it clears and what it
   * leaves is described there. Returns the data records cleared.
   *
   * @example
   * ```ts
   * ring.clear(); // the flight recorder forgets what came before
   * ```
   */
  clear(options: ReaderOptions = {}): number {
    let cleared = 0;
    for (const lane of this.#lanesOf(options)) {
      let reader: RingReader;
      try {
        reader = new RingReader(this, [lane], "consumer");
      } catch (e) {
        if (!(e instanceof ConsumerClaimError)) throw e;
        try {
          reader = new RingReader(this, [lane], "group");
        } catch (e2) {
          if (!(e2 instanceof ConsumerClaimError)) throw e2;
          throw new ConsumerClaimError(`Cannot clear lane ${lane}: it has a consumer, which alone moves its tail; call clear() on that consumer`);
        }
      }
      try {
        cleared += reader.clear();
      } finally {
        reader.close();
      }
    }
    return cleared;
  }

  /** Counters per lane and in total. */
  stats(): RingStats {
    return collectStats(this);
  }

  /**
   * A `.urb` file image of what the ring holds now, copied while writers go on writing (nothing is
   * consumed, no writer waits). See {@link snapshotRing} for what it contains and how consistent it
   * is; `dumpRing(ring, path)` from `unified-ring-buffer/node` writes it to a file.
   *
   * @example
   * ```ts
   * const trace = openTrace(bytesSource(ring.snapshot()));
   * console.log(trace.stats().records);
   * ```
   */
  snapshot(info?: SnapshotInfo, options?: SnapshotOptions): Uint8Array {
    return snapshotRing(this, info, options);
  }

  /**
   * Declare producer `id` dead (its thread or process is gone) and repair what it left: its open
   * reservations become discarded records (counted as abandoned), a page it was preparing is
   * finished, its per-thread lane is released for another writer, and its counters are folded into
   * its lane's totals, so its slot is free for a new writer (`stats()` stays exact). Call it only
   * for a producer that will never write again: its slot may be claimed by a new writer at once.
   * Returns the number of reservations abandoned, or -1 if the producer was not alive.
   */
  reclaimProducer(id: number): number {
    const g = this.geometry;
    if (!Number.isInteger(id) || id < 0 || id >= g.maxProducers) {
      throw new RangeError(`Cannot reclaim producer: id must be an integer from 0 to ${g.maxProducers - 1}, received ${id}`);
    }
    const base = producerOffset(g, id);
    const i32 = this.core.i32;
    // Only one reclaimer wins ALIVE -> DEAD; pairs with the claim in #claimProducer().
    const was = Atomics.compareExchange(i32, (base + P_STATE) >> 2, PRODUCER_ALIVE, PRODUCER_DEAD);
    if (was === PRODUCER_CLAIMING) return this.#reclaimClaiming(id);
    if (was !== PRODUCER_ALIVE) return -1;
    // Acquire the lane recorded by writer(); ordered after the state exchange above.
    const lane = Atomics.load(i32, (base + P_LANE) >> 2);
    if (!Number.isInteger(lane) || lane < 0 || lane >= g.lanes) {
      throw new RingFormatError(`Cannot reclaim producer ${id}: its lane word at byte ${base + P_LANE} is ${lane}, not a lane of this ring`, base + P_LANE);
    }
    const abandoned = reclaimProducerPages(this, lane, id);
    if (lane < g.ownLanes) {
      // Release the lane to a new owner; pairs with the claim in writer().
      Atomics.compareExchange(i32, (laneOffset(g, lane) + L_OWNER) >> 2, id + 1, 0);
    }
    this.#retire(id, lane, abandoned);
    return abandoned;
  }

  /**
   * A producer that died inside writer(), between taking its slot and publishing it ALIVE (a
   * worker terminated there): it wrote nothing, but its slot (and maybe a per-thread lane) would
   * stay taken for good. Its counters were zeroed by the claim or hold what the slot's previous
   * producer left (folded already at its retirement): nothing to fold. Returns 0, or -1 if the
   * slot changed meanwhile.
   */
  #reclaimClaiming(id: number): number {
    const g = this.geometry;
    const i32 = this.core.i32;
    const base = producerOffset(g, id);
    // Take the slot from its dead claimer; pairs with the claim's exchange and writer()'s ALIVE store.
    if (Atomics.compareExchange(i32, (base + P_STATE) >> 2, PRODUCER_CLAIMING, PRODUCER_DEAD) !== PRODUCER_CLAIMING) return -1;
    for (let lane = 0; lane < g.ownLanes; lane++) {
      // Release a lane it claimed before it died; pairs with the claim in writer().
      Atomics.compareExchange(i32, (laneOffset(g, lane) + L_OWNER) >> 2, id + 1, 0);
    }
    this.#releaseProducer(id);
    return 0;
  }

  /**
   * Ids of live producers whose tag is `tag` (e.g. the producers of a worker that exited),
   * including one caught between taking its slot and becoming ALIVE (see {@link reclaimProducer}).
   */
  producersByTag(tag: number): number[] {
    const ids: number[] = [];
    const i32 = this.core.i32;
    for (let id = 0; id < this.geometry.maxProducers; id++) {
      const base = producerOffset(this.geometry, id);
      // Acquire the slot state; pairs with #claimProducer()'s exchange.
      const state = Atomics.load(i32, (base + P_STATE) >> 2);
      // The tag is stored right after the slot is taken (CLAIMING), before the slot is published ALIVE.
      if ((state === PRODUCER_ALIVE || state === PRODUCER_CLAIMING) && Atomics.load(i32, (base + P_TAG) >> 2) === (tag | 0)) {
        ids.push(id);
      }
    }
    return ids;
  }

  #claimProducer(tag: number): number {
    const g = this.geometry;
    const i32 = this.core.i32;
    for (let id = 0; id < g.maxProducers; id++) {
      const base = producerOffset(g, id);
      // Take a free slot (CLAIMING until its fields are written); pairs with the release stores.
      if (Atomics.compareExchange(i32, (base + P_STATE) >> 2, PRODUCER_FREE, PRODUCER_CLAIMING) === PRODUCER_FREE) {
        // First, so a reclaimer can find a claimer that dies right here by its tag (producersByTag()).
        Atomics.store(i32, (base + P_TAG) >> 2, tag | 0);
        this.core.f64[(base + P_DROPPED) >> 3] = 0;
        this.core.f64[(base + P_ABANDONED) >> 3] = 0;
        this.core.f64[(base + P_REPORTED) >> 3] = 0;
        Atomics.add(i32, (base + P_GENERATION) >> 2, 1); // bump so a reused slot is told apart
        return id;
      }
    }
    throw new CapacityError(`Cannot create writer: all ${g.maxProducers} producer slots are taken (raise maxProducers)`);
  }

  /** @internal */
  #releaseProducer(id: number): void {
    // Free the slot; pairs with the compareExchange in #claimProducer().
    Atomics.store(this.core.i32, (producerOffset(this.geometry, id) + P_STATE) >> 2, PRODUCER_FREE);
  }

  /** @internal called by a writer's close(): abandon its open reservations, release lane and slot. */
  releaseWriter(id: number, lane: number): void {
    const g = this.geometry;
    const base = producerOffset(g, id);
    const i32 = this.core.i32;
    // Take the right to release: only from ALIVE (a reclaimed producer's lane may have a new owner
    // already, whose reservations are not ours to discard); pairs with reclaimProducer()'s exchange.
    if (Atomics.compareExchange(i32, (base + P_STATE) >> 2, PRODUCER_ALIVE, PRODUCER_DEAD) !== PRODUCER_ALIVE) return;
    const abandoned = reclaimProducerPages(this, lane, id);
    if (lane < g.ownLanes) {
      // Release the lane; pairs with the claim in writer().
      Atomics.compareExchange(i32, (laneOffset(g, lane) + L_OWNER) >> 2, id + 1, 0);
    }
    this.#retire(id, lane, abandoned);
  }

  /**
   * Fold a DEAD producer's counters (and the `abandoned` reservations just found) into its lane's
   * totals and free its slot, whatever it counted: writers can come and go (and die) forever.
   * The fold is bracketed by H_FOLDS_BEGUN / H_FOLDS_ENDED (sequentially consistent adds), so a
   * statistics reader that loads ENDED before and BEGUN after its reads, and finds them equal,
   * counted this producer exactly once: in its slot (fold not begun) or in the lane (fold ended).
   */
  #retire(id: number, lane: number, abandoned: number): void {
    const g = this.geometry;
    const { i32, f64 } = this.core;
    const base = producerOffset(g, id);
    const lb = laneOffset(g, lane);
    // Open the fold window before the counters move; pairs with collectStats()'s load of H_FOLDS_BEGUN after its reads.
    Atomics.add(i32, H_FOLDS_BEGUN >> 2, 1);
    // Plain f64 reads: single writers that stopped (the producer is DEAD; its last stores came before).
    const dropped = f64[(base + P_DROPPED) >> 3] ?? 0;
    const reported = f64[(base + P_REPORTED) >> 3] ?? 0;
    const lost = (f64[(base + P_ABANDONED) >> 3] ?? 0) + abandoned;
    addPair(i32, lb + L_DROPPED_LO, lb + L_DROPPED_HI, dropped);
    addPair(i32, lb + L_ABANDONED_LO, lb + L_ABANDONED_HI, lost);
    // Drops no LOST record carries: the lane's consumer reports them (reader.ts, LaneCursor#unreported()).
    addPair(i32, lb + L_UNREPORTED_LO, lb + L_UNREPORTED_HI, Math.max(0, dropped - reported));
    // Free the slot; pairs with the claim in #claimProducer() and the state loads in stats.
    Atomics.store(i32, (base + P_STATE) >> 2, PRODUCER_FREE);
    // Close the fold window; pairs with collectStats()'s load of H_FOLDS_ENDED before its reads.
    Atomics.add(i32, H_FOLDS_ENDED >> 2, 1);
  }

  #lanesOf(options: ReaderOptions): number[] {
    checkOptions("Cannot create reader", options, READER_OPTION_KEYS);
    const g = this.geometry;
    const lanes = options.lanes ?? Array.from({ length: g.lanes }, (_, i) => i);
    for (const l of lanes) {
      if (!Number.isInteger(l) || l < 0 || l >= g.lanes) {
        throw new RangeError(`Cannot create reader: lane must be an integer from 0 to ${g.lanes - 1}, received ${l}`);
      }
    }
    return [...new Set(lanes)];
  }
}

function makeCore(buffer: SharedArrayBuffer, g: RingGeometry): RingCore {
  return {
    g,
    i32: new Int32Array(buffer, 0, g.totalBytes >> 2),
    f64: new Float64Array(buffer, 0, g.totalBytes >> 3),
    u8: new Uint8Array(buffer, 0, g.totalBytes),
    overwrite: g.overwrite,
    pageSwitchCheck: undefined,
  };
}

/**
 * Create a ring in a new SharedArrayBuffer (or in `buffer`, which must be zero-filled and at least
 * {@link ringBytes} long). Throws RangeError/TypeError naming any bad option.
 *
 * @example
 * ```ts
 * const ring = createRing({ lanes: 4, sharedLanes: 1, pageSize: 4096, pagesPerLane: 16, mode: "overwrite" });
 * worker.postMessage(ring.buffer); // the worker calls attachRing(buffer)
 * ```
 */
export function createRing(options: RingOptions = {}, buffer?: SharedArrayBuffer): RingBuffer {
  assertLittleEndianHost();
  const g = geometryOf(options, "Cannot create ring");
  const clock = options.clock ?? "mono";
  const sab = buffer ?? new SharedArrayBuffer(g.totalBytes);
  if (sab.byteLength < g.totalBytes) {
    throw new RangeError(`Cannot create ring: buffer must be at least ${g.totalBytes} bytes, received ${sab.byteLength}`);
  }
  const core = makeCore(sab, g);
  if (buffer !== undefined) core.u8.fill(0); // the layout relies on zeroed pages and counters
  writeHeader(core, g);
  return new RingBuffer(sab, g, makeClock(core, typeof clock === "function" ? clock : undefined), core);
}

/** Bytes a ring with these options needs. */
export function ringBytes(options: RingOptions = {}): number {
  return geometryOf(options, "Cannot size ring").totalBytes;
}

const RING_OPTION_KEYS = optionKeys<RingOptions>({
  lanes: true, sharedLanes: true, pageSize: true, pagesPerLane: true, mode: true, clock: true, maxProducers: true, metadataBytes: true,
});

/** The geometry of a ring with these options (defaults filled in), refusing unknown keys and a bad mode. */
function geometryOf(options: RingOptions, what: string): RingGeometry {
  checkOptions(what, options, RING_OPTION_KEYS);
  const mode = options.mode ?? "overwrite";
  if (mode !== "overwrite" && mode !== "discard") {
    throw new RangeError(`${what}: mode must be "overwrite" or "discard", received ${JSON.stringify(mode)}`);
  }
  return computeGeometry({
    overwrite: mode === "overwrite",
    clock: clockCode(options.clock ?? "mono"),
    pageSize: options.pageSize ?? 4096,
    lanePages: options.pagesPerLane ?? 16,
    ownLanes: options.lanes ?? 4,
    sharedLanes: options.sharedLanes ?? 1,
    maxProducers: options.maxProducers ?? 64,
    metadataBytes: options.metadataBytes ?? 65536,
  });
}

function writeHeader(c: RingCore, g: RingGeometry): void {
  const { i32, f64 } = c;
  const set = (off: number, v: number) => {
    i32[off >> 2] = v | 0;
  };
  set(H_VERSION, FORMAT_VERSION);
  set(H_HEADER_BYTES, RING_HEADER_BYTES);
  set(H_TOTAL_BYTES, g.totalBytes);
  const mono = monotonicNowWords();
  set(H_FLAGS, (g.overwrite ? FLAG_OVERWRITE : 0) | (mono ? FLAG_EPOCH_MONOTONIC : 0));
  set(H_CLOCK, g.clock);
  set(H_PAGE_SHIFT, g.pageShift);
  set(H_LANE_PAGES_SHIFT, g.lanePagesShift);
  set(H_OWN_LANES, g.ownLanes);
  set(H_SHARED_LANES, g.sharedLanes);
  set(H_MAX_PRODUCERS, g.maxProducers);
  set(H_METADATA_BYTES, g.metadataBytes);
  set(H_PRODUCERS_OFFSET, g.producersOffset);
  set(H_METADATA_OFFSET, g.metadataOffset);
  set(H_LANES_OFFSET, g.lanesOffset);
  set(H_LANE_STRIDE, g.laneStride);
  f64[H_EPOCH_WALL_MS >> 3] = Date.now();
  f64[H_EPOCH_ORIGIN_MS >> 3] = performance.timeOrigin + performance.now();
  if (mono) {
    set(H_EPOCH_MONO_LO, mono[0]);
    set(H_EPOCH_MONO_HI, mono[1]);
  }
  for (let lane = 0; lane < g.lanes; lane++) {
    const lb = laneOffset(g, lane);
    set(lb + L_KIND_OFFSET, lane < g.ownLanes ? LANE_OWN : LANE_SHARED);
    set(lb + L_TAIL_POS8, toPos8(g, 0, PAGE_HEADER_BYTES));
    for (let s = 0; s < g.lanePages; s++) {
      const slot = slotOffset(g, lb, s);
      // Slot s first holds the never-used page s - P; slot 0 holds page 0, ready, cumulatives 0.
      set(slot + PG_SEQ, s === 0 ? 0 : s - g.lanePages);
      set(slot + PG_SEQ_HI, s === 0 ? 0 : -1);
      set(slot + PG_COMMITTED, PAGE_HEADER_BYTES);
      if (s === 0) set(slot + PG_CUM_READY, 1);
    }
  }
  // Publish the whole header last: an attacher that sees the magic sees everything above.
  Atomics.store(i32, H_MAGIC >> 2, RING_MAGIC);
}

function makeClock(c: RingCore, user: (() => number) | undefined): RingClock {
  const { i32, f64, g } = c;
  let offset = 0;
  if (g.clock === CLOCK_MONO) {
    // The header words below were published before the magic, which attachRing() loaded atomically.
    const flags = i32[H_FLAGS >> 2] ?? 0;
    const calibrated =
      (flags & FLAG_EPOCH_MONOTONIC) !== 0
        ? calibrateMonotonic(i32[H_EPOCH_MONO_LO >> 2] ?? 0, i32[H_EPOCH_MONO_HI >> 2] ?? 0)
        : undefined;
    offset = calibrated ?? calibrateOrigin(f64[H_EPOCH_ORIGIN_MS >> 3] ?? 0);
  }
  return new RingClock(g.clock, offset, user, i32, f64, H_COUNTER >> 2, H_COUNTER_BASE >> 3);
}

/**
 * Attach to a ring created by {@link createRing} (in this or another thread, or in a file mapping).
 * Validates the whole header against the buffer and throws {@link RingFormatError} saying what is
 * wrong and where.
 *
 * @example
 * ```ts
 * // in a worker
 * import { workerData } from "node:worker_threads";
 * const ring = attachRing(workerData.buffer);
 * ring.writer().write(7, payload);
 * ```
 */
export function attachRing(buffer: SharedArrayBuffer, options: AttachOptions = {}): RingBuffer {
  assertLittleEndianHost();
  if (!(buffer instanceof SharedArrayBuffer)) {
    throw new TypeError(`Cannot attach ring: expected a SharedArrayBuffer, received ${Object.prototype.toString.call(buffer)}`);
  }
  checkOptions("Cannot attach ring", options, ATTACH_OPTION_KEYS);
  const g = readGeometry(buffer);
  const core = makeCore(buffer, g);
  if (options.clock !== undefined && typeof options.clock !== "function") {
    throw new TypeError(`Cannot attach ring: options.clock must be a function, received ${typeof options.clock}`);
  }
  return new RingBuffer(buffer, g, makeClock(core, options.clock), core);
}

/**
 * The geometry a ring header describes, with every header field checked against it (all of
 * docs/FORMAT.md section 3 but the checks that need the whole ring). `words` is the 256-byte
 * header; `magic` its first word, loaded by the caller with the ordering it needs.
 */
export function geometryFromHeader(words: Int32Array, magic: number): RingGeometry {
  const u32 = (off: number) => (words[off >> 2] ?? 0) >>> 0;
  const bad = (what: string, off: number, expected: string, actual: number) =>
    new RingFormatError(`Cannot attach ring: ${what} at byte ${off} is ${actual}, expected ${expected}`, off, expected, String(actual));
  if (magic >>> 0 !== RING_MAGIC) {
    throw new RingFormatError(
      `Cannot attach ring: bad magic 0x${(magic >>> 0).toString(16)} at byte 0, expected 0x${RING_MAGIC.toString(16)} ("URB1"); this is not a ring`,
      0,
      `0x${RING_MAGIC.toString(16)}`,
      `0x${(magic >>> 0).toString(16)}`,
    );
  }
  if (u32(H_VERSION) !== FORMAT_VERSION) throw bad("format version", H_VERSION, String(FORMAT_VERSION), u32(H_VERSION));
  if (u32(H_HEADER_BYTES) !== RING_HEADER_BYTES) throw bad("header size", H_HEADER_BYTES, String(RING_HEADER_BYTES), u32(H_HEADER_BYTES));
  const flags = u32(H_FLAGS);
  if ((flags & ~KNOWN_FLAGS) !== 0) throw bad("flags", H_FLAGS, `only bits 0x${KNOWN_FLAGS.toString(16)}`, flags);
  const clock = u32(H_CLOCK);
  if (clock > CLOCK_USER) throw bad("clock kind", H_CLOCK, "0..3", clock);
  const pageShift = u32(H_PAGE_SHIFT);
  if (pageShift < Math.log2(MIN_PAGE_SIZE) || pageShift > Math.log2(MAX_PAGE_SIZE)) {
    throw bad("page shift", H_PAGE_SHIFT, `${Math.log2(MIN_PAGE_SIZE)}..${Math.log2(MAX_PAGE_SIZE)}`, pageShift);
  }
  const lanePagesShift = u32(H_LANE_PAGES_SHIFT);
  if (lanePagesShift < Math.log2(MIN_LANE_PAGES) || lanePagesShift > Math.log2(MAX_LANE_PAGES)) {
    throw bad("pages-per-lane shift", H_LANE_PAGES_SHIFT, `${Math.log2(MIN_LANE_PAGES)}..${Math.log2(MAX_LANE_PAGES)}`, lanePagesShift);
  }
  let g: RingGeometry;
  try {
    g = computeGeometry({
      overwrite: (flags & FLAG_OVERWRITE) !== 0,
      clock,
      pageSize: 2 ** pageShift,
      lanePages: 2 ** lanePagesShift,
      ownLanes: u32(H_OWN_LANES),
      sharedLanes: u32(H_SHARED_LANES),
      maxProducers: u32(H_MAX_PRODUCERS),
      metadataBytes: u32(H_METADATA_BYTES),
    });
  } catch (e) {
    const msg = e instanceof Error ? e.message.replace(/^Cannot create ring: /, "") : String(e);
    throw new RingFormatError(`Cannot attach ring: invalid geometry in header: ${msg}`, H_OWN_LANES);
  }
  const check = (what: string, off: number, want: number) => {
    if (u32(off) !== want) throw bad(what, off, String(want), u32(off));
  };
  if (u32(H_METADATA_BYTES) % METADATA_ALIGN !== 0) throw bad("metadata size", H_METADATA_BYTES, `a multiple of ${METADATA_ALIGN}`, u32(H_METADATA_BYTES));
  check("total size", H_TOTAL_BYTES, g.totalBytes);
  check("producer table offset", H_PRODUCERS_OFFSET, g.producersOffset);
  check("metadata offset", H_METADATA_OFFSET, g.metadataOffset);
  check("lanes offset", H_LANES_OFFSET, g.lanesOffset);
  check("lane stride", H_LANE_STRIDE, g.laneStride);
  return g;
}

/** Read and fully validate the geometry in a ring header. */
export function readGeometry(buffer: SharedArrayBuffer | ArrayBuffer): RingGeometry {
  if (buffer.byteLength < RING_HEADER_BYTES) {
    throw new RingFormatError(
      `Cannot attach ring: buffer has ${buffer.byteLength} bytes, less than the ${RING_HEADER_BYTES}-byte header`,
      0,
      `>= ${RING_HEADER_BYTES} bytes`,
      String(buffer.byteLength),
    );
  }
  const words = new Int32Array(buffer, 0, RING_HEADER_BYTES >> 2);
  // Acquire the header published by writeHeader()'s final Atomics.store of the magic
  // (a plain ArrayBuffer, e.g. a file image, is read directly).
  const magic = buffer instanceof SharedArrayBuffer ? Atomics.load(words, H_MAGIC >> 2) : (words[H_MAGIC >> 2] ?? 0);
  const g = geometryFromHeader(words, magic);
  const bad = (what: string, off: number, expected: string, actual: number) =>
    new RingFormatError(`Cannot attach ring: ${what} at byte ${off} is ${actual}, expected ${expected}`, off, expected, String(actual));
  if (buffer.byteLength < g.totalBytes) {
    throw new RingFormatError(
      `Cannot attach ring: buffer has ${buffer.byteLength} bytes but the header describes a ring of ${g.totalBytes} bytes (truncated?)`,
      H_TOTAL_BYTES,
      String(g.totalBytes),
      String(buffer.byteLength),
    );
  }
  const all = new Int32Array(buffer, 0, g.totalBytes >> 2);
  for (let lane = 0; lane < g.lanes; lane++) {
    const off = laneOffset(g, lane) + L_KIND_OFFSET;
    const kind = (all[off >> 2] ?? 0) >>> 0;
    const want = lane < g.ownLanes ? LANE_OWN : LANE_SHARED;
    if (kind !== want) throw bad(`lane ${lane} kind`, off, String(want), kind);
  }
  return g;
}

export { PRODUCER_ALIVE, PRODUCER_DEAD, PRODUCER_FREE, L_CONSUMER };

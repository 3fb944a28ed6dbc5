/**
 * A trace file opened for reading: its ring's geometry, clock and schemas, and its records merged by
 * time across lanes, read with one chunk (at most 512 pages) per lane in memory (docs/FORMAT.md section 13).
 */
import { TraceFileError } from "../errors.js";
import {
  CLOCK_COUNTER,
  CLOCK_MONO,
  CLOCK_NONE,
  FLAG_EPOCH_MONOTONIC,
  H_CLOCK,
  H_EPOCH_MONO_HI,
  H_EPOCH_MONO_LO,
  H_EPOCH_WALL_MS,
  H_FLAGS,
  type RingGeometry,
} from "../layout.js";
import { LaneMerge } from "../merge.js";
import type { RingRecord } from "../reader.js";
import { EventRegistry } from "../schema/registry.js";
import { FILE_FLAG_RECOVERED, FILE_FLAG_SNAPSHOT } from "./file-layout.js";
import { TraceLaneCursor } from "./lane-cursor.js";
import { type TraceIndex, scanTrace } from "./scan.js";
import type { ByteSource } from "./source.js";
import { checkOptions, optionKeys } from "../options.js";

/** Options of {@link TraceFile.read} and {@link TraceFile.records}. */
export interface TraceReadOptions {
  /** Lanes to read. Default: all. */
  lanes?: readonly number[];
  /** Skip records before this ring time. */
  from?: number;
  /** Stop after this ring time. */
  to?: number;
}

/** Per-lane figures of a trace file. */
export interface TraceLaneStats {
  lane: number;
  records: number;
  /** Payload bytes of the data records. */
  bytes: number;
  /** Records lost (overwritten before hand-off, or dropped by writers), as the file reports them. */
  lost: number;
  /** Records reserved but not committed when their page was copied. */
  uncommitted: number;
  /** Of `lost`: records that damage to the file made unreadable (as far as the pages around it count them). */
  damaged: number;
  /** Places where damage made an unknown number of records unreadable. */
  damagedUnknown: number;
  pages: number;
  /** Ring time of the first and last data record (NaN when none). */
  first: number;
  last: number;
}

/** Per-event-type figures. */
export interface TraceTypeStats {
  type: number;
  /** The event's name when a schema defines it. */
  name: string | undefined;
  records: number;
  bytes: number;
}

/** Everything {@link TraceFile.stats} reports. */
export interface TraceStats {
  records: number;
  bytes: number;
  lost: number;
  uncommitted: number;
  /** Of `lost`: records that damage to the file made unreadable. */
  damaged: number;
  /** Places where damage made an unknown number of records unreadable (loss markers with a NaN count). */
  damagedUnknown: number;
  /** Damage reports (each in {@link TraceFile.warnings}, with its byte offset); 0 for an intact file. */
  damageReports: number;
  first: number;
  last: number;
  lanes: TraceLaneStats[];
  types: TraceTypeStats[];
}

/**
 * Open a trace file from any {@link ByteSource}. Throws TraceFileError when the source is not a
 * trace file or its ring header is unusable; damage further on is reported in
 * {@link TraceFile.warnings} after the intact part was read.
 *
 * @example
 * ```ts
 * const trace = openTrace(bytesSource(bytes));
 * trace.read((r) => console.log(r.lane, r.type, r.timestamp));
 * if (trace.warnings.length) console.warn(trace.warnings[0].message);
 * ```
 */
export function openTrace(source: ByteSource): TraceFile {
  return new TraceFile(source, scanTrace(source));
}

export class TraceFile {
  readonly geometry: RingGeometry;
  /** The ring's clock: `mono` (ns), `counter`, `none` or `user`. */
  readonly clock: "none" | "mono" | "counter" | "user";
  /** Wall-clock milliseconds since the Unix epoch at ring time 0. */
  readonly epochWallMs: number;
  /** CLOCK_MONOTONIC nanoseconds at ring time 0, when the ring recorded it. */
  readonly epochMonotonicNs: number | undefined;
  /** Wall-clock milliseconds when the file was started. */
  readonly createdMs: number;
  /** The file holds a snapshot (a non-consuming copy), not a stream of handed-off pages. */
  readonly snapshot: boolean;
  /** The file was extracted from the memory of a crashed ring. */
  readonly recovered: boolean;
  /** The event schemas stored in the file (read-only), or undefined when it has none. */
  readonly registry: EventRegistry | undefined;
  /** The writer's closing counters (its END chunk), or undefined when the file was not closed cleanly. */
  readonly end: unknown;
  /** The file framing's version (FH_VERSION): 2, or 1 for files written before chunk headers had a checksum. */
  readonly version: number;
  /** Damage found so far: by opening (framing) and by reading (records). Each names its byte offset. */
  readonly warnings: TraceFileError[];
  readonly #src: ByteSource;
  readonly #index: TraceIndex;
  #stats: TraceStats | undefined;

  /** @internal use openTrace() or openTraceFile() */
  constructor(src: ByteSource, index: TraceIndex) {
    this.#src = src;
    this.#index = index;
    const g = index.geometry;
    this.geometry = g;
    const hv = new DataView(index.ringHeader.buffer);
    const clock = hv.getUint32(H_CLOCK, true);
    this.clock = clock === CLOCK_NONE ? "none" : clock === CLOCK_MONO ? "mono" : clock === CLOCK_COUNTER ? "counter" : "user";
    this.epochWallMs = hv.getFloat64(H_EPOCH_WALL_MS, true);
    this.epochMonotonicNs =
      (hv.getUint32(H_FLAGS, true) & FLAG_EPOCH_MONOTONIC) !== 0
        ? hv.getUint32(H_EPOCH_MONO_HI, true) * 4294967296 + hv.getUint32(H_EPOCH_MONO_LO, true)
        : undefined;
    this.createdMs = index.createdMs;
    this.snapshot = (index.fileFlags & FILE_FLAG_SNAPSHOT) !== 0;
    this.recovered = (index.fileFlags & FILE_FLAG_RECOVERED) !== 0;
    this.end = index.end;
    this.version = index.version;
    this.warnings = [...index.warnings];
    let registry: EventRegistry | undefined;
    if (index.metadata !== null) {
      try {
        registry = new EventRegistry({ bytes: index.metadata, maxPayload: g.maxPayload });
      } catch (e) {
        this.warnings.push(new TraceFileError(`The schemas in the file do not parse (${e instanceof Error ? e.message : String(e)}); events are read raw`, 0));
      }
    }
    this.registry = registry;
  }

  /** Bytes in the file. */
  get size(): number {
    return this.#index.size;
  }

  /** True when the file ends cleanly (its writer closed it) and no damage was found. */
  get intact(): boolean {
    return this.end !== undefined && this.warnings.length === 0;
  }

  /**
   * Call `visitor` for each record (and loss marker) in time order across lanes (equal times in
   * lane order; the merge of src/merge.ts, as a ring's reader). The record object
   * is reused (copy what you keep; `payload()` copies). Returns the number visited. Damage met on
   * the way is appended to {@link warnings}; reading goes on with the next intact chunk.
   */
  read(visitor: (record: RingRecord) => void, options: TraceReadOptions = {}): number {
    checkOptions("Cannot read trace", options, TRACE_READ_OPTIONS_KEYS);
    const merge = new LaneMerge(this.#cursors(options.lanes));
    const from = options.from ?? -Infinity;
    const to = options.to ?? Infinity;
    let n = 0;
    for (;;) {
      const best = merge.next();
      if (best === undefined) return n;
      const r = best.record;
      if (r.timestamp > to) return n;
      best.hasHead = false;
      if (r.timestamp >= from) {
        n++;
        visitor(r);
      }
    }
  }

  /**
   * The records as an iterator (each a reused object, as with {@link read}).
   *
   * @example
   * ```ts
   * for (const r of trace.records({ lanes: [0] })) if (r.kind === "lost") console.log("lost", r.lost);
   * ```
   */
  *records(options: TraceReadOptions = {}): IterableIterator<RingRecord> {
    checkOptions("Cannot read trace", options, TRACE_READ_OPTIONS_KEYS);
    const merge = new LaneMerge(this.#cursors(options.lanes));
    const from = options.from ?? -Infinity;
    const to = options.to ?? Infinity;
    for (;;) {
      const best = merge.next();
      if (best === undefined) return;
      const r = best.record;
      if (r.timestamp > to) return;
      best.hasHead = false;
      if (r.timestamp >= from) yield r;
    }
  }


  /** Counts per lane and per event type (one pass over the file, then cached). */
  stats(): TraceStats {
    if (this.#stats !== undefined) return this.#stats;
    const lanes: TraceLaneStats[] = [];
    const types = new Map<number, TraceTypeStats>();
    const cursors = this.#cursors(undefined);
    for (const c of cursors) {
      const s: TraceLaneStats = { lane: c.record.lane, records: 0, bytes: 0, lost: 0, uncommitted: 0, damaged: 0, damagedUnknown: 0, pages: 0, first: Number.NaN, last: Number.NaN };
      while (c.head()) {
        c.hasHead = false;
        const r = c.record;
        if (r.kind === "lost") {
          s.lost += r.lost === r.lost ? r.lost : 0;
          continue;
        }
        s.records++;
        s.bytes += r.length;
        if (!(r.timestamp >= s.first)) s.first = r.timestamp;
        if (!(r.timestamp <= s.last)) s.last = r.timestamp;
        let t = types.get(r.type);
        if (t === undefined) {
          t = { type: r.type, name: this.registry?.schema(r.type)?.name, records: 0, bytes: 0 };
          types.set(r.type, t);
        }
        t.records++;
        t.bytes += r.length;
      }
      s.pages = c.counts.pages;
      s.uncommitted = c.counts.uncommitted;
      s.damaged = c.counts.damaged;
      s.damagedUnknown = c.counts.damagedUnknown;
      lanes.push(s);
    }
    const sum = (k: "records" | "bytes" | "lost" | "uncommitted" | "damaged" | "damagedUnknown") => lanes.reduce((a, l) => a + l[k], 0);
    const firsts = lanes.map((l) => l.first).filter((x) => x === x);
    const lasts = lanes.map((l) => l.last).filter((x) => x === x);
    this.#stats = {
      records: sum("records"),
      bytes: sum("bytes"),
      lost: sum("lost"),
      uncommitted: sum("uncommitted"),
      damaged: sum("damaged"),
      damagedUnknown: sum("damagedUnknown"),
      damageReports: this.warnings.length,
      first: firsts.length ? Math.min(...firsts) : Number.NaN,
      last: lasts.length ? Math.max(...lasts) : Number.NaN,
      lanes,
      types: [...types.values()].sort((a, b) => a.type - b.type),
    };
    return this.#stats;
  }

  #cursors(lanes: readonly number[] | undefined): TraceLaneCursor[] {
    const g = this.geometry;
    const list = lanes ?? Array.from({ length: g.lanes }, (_, i) => i);
    const warn = (e: TraceFileError) => {
      if (!this.warnings.some((w) => w.byteOffset === e.byteOffset && w.message === e.message)) this.warnings.push(e);
    };
    return list.map((lane) => {
      if (!Number.isInteger(lane) || lane < 0 || lane >= g.lanes) {
        throw new RangeError(`Cannot read trace: lane must be an integer from 0 to ${g.lanes - 1}, received ${lane}`);
      }
      return new TraceLaneCursor(this.#src, lane, this.#index.lanes[lane] as number[], g.pageSize, this.#index.chunkHeaderBytes, this.#index.damage, warn);
    });
  }
}

const TRACE_READ_OPTIONS_KEYS = optionKeys<TraceReadOptions>({ lanes: true, from: true, to: true });

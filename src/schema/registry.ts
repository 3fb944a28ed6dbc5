/**
 * The metadata area as a registry of event schemas, shared by every thread and process that maps
 * the ring (docs/FORMAT.md section 12).
 *
 * Append protocol (lock-free, like a shared lane's record claim): the entries follow each other
 * from the start of the area; the first entry whose word0 is 0 is the end. A definer claims the end
 * by compare-exchanging that word0 from 0 to BUSY|size (so the claim and the entry's size appear in
 * one atomic step: a scanner can always skip a claimed entry, even one whose definer died), writes
 * the body with plain stores, then publishes it with an atomic store of COMMITTED|size. The event
 * id of an entry is SCHEMA_ID_BASE + its index, known to the definer from the entries before its
 * claim. Scanners load each word0 atomically, read committed bodies only, and remember BUSY entries
 * to look at again later.
 *
 * Duplicates: the earliest committed entry with a name is authoritative. Defining a name that is
 * already there returns its id when the fields are identical (byte-identical entry bodies) and
 * throws a SchemaError otherwise. Two threads racing to define the same name both append; after
 * publishing, each defers to the earliest committed entry with that name (waiting, bounded by
 * SETTLE_MS, for earlier entries still BUSY): identical fields -> the earlier id (the later entry
 * stays as an unused identical alias), different fields -> the later definer marks its entry
 * DISCARDED and throws.
 */
import { CapacityError, RingFormatError } from "../errors.js";
import type { RingBuffer } from "../ring.js";
import type { RecordData, RingRecord } from "../reader.js";
import * as M from "./metadata-layout.js";
import { encodeEntry, parseEntry } from "./entry.js";
import { encodeProcessEntry, parseProcessEntry } from "./process-entry.js";
import { type EventSchema, type FieldsSpec, SchemaError, buildSchema } from "./types.js";
import { type EventType, type EventTypeOptions, EventView, type FieldValue, createEventType } from "./codec.js";
import { formatSchema } from "./text.js";
import { checkOptions, optionKeys } from "../options.js";

/** How long a definer waits for an earlier entry still being written before ignoring it (its definer may have died). */
export const SETTLE_MS = 100;

/** A decoded event. */
export interface DecodedEvent {
  readonly kind: "event";
  readonly id: number;
  readonly name: string;
  readonly lane: number;
  readonly timestamp: number;
  readonly fields: Record<string, FieldValue>;
  /** Names of string/bytes fields whose value was truncated when written. */
  readonly truncated: readonly string[];
}
/** A record that could not be decoded (unknown id, too short, malformed): its raw bytes and why. */
export interface RawEvent {
  readonly kind: "raw";
  readonly type: number;
  readonly lane: number;
  readonly timestamp: number;
  readonly payload: Uint8Array;
  readonly warning: string;
}
/** A loss marker, passed through. */
export interface LostEvent {
  readonly kind: "lost";
  readonly lane: number;
  readonly timestamp: number;
  readonly lost: number;
  readonly cause: "" | "overrun" | "dropped" | "damaged";
  /** For cause `damaged`: the byte offset in the ring of the word that does not parse. */
  readonly damageOffset?: number;
}
export type Decoded = DecodedEvent | RawEvent | LostEvent;

/** A copy of a metadata area (e.g. from a trace file) and the ring geometry's largest payload. */
export interface MetadataImage {
  readonly bytes: Uint8Array;
  readonly maxPayload: number;
}

const registries = new WeakMap<RingBuffer, EventRegistry>();

/** The registry of `ring` (one per ring object; made on first use, scans the metadata area). */
export function eventRegistry(ring: RingBuffer): EventRegistry {
  let r = registries.get(ring);
  if (r === undefined) {
    r = new EventRegistry(ring);
    registries.set(ring, r);
  }
  return r;
}

/**
 * Define (or look up) the event `name` with `fields` in the ring's metadata area and return its
 * typed writer. See {@link EventRegistry.define}.
 *
 * @example
 * ```ts
 * const httpRequest = defineEvent(ring, "http_request", { method: t.enum(["GET", "POST"]), status: t.u16, durationNs: t.u64, url: t.string(256) });
 * httpRequest.write(w, { method: "GET", status: 200, durationNs: 1234, url: "/" });
 * ```
 */
export function defineEvent<const F extends FieldsSpec>(ring: RingBuffer, name: string, fields: F, options?: EventTypeOptions): EventType<F> {
  return eventRegistry(ring).define(name, fields, options);
}

/**
 * The event schemas of one ring, as seen from this thread. Other threads' definitions appear when
 * the area is scanned again: {@link EventRegistry.refresh}, which lookups of unknown ids do themselves.
 */
export class EventRegistry {
  readonly #ring: RingBuffer | undefined;
  readonly #i32: Int32Array;
  readonly #u8: Uint8Array;
  readonly #base: number;
  readonly #capacity: number;
  readonly #maxPayload: number;
  /** Offset (in the area) of the first entry not scanned yet. */
  #end = 0;
  /** Per entry index: offset, size, and the parsed schema (null: not a schema / discarded; undefined: BUSY). */
  readonly #at: number[] = [];
  readonly #size: number[] = [];
  readonly #schemas: (EventSchema | null | undefined)[] = [];
  readonly #pending = new Set<number>();
  /** Name -> index of the earliest committed entry with that name. */
  readonly #byName = new Map<string, number>();
  readonly #types = new Map<string, EventType>();
  /** Process entries (12.6): pid -> name, and the index of the entry it came from (the latest wins). */
  readonly #processes = new Map<number, string>();
  readonly #processEntry = new Map<number, number>();
  readonly #view = new EventView();
  readonly #decodeView = new EventView();

  /**
   * The registry of a ring's metadata area, or a read-only one over a copy of such an area (a trace
   * file's METADATA chunk: `bytes` with the geometry's `maxPayload`).
   */
  constructor(source: RingBuffer | MetadataImage) {
    if ("core" in source) {
      this.#ring = source;
      this.#i32 = source.core.i32;
      this.#u8 = source.core.u8;
      this.#base = source.geometry.metadataOffset;
      this.#capacity = source.geometry.metadataBytes;
      this.#maxPayload = source.geometry.maxPayload;
    } else {
      const copy = new ArrayBuffer((source.bytes.length + 7) & ~7);
      this.#u8 = new Uint8Array(copy);
      this.#u8.set(source.bytes);
      this.#i32 = new Int32Array(copy);
      this.#ring = undefined;
      this.#base = 0;
      this.#capacity = source.bytes.length & ~7;
      this.#maxPayload = source.maxPayload;
    }
    this.refresh();
  }

  /** Bytes of the metadata area, and how many are used by entries seen so far. */
  get capacity(): number {
    return this.#capacity;
  }
  get used(): number {
    return this.#end;
  }
  /** Entries seen claimed but not yet published (BUSY): their bytes in {@link used} may still change. */
  get unsettled(): number {
    return this.#pending.size;
  }

  /** Scan for entries published since the last scan. Throws RingFormatError for a corrupt entry. */
  refresh(): void {
    for (const k of this.#pending) this.#settle(k, 0);
    const cap = this.#capacity;
    while (this.#end + M.ENTRY_HEADER_BYTES <= cap) {
      const off = this.#end;
      const at = this.#base + off;
      // Acquire the entry's claim (its size) or its body; pairs with define()'s compareExchange and Atomics.store of word0.
      const word = Atomics.load(this.#i32, (at + M.E_WORD) >> 2);
      if (word === 0) break;
      const state = M.entryState(word);
      const size = M.entrySize(word);
      if (state === 0 || size < M.ENTRY_HEADER_BYTES || size % M.ENTRY_ALIGN !== 0 || off + size > cap) {
        throw new RingFormatError(
          `Cannot read metadata area: entry at byte ${at} has word 0x${(word >>> 0).toString(16)} (state ${state}, size ${size}); ` +
            `expected a state of 1..3 and a size that is a multiple of ${M.ENTRY_ALIGN} from ${M.ENTRY_HEADER_BYTES} to ${cap - off}`,
          at,
          `size <= ${cap - off}`,
          String(size),
        );
      }
      const k = this.#at.length;
      if (M.SCHEMA_ID_BASE + k > M.SCHEMA_ID_LAST) {
        throw new RingFormatError(`Cannot read metadata area: entry at byte ${at} would have id ${M.SCHEMA_ID_BASE + k}, above ${M.SCHEMA_ID_LAST}`, at);
      }
      this.#at.push(at);
      this.#size.push(size);
      this.#schemas.push(undefined);
      this.#end = off + size;
      this.#process(k, word);
    }
  }

  #process(k: number, word: number): void {
    const state = M.entryState(word);
    if (state === M.ENTRY_BUSY) {
      this.#pending.add(k);
      return;
    }
    this.#pending.delete(k);
    const at = this.#at[k] as number;
    const kind = this.#u8[at + M.E_KIND];
    if (state !== M.ENTRY_COMMITTED || kind !== M.ENTRY_KIND_SCHEMA) {
      this.#schemas[k] = null;
      if (state === M.ENTRY_COMMITTED && kind === M.ENTRY_KIND_PROCESS) {
        const p = parseProcessEntry(this.#u8, at, this.#size[k] as number);
        // The latest entry of a pid (a reused pid) wins, also when an earlier one settles later.
        if (p !== undefined && !((this.#processEntry.get(p.pid) ?? -1) > k)) {
          this.#processes.set(p.pid, p.name);
          this.#processEntry.set(p.pid, k);
        }
      }
      return;
    }
    const s = parseEntry(this.#u8, at, this.#size[k] as number, M.SCHEMA_ID_BASE + k, this.#maxPayload);
    this.#schemas[k] = s;
    const prev = this.#byName.get(s.name);
    if (prev === undefined || prev > k) this.#byName.set(s.name, k);
  }

  /** Look at BUSY entry k again, waiting up to `ms` for its definer to publish it. */
  #settle(k: number, ms: number): void {
    const idx = ((this.#at[k] as number) + M.E_WORD) >> 2;
    const deadline = ms > 0 ? performance.now() + ms : 0;
    for (let spins = 0; ; spins++) {
      // Acquire the published body; pairs with define()'s Atomics.store of COMMITTED (or DISCARDED).
      const word = Atomics.load(this.#i32, idx);
      if (M.entryState(word) !== M.ENTRY_BUSY) {
        this.#process(k, word);
        return;
      }
      if (ms <= 0 || ((spins & 1023) === 1023 && performance.now() > deadline)) return;
    }
  }

  /** Wait (bounded) for every BUSY entry before index `k`. */
  #settleBefore(k: number): void {
    for (const p of [...this.#pending]) if (p < k) this.#settle(p, SETTLE_MS);
  }

  /** Is committed entry k's body equal to `entry` (from S_FIXED_BYTES on)? */
  #same(k: number, entry: Uint8Array): boolean {
    if (this.#size[k] !== entry.length) return false;
    const at = this.#at[k] as number;
    for (let i = M.S_FIXED_BYTES; i < entry.length; i++) if (this.#u8[at + i] !== entry[i]) return false;
    return true;
  }

  #conflict(s: EventSchema, k: number): SchemaError {
    const old = this.#schemas[k] as EventSchema;
    return new SchemaError(
      `Cannot define event ${JSON.stringify(s.name)}: it is already defined (id ${old.id}) with different fields ` +
        `(an event's fields cannot change; use a new name, e.g. ${JSON.stringify(s.name + "_v2")}).\n` +
        `existing:\n${formatSchema(old)}\nrequested:\n${formatSchema(s)}`,
      s.name,
    );
  }

  /**
   * Define the event `name` with `fields` (declaration order = key order), or find it: the same name
   * with identical fields returns the same id in every thread; the same name with different fields
   * throws a {@link SchemaError}. Throws SchemaError for an invalid schema (naming the field), and
   * {@link CapacityError} when the ring has no metadata area, the area is full or ids are exhausted.
   */
  define<const F extends FieldsSpec>(name: string, fields: F, options: EventTypeOptions = {}): EventType<F> {
    checkOptions("Cannot define event", options, EVENT_TYPE_OPTIONS_KEYS);
    if (this.#ring === undefined) throw new TypeError(`Cannot define event ${JSON.stringify(name)}: this registry reads a trace file's schemas and is read-only`);
    const draft = buildSchema(name, fields, this.#maxPayload);
    if (this.#capacity === 0) {
      throw new CapacityError(
        `Cannot define event ${JSON.stringify(name)}: the ring has no metadata area (metadataBytes is 0); create the ring with metadataBytes > 0 (e.g. 65536)`,
      );
    }
    const entry = encodeEntry(draft);
    for (;;) {
      this.refresh();
      const found = this.#byName.get(name);
      if (found !== undefined) this.#settleBefore(found);
      const k0 = this.#byName.get(name);
      if (k0 !== undefined) {
        if (!this.#same(k0, entry)) throw this.#conflict(draft, k0);
        return this.#typed(k0, options) as EventType<F>;
      }
      const k = this.#append(entry, `Cannot define event ${JSON.stringify(name)}`);
      if (k < 0) continue; // another definer appended there: rescan
      const idx = ((this.#at[k] as number) + M.E_WORD) >> 2;
      this.#settleBefore(k);
      const first = this.#byName.get(name) ?? k;
      if (first === k) return this.#typed(k, options) as EventType<F>;
      if (this.#same(first, entry)) return this.#typed(first, options) as EventType<F>;
      // Withdraw our entry: an earlier definer won the name with other fields; pairs with scanners' loads.
      Atomics.store(this.#i32, idx, M.entryWord(M.ENTRY_DISCARDED, entry.length));
      this.#schemas[k] = null;
      throw this.#conflict(draft, first);
    }
  }

  /**
   * Append `entry` at the end of the entries seen (12.4 steps 3-5) and rescan: its index, or -1
   * when another definer claimed that end first (rescan, decide again, retry). `what` starts the
   * CapacityError when the area or the ids are exhausted.
   */
  #append(entry: Uint8Array, what: string): number {
    const k = this.#at.length;
    const off = this.#end;
    const id = M.SCHEMA_ID_BASE + k;
    if (id > M.SCHEMA_ID_LAST) {
      throw new CapacityError(`${what}: all ${M.SCHEMA_ID_LAST - M.SCHEMA_ID_BASE + 1} schema ids (${M.SCHEMA_ID_BASE}..${M.SCHEMA_ID_LAST}) are taken`);
    }
    if (off + entry.length > this.#capacity) {
      throw new CapacityError(
        `${what}: the metadata area is full (${off} of ${this.#capacity} bytes used, this entry needs ${entry.length}); create the ring with a larger metadataBytes`,
      );
    }
    const at = this.#base + off;
    const idx = (at + M.E_WORD) >> 2;
    // Claim the end of the entries (size visible at once); pairs with refresh()'s Atomics.load of word0.
    if (Atomics.compareExchange(this.#i32, idx, 0, M.entryWord(M.ENTRY_BUSY, entry.length)) !== 0) return -1;
    this.#u8.set(entry.subarray(4), at + 4);
    this.#u8[at + M.E_ID] = id & 0xff;
    this.#u8[at + M.E_ID + 1] = id >>> 8;
    // Publish the body written above; pairs with refresh()/#settle()'s Atomics.load of word0.
    Atomics.store(this.#i32, idx, M.entryWord(M.ENTRY_COMMITTED, entry.length));
    this.refresh();
    return k;
  }

  /**
   * Name process `pid` in the ring (a process entry, docs/FORMAT.md 12.6): exports and the view
   * call its rows by this name instead of "pid N". It is metadata, not a record: no consumer reads
   * it and no count includes it. Naming a pid again appends a new entry that supersedes the old one
   * (a reused pid); the same name again is a no-op. Throws CapacityError like {@link define}.
   *
   * @example
   * ```ts
   * eventRegistry(ring).nameProcess(process.pid, "node server.js");
   * ```
   */
  nameProcess(pid: number, name: string): void {
    if (!Number.isInteger(pid) || pid <= 0 || pid > 0xffffffff) throw new TypeError(`Cannot name process ${String(pid)}: a pid is an integer from 1 to 2^32-1`);
    if (typeof name !== "string" || name === "") throw new TypeError(`Cannot name process ${pid}: the name must be a non-empty string`);
    if (this.#ring === undefined) throw new TypeError(`Cannot name process ${pid}: this registry reads a trace file's metadata and is read-only`);
    if (this.#capacity === 0) throw new CapacityError(`Cannot name process ${pid}: the ring has no metadata area (metadataBytes is 0)`);
    const entry = encodeProcessEntry(pid, name);
    const stored = parseProcessEntry(entry, 0, entry.length)?.name;
    do this.refresh();
    while (this.#processes.get(pid) !== stored && this.#append(entry, `Cannot name process ${pid}`) < 0);
  }

  /** The process names of the area (process entries, 12.6): pid -> name, the latest entry of a pid. */
  processNames(): ReadonlyMap<number, string> {
    this.refresh();
    return this.#processes;
  }

  #typed(k: number, options: EventTypeOptions): EventType {
    const key = `${k}:${options.codegen === false ? 0 : 1}:${options.strict === true ? 1 : 0}`;
    let ty = this.#types.get(key);
    if (ty === undefined) {
      ty = createEventType(this.#schemas[k] as EventSchema, options);
      this.#types.set(key, ty);
    }
    return ty;
  }

  /** The schema of event id `id` (rescanning once if it is not known yet), or undefined. */
  schema(id: number): EventSchema | undefined {
    const k = id - M.SCHEMA_ID_BASE;
    if (!(k >= 0 && id <= M.SCHEMA_ID_LAST && (k | 0) === k)) return undefined;
    if (this.#schemas[k] == null) this.refresh();
    return this.#schemas[k] ?? undefined;
  }

  /** The authoritative schema called `name`, or undefined. */
  schemaByName(name: string): EventSchema | undefined {
    if (!this.#byName.has(name)) this.refresh();
    const k = this.#byName.get(name);
    return k === undefined ? undefined : (this.#schemas[k] ?? undefined);
  }

  /** Every committed schema, in id order. */
  schemas(): EventSchema[] {
    this.refresh();
    return this.#schemas.filter((s): s is EventSchema => s != null);
  }

  /**
   * The fast path: bind the registry's reusable {@link EventView} to `record` and return it, or
   * return a warning string when the record cannot be decoded (unknown id, too short, malformed).
   * Allocation-free for a known event. The view is shared: valid until the next call.
   */
  view(record: RingRecord): EventView | string {
    if (record.kind !== "data") return "not a data record";
    const s = this.schema(record.type);
    if (s === undefined) return this.#unknown(record.type);
    return this.#view.bind(s, record.bytes, record.offset, record.length) ?? this.#view;
  }

  #unknown(type: number): string {
    return type < M.SCHEMA_ID_BASE
      ? `record type ${type} is below the schema range (${M.SCHEMA_ID_BASE}..${M.SCHEMA_ID_LAST}): a raw record`
      : `unknown event id ${type}: no schema for it in the metadata area`;
  }

  /**
   * Decode a record (from `reader.read()` or `reader.drain()`) to a plain object. Never throws for
   * record contents: an unknown id or a payload that does not fit its schema gives a `raw` record
   * with a warning.
   */
  decode(record: RingRecord | RecordData): Decoded {
    if (record.kind === "lost") {
      const lost: LostEvent = { kind: "lost", lane: record.lane, timestamp: record.timestamp, lost: record.lost, cause: record.cause };
      return record.cause === "damaged" ? { ...lost, damageOffset: record.damageOffset ?? -1 } : lost;
    }
    let bytes: Uint8Array;
    let offset: number;
    let length: number;
    if (typeof record.payload === "function") {
      const r = record as RingRecord;
      bytes = r.bytes;
      offset = r.offset;
      length = r.length;
    } else {
      bytes = record.payload;
      offset = 0;
      length = bytes.length;
    }
    const raw = (warning: string): RawEvent => ({
      kind: "raw",
      type: record.type,
      lane: record.lane,
      timestamp: record.timestamp,
      payload: bytes.slice(offset, offset + length),
      warning,
    });
    let s: EventSchema | undefined;
    try {
      s = this.schema(record.type);
    } catch (e) {
      return raw(`cannot read the metadata area: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (s === undefined) return raw(this.#unknown(record.type));
    const v = this.#decodeView;
    const warning = v.bind(s, bytes, offset, length);
    if (warning !== undefined) return raw(warning);
    const { fields, truncated } = v.toObject();
    return { kind: "event", id: s.id, name: s.name, lane: record.lane, timestamp: record.timestamp, fields, truncated };
  }

  /** The textual form of every schema in the ring (ftrace `format` style). */
  describe(): string {
    return this.schemas().map(formatSchema).join("\n");
  }

  /** The ring this registry reads; undefined for a trace file's. */
  get ring(): RingBuffer | undefined {
    return this.#ring;
  }
}

const EVENT_TYPE_OPTIONS_KEYS = optionKeys<EventTypeOptions>({ codegen: true, strict: true });

/**
 * What the fuzzer does with one input: every way in (attachRing / openTrace) and every reader
 * (consumer, consumer group, iterator, readPage, wait, stats, snapshot, the event registry's
 * decode/view/describe; a trace file's read, records with lane and time filters, stats, schemas),
 * each on its own fresh copy of the input. It returns what happened, or throws a
 * {@link FuzzFailure} for an outcome that bad input must never cause:
 *
 *  - `untyped-exception`: anything thrown but RingFormatError, TraceFileError, SchemaError,
 *    ConsumerClaimError (the image says the lane has a consumer) or a RangeError of ours (messages
 *    start with "Cannot "); so a TypeError from reading `undefined`, a DataView RangeError ("Offset
 *    is outside the bounds"), "Invalid typed array length" or a stack overflow all fail;
 *  - `bad-error`: a typed error without a message, or whose byteOffset is not a byte of the input;
 *  - `bad-record`: a record a reader handed out that does not hold together: kind, lane, type,
 *    offset and length inside its buffer, payload() of that length, numeric time and loss counts
 *    (reads past the end of a typed array give `undefined`, which these checks catch);
 *  - `bad-stats`: a counter that is not a number;
 *  - `unbounded`: a reader that hands out more records than the input could hold (a loop over
 *    pages), or an output far larger than the input;
 *  - `memory`: buffers (ArrayBuffer memory) held while reading that grew by more than 8 MB + 16 x
 *    the input's size (a reader sized by what a header claims rather than by what the input holds);
 *  - `snapshot-unreadable`: a snapshot of an attached ring that openTrace() refuses.
 *
 * Hangs and memory exhaustion cannot be caught here; the runner (run-fuzz.ts) watches the thread
 * that calls this for them.
 */
import {
  ConsumerClaimError,
  RingFormatError,
  SchemaError,
  TraceFileError,
  attachRing,
  bytesSource,
  eventRegistry,
  openTrace,
  type EventRegistry,
  type RingBuffer,
  type RingRecord,
  type RingStats,
  type TraceFile,
} from "../../src/index.js";

export class FuzzFailure extends Error {
  override readonly name = "FuzzFailure";
  readonly kind: string;
  constructor(kind: string, message: string, options?: { cause: unknown }) {
    super(`${kind}: ${message}`, options);
    this.kind = kind;
  }
}

/** Counts of what the input led to. */
export interface Outcome {
  /** Typed errors by name (RingFormatError, ...), the expected way to refuse bad input. */
  refused: Record<string, number>;
  /** Records and loss markers handed out by all readers. */
  records: number;
  /** Warnings trace files reported. */
  warnings: number;
  /** The input was accepted (attached / opened). */
  accepted: boolean;
}

function errorText(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}\n${e.stack?.split("\n").slice(1, 6).join("\n") ?? ""}` : String(e);
}

/** Runs reader calls on one input, classifying what they throw and checking what they hand out. */
export class Exerciser {
  readonly outcome: Outcome = { refused: {}, records: 0, warnings: 0, accepted: false };
  readonly #inputBytes: number;
  readonly #buffersBefore = process.memoryUsage().arrayBuffers;
  constructor(inputBytes: number) {
    this.#inputBytes = inputBytes;
  }

  /** Called while a reader holds its buffers (at its first record): memory must follow the input. */
  checkMemory(what: string): void {
    const grown = process.memoryUsage().arrayBuffers - this.#buffersBefore;
    if (grown > (8 << 20) + 16 * this.#inputBytes) {
      throw new FuzzFailure("memory", `${what} holds ${(grown / 1e6).toFixed(1)} MB of buffers for a ${this.#inputBytes}-byte input`);
    }
  }

  /** Run `f`; a typed refusal is counted and gives undefined, anything else is a failure. */
  guard<T>(what: string, f: () => T): T | undefined {
    try {
      return f();
    } catch (e) {
      if (e instanceof FuzzFailure) throw e;
      const typed = e instanceof RingFormatError || e instanceof TraceFileError || e instanceof SchemaError || e instanceof ConsumerClaimError;
      const ours = e instanceof RangeError && /^Cannot /.test(e.message);
      if (!typed && !ours) throw new FuzzFailure("untyped-exception", `${what} threw ${errorText(e)}`, { cause: e });
      const err = e as Error;
      if (err.message.length === 0) throw new FuzzFailure("bad-error", `${what} threw a ${err.name} without a message`);
      if (e instanceof RingFormatError || e instanceof TraceFileError) this.checkOffset(what, e);
      this.outcome.refused[err.name] = (this.outcome.refused[err.name] ?? 0) + 1;
      return undefined;
    }
  }

  checkOffset(what: string, e: RingFormatError | TraceFileError): void {
    const at = e.byteOffset;
    if (!(Number.isInteger(at) && at >= 0 && at <= this.#inputBytes)) {
      throw new FuzzFailure("bad-error", `${what}: ${e.name} names byte ${at}, outside the ${this.#inputBytes}-byte input: ${e.message}`);
    }
  }

  /** Check a record a reader handed out. */
  record(what: string, r: RingRecord, lanes: number): void {
    this.outcome.records++;
    const bad = (why: string) => {
      throw new FuzzFailure("bad-record", `${what} handed out ${why}: ${JSON.stringify({ kind: r.kind, lane: r.lane, type: r.type, timestamp: r.timestamp, lost: r.lost, offset: r.offset, length: r.length, buffer: r.bytes.length })}`);
    };
    if (!Number.isInteger(r.lane) || r.lane < 0 || r.lane >= lanes) bad(`a record of lane ${r.lane}`);
    if (typeof r.timestamp !== "number") bad("a record whose timestamp is not a number");
    if (r.kind === "lost") {
      if (typeof r.lost !== "number") bad("a loss marker whose count is not a number");
      if (r.cause !== "overrun" && r.cause !== "dropped" && r.cause !== "damaged") bad(`a loss marker with cause ${JSON.stringify(r.cause)}`);
      // A ring reader names the ring offset of the bad word; a trace file's marker says -1 (its damage is in the warnings, by file offset).
      const ringDamage = !what.startsWith("trace");
      if (r.cause === "damaged" && !(ringDamage ? Number.isInteger(r.damageOffset) && r.damageOffset >= 0 : r.damageOffset === -1)) bad(`a damage marker at offset ${r.damageOffset}`);
      return;
    }
    if (r.kind !== "data") bad(`a record of kind ${String(r.kind)}`);
    if (!Number.isInteger(r.type) || r.type < 0 || r.type > 8191) bad(`type ${r.type}`);
    if (!Number.isInteger(r.offset) || !Number.isInteger(r.length) || r.offset < 0 || r.length < 0 || r.offset + r.length > r.bytes.length) {
      bad("a payload outside its buffer");
    }
    if (r.payload().length !== r.length) bad("a payload() shorter than its length");
  }

  /** Read everything `read` hands out, in batches, up to `bound` records. */
  drain(what: string, read: (visit: (r: RingRecord) => void, max: number) => number, lanes: number, bound: number, each?: (r: RingRecord) => void): void {
    let total = 0;
    let checked = false;
    for (;;) {
      const n = this.guard(what, () =>
        read((r) => {
          if (!checked) {
            checked = true;
            this.checkMemory(what);
          }
          this.record(what, r, lanes);
          each?.(r);
        }, 256),
      );
      if (n === undefined || n === 0) return;
      total += n;
      if (total > bound) throw new FuzzFailure("unbounded", `${what} handed out more than ${bound} records from a ${this.#inputBytes}-byte input and does not stop`);
    }
  }

  stats(what: string, s: RingStats | undefined, lanes: number): void {
    if (s === undefined) return;
    if (s.lanes.length !== lanes) throw new FuzzFailure("bad-stats", `${what}: ${s.lanes.length} lanes, expected ${lanes}`);
    for (const l of [...s.lanes, s.total]) {
      for (const [k, v] of Object.entries(l)) {
        if (typeof v !== "number" && typeof v !== "string") throw new FuzzFailure("bad-stats", `${what}: ${k} is ${String(v)}`);
      }
    }
  }

  registry(what: string, reg: EventRegistry | undefined, records: RingRecord[]): void {
    if (reg === undefined) return;
    this.guard(`${what}.describe()`, () => reg.describe());
    for (const r of records) {
      // decode() never throws for record contents (FORMAT 12.5).
      try {
        const d = reg.decode(r);
        if (d.kind === "event") {
          for (const [k, v] of Object.entries(d.fields)) if (v === undefined) throw new FuzzFailure("bad-record", `${what}.decode() gave field ${k} undefined`);
        }
      } catch (e) {
        if (e instanceof FuzzFailure) throw e;
        throw new FuzzFailure("untyped-exception", `${what}.decode() threw for a record of type ${r.type}: ${errorText(e)}`, { cause: e });
      }
      const v = this.guard(`${what}.view()`, () => reg.view(r));
      if (v !== undefined && typeof v !== "string") {
        const o = this.guard(`${what}.view().toObject()`, () => v.toObject());
        if (o !== undefined) for (const [k, x] of Object.entries(o.fields)) if (x === undefined) throw new FuzzFailure("bad-record", `${what}.view() gave field ${k} undefined`);
      }
    }
  }
}

/** A plain copy of a record (readers reuse theirs). */
function keep(r: RingRecord): RingRecord {
  const c = Object.assign(Object.create(Object.getPrototypeOf(r) as object) as RingRecord, r);
  c.bytes = r.bytes.slice();
  return c;
}

/** Exercise every reader on a ring image. */
export function exerciseRing(image: Uint8Array): Outcome {
  const x = new Exerciser(image.length);
  const fresh = (): RingBuffer | undefined => {
    const sab = new SharedArrayBuffer(image.length);
    new Uint8Array(sab).set(image);
    return x.guard("attachRing()", () => attachRing(sab, { clock: () => 0 }));
  };
  const first = fresh();
  if (first === undefined) return x.outcome;
  x.outcome.accepted = true;
  const g = first.geometry;
  // No writer runs: a reader can hand out at most one record per 8 bytes, plus a loss marker per page.
  const bound = Math.ceil(g.totalBytes / 8) + 8 * g.lanes * g.lanePages + 64;

  x.stats("stats()", x.guard("stats()", () => first.stats()), g.lanes);

  const kept: RingRecord[] = [];
  {
    const it = x.guard("iterator()", () => first.iterator());
    if (it !== undefined) {
      x.drain("iterator.read()", (v, m) => it.read(v, m), g.lanes, bound, (r) => kept.length < 64 && kept.push(keep(r)));
      it.close();
    }
  }
  x.registry("eventRegistry(ring)", x.guard("eventRegistry()", () => eventRegistry(first)), kept);

  for (const role of ["consumer", "group"] as const) {
    const ring = fresh();
    const c = ring && x.guard(`${role}()`, () => (role === "consumer" ? ring.consumer() : ring.groupConsumer()));
    if (ring === undefined || c === undefined) continue;
    x.guard(`${role}.wait()`, () => c.wait({ timeoutMs: 0 }));
    if (role === "consumer") {
      const dest = new Uint8Array(g.pageSize);
      for (let pages = 0; x.guard("consumer.readPage()", () => c.readPage(dest)) != null; pages++) {
        if (pages > g.lanes * g.lanePages * 2) throw new FuzzFailure("unbounded", `consumer.readPage() handed out more than ${pages} pages of a ring with ${g.lanes} x ${g.lanePages}`);
      }
    }
    x.drain(`${role}.read()`, (v, m) => c.read(v, m), g.lanes, bound);
    x.stats(`stats() after ${role}`, x.guard("stats()", () => ring.stats()), g.lanes);
    c.close();
  }

  {
    const ring = fresh();
    const it = ring && g.lanes > 1 ? x.guard("iterator({ lanes })", () => ring.iterator({ lanes: [g.lanes - 1, 0] })) : undefined;
    if (it !== undefined) {
      x.drain("iterator({ lanes }).read()", (v, m) => it.read(v, m), g.lanes, bound);
      it.close();
    }
  }

  const ring = fresh();
  const info = { pages: 0, records: 0, lost: 0 };
  const snap = ring && x.guard("snapshot()", () => ring.snapshot(info));
  if (snap !== undefined) {
    if (snap.length > 2 * g.totalBytes + 65536) throw new FuzzFailure("unbounded", `a snapshot of a ${g.totalBytes}-byte ring is ${snap.length} bytes`);
    let trace: TraceFile;
    try {
      trace = openTrace(bytesSource(snap));
    } catch (e) {
      throw new FuzzFailure("snapshot-unreadable", `openTrace() refuses a snapshot of an attached ring: ${errorText(e)}`, { cause: e });
    }
    exerciseTraceFile(x, trace, snap.length);
  }
  return x.outcome;
}

/** Exercise every reader on a trace file image. */
export function exerciseTrace(image: Uint8Array): Outcome {
  const x = new Exerciser(image.length);
  const trace = x.guard("openTrace()", () => openTrace(bytesSource(image)));
  if (trace === undefined) return x.outcome;
  x.outcome.accepted = true;
  exerciseTraceFile(x, trace, image.length);
  return x.outcome;
}

function exerciseTraceFile(x: Exerciser, trace: TraceFile, size: number): void {
  const g = trace.geometry;
  const bound = Math.ceil(size / 8) + 64;
  const kept: RingRecord[] = [];
  let n = 0;
  x.guard("trace.read()", () =>
    trace.read((r) => {
      if (n === 0) x.checkMemory("trace.read()");
      x.record("trace.read()", r, g.lanes);
      if (kept.length < 64) kept.push(keep(r));
      if (++n > bound) throw new FuzzFailure("unbounded", `trace.read() handed out more than ${bound} records from a ${size}-byte file`);
    }),
  );
  const times = kept.map((r) => r.timestamp).filter((t) => Number.isFinite(t));
  const from = times[times.length >> 1] ?? 0;
  for (const opts of [{ lanes: [g.lanes - 1] }, { from, to: from + 1e6 }]) {
    let m = 0;
    x.guard("trace.records()", () => {
      for (const r of trace.records(opts)) {
        x.record("trace.records()", r, g.lanes);
        if (++m > bound) throw new FuzzFailure("unbounded", `trace.records() handed out more than ${bound} records from a ${size}-byte file`);
      }
    });
  }
  const s = x.guard("trace.stats()", () => trace.stats());
  if (s !== undefined) {
    for (const l of s.lanes) {
      for (const [k, v] of Object.entries(l)) if (typeof v !== "number") throw new FuzzFailure("bad-stats", `trace.stats() lane ${l.lane} ${k} is ${String(v)}`);
    }
    for (const k of ["records", "bytes", "lost", "uncommitted"] as const) {
      if (typeof s[k] !== "number") throw new FuzzFailure("bad-stats", `trace.stats().${k} is ${String(s[k])}`);
    }
  }
  for (const w of trace.warnings) {
    if (!(w instanceof TraceFileError)) throw new FuzzFailure("bad-error", `a trace warning is a ${String((w as Error).name)}`);
    x.checkOffset("trace warning", w);
  }
  x.outcome.warnings += trace.warnings.length;
  if (trace.registry !== undefined) x.guard("trace.registry.schemas()", () => trace.registry?.schemas());
  x.registry("trace.registry", trace.registry, kept);
}

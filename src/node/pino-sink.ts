/**
 * The drain side of `ringTransport()`: pino's own transport targets, built in the drain process,
 * fed the lines that the application processes wrote into the ring.
 *
 * The streams are built by pino's `lib/worker.js`, the very function that `pino.transport()` runs
 * in its worker thread: the same targets, pipelines, per-target levels and dedupe, the same
 * modules (anything built with pino-abstract-transport). The lines of one take are written as one
 * chunk (as thread-stream hands its worker a chunk of its buffer), and the next take waits for
 * the stream's `drain` when it asked for one.
 *
 * Loss is never silent: lines the writers dropped (a full discard-mode ring reports them in-band;
 * the drain reports those of dead writers) become one warning line in the targets, with the
 * count, and the {@link PinoSink.lost} counter.
 */
import { once } from "node:events";
import { createRequire } from "node:module";
import { hostname } from "node:os";
import { dirname, isAbsolute, join } from "node:path";
import type { Writable } from "node:stream";
import type { RingRecord } from "../reader.js";
import type { RingBuffer } from "../ring.js";
import { eventRegistry } from "../schema/index.js";
import { VAR_PREFIX_BYTES, VAR_TRUNCATED } from "../schema/metadata-layout.js";
import { PINO_LOG_EVENT } from "../pino/log-event.js";
import type { RecordSink, RecordSource } from "./record-drain.js";

/** One pino transport target, with its module already resolved to an absolute path. */
export interface PinoTargetConfig {
  target: string;
  options?: unknown;
  level?: string | number;
}

/** What the drain needs to build pino's target streams (made by `ringTransport()`). */
export interface PinoDrainConfig {
  /** Absolute path of pino's `lib/worker.js` (the builder of `pino.transport()`'s streams). */
  worker: string;
  targets?: PinoTargetConfig[];
  pipelines?: PinoTargetConfig[][];
  levels?: Record<string, number>;
  dedupe?: boolean;
}

/** One entry of `targets` as pino.transport() takes it: a target, or a pipeline of them. */
export interface PinoTransportTarget {
  target?: string;
  options?: unknown;
  level?: string | number;
  pipeline?: { target: string; options?: unknown; level?: string | number }[];
}

/** The transport options of pino.transport() that ringTransport() takes: `targets` or `pipeline`, `levels`, `dedupe`. */
export interface PinoTransportOptions {
  targets?: PinoTransportTarget[];
  pipeline?: { target: string; options?: unknown; level?: string | number }[];
  levels?: Record<string, number>;
  dedupe?: boolean;
}

/**
 * The drain's config for pino.transport()-style `options`, resolved as pino.transport() resolves
 * them (so the drain process, which runs elsewhere, loads the same modules): `pino/file` is pino's
 * own, absolute paths and file URLs stay, package names are resolved from `from` (a file path:
 * the caller's, or the working directory).
 */
export function resolvePinoDrainConfig(options: PinoTransportOptions, from: string): PinoDrainConfig {
  const req = createRequire(from);
  let worker: string;
  try {
    worker = req.resolve("pino/lib/worker.js");
  } catch {
    worker = createRequire(import.meta.url).resolve("pino/lib/worker.js");
  }
  const fix = (target: string): string => {
    if (isAbsolute(target) || target.startsWith("file://")) return target;
    if (target === "pino/file") return join(dirname(worker), "..", "file.js");
    return req.resolve(target);
  };
  const one = (t: { target: string; options?: unknown; level?: string | number }, level = t.level): PinoTargetConfig => ({
    target: fix(t.target),
    ...(t.options !== undefined ? { options: t.options } : {}),
    ...(level !== undefined ? { level } : {}),
  });
  const config: PinoDrainConfig = { worker };
  if (options.targets !== undefined && options.pipeline !== undefined) {
    throw new TypeError("Cannot build the transport: give targets or pipeline, not both (as pino.transport())");
  }
  if (options.targets !== undefined) {
    config.targets = [];
    config.pipelines = [];
    for (const t of options.targets) {
      if (t.pipeline !== undefined) config.pipelines.push(t.pipeline.map((p) => one(p, t.level)));
      else if (t.target !== undefined) config.targets.push(one({ ...t, target: t.target }));
    }
  } else if (options.pipeline !== undefined) {
    config.pipelines = [options.pipeline.map((p) => one(p))];
  } else {
    throw new TypeError("Cannot build the transport: give targets (e.g. [{ target: \"pino/file\", options: { destination: \"app.log\" } }]) or pipeline");
  }
  if (options.levels !== undefined) config.levels = options.levels;
  if (options.dedupe !== undefined) config.dedupe = options.dedupe;
  return config;
}

/** Longest sleep (ms) between looks at a target still writing (the first looks come sooner). */
const SETTLE_POLL_MS = 5;

/**
 * Whether `stream` still holds lines it has not handed to the system: sonic-boom (pino/file,
 * pino.destination) by its pending length and write in flight (a buffer it keeps below its
 * `minLength` is flushed: nothing else would write it), a Node Writable (pino-abstract-
 * transport's, a pipeline's first stream, a custom target) by `writableLength` (buffered chunks
 * and the one being written). A destroyed stream holds nothing more. What a stream passes on
 * (a pipeline's later steps, the targets behind pino's multistream) is not seen here.
 */
function pending(stream: Writable): boolean {
  if (stream.destroyed) return false;
  const s = stream as unknown as { _len?: unknown; _writing?: unknown; flush?: unknown };
  if (typeof s._len === "number" && typeof s._writing === "boolean") {
    if (s._len > 0 && !s._writing && typeof s.flush === "function") (s.flush as () => void).call(stream);
    return s._len > 0 || s._writing;
  }
  return stream.writableLength > 0;
}

/** Lines read per take (the chunk written at once). */
const TAKE_RECORDS = 4096;
/** How long (ms) closing waits for the targets to finish writing. */
const CLOSE_TIMEOUT_MS = 10_000;
const NEWLINE = 0x0a;
const PINO_WARN = 40;

type StreamBuilder = (opts: { targets?: PinoTargetConfig[]; pipelines?: PinoTargetConfig[][]; levels?: Record<string, number>; dedupe?: boolean }) => Promise<Writable>;

/**
 * Build pino's target streams for `config` and a sink feeding them the `pino.log` lines of
 * `ring`. Throws the module's error when a target cannot be loaded.
 */
export async function pinoSink(ring: RingBuffer, config: PinoDrainConfig): Promise<PinoSink> {
  const build = createRequire(config.worker)(config.worker) as StreamBuilder;
  const { worker: _worker, ...streams } = config;
  const stream = await build(streams);
  return new PinoSink(ring, stream);
}

/** Feeds `pino.log` records to a pino transport stream (see {@link pinoSink}). */
export class PinoSink implements RecordSink {
  /** Lines written to the targets. */
  lines = 0;
  /** Lines lost before they reached the drain (dropped by writers of a full ring). */
  lost = 0;
  /** Records of other types passed over. */
  skipped = 0;
  /** Lines the targets refused: none (a failing target ends the drain with its error instead). */
  readonly failed = 0;
  readonly #stream: Writable;
  readonly #ring: RingBuffer;
  readonly #registry;
  readonly #decoder = new TextDecoder();
  #logType = -1;
  #lineOffset = 0;
  /** The lines of the take in progress, as UTF-8 (decoded once per take, not once per line). */
  #bytes = new Uint8Array(1 << 20);
  #used = 0;
  /** Warning lines of the take in progress. */
  #chunk = "";
  #lostPending = 0;
  readonly #visit = (r: RingRecord): void => this.#record(r);

  #error: Error | undefined;

  constructor(ring: RingBuffer, stream: Writable) {
    this.#ring = ring;
    this.#stream = stream;
    this.#registry = eventRegistry(ring);
    // A target that fails (ENOSPC from pino/file, a closed socket) ends this drain at its next take
    // with the error; what is still in the ring waits there for the next drain.
    stream.on("error", (e: Error) => (this.#error ??= e));
  }

  /**
   * Read up to TAKE_RECORDS lines, write them to the targets as one chunk, and resolve once the
   * stream has written them out as far as it tells ({@link pending}): only then does the drain let
   * them go from the ring (at-least-once, record-drain.ts).
   */
  async take(reader: RecordSource): Promise<number> {
    this.#throwIfFailed();
    const n = reader.read(this.#visit, TAKE_RECORDS);
    this.#writeLostLine();
    const chunk = this.#decoder.decode(this.#bytes.subarray(0, this.#used)) + this.#chunk;
    this.#used = 0;
    this.#chunk = "";
    if (chunk.length > 0 && !this.#stream.write(chunk)) await once(this.#stream, "drain");
    // Bounded by the target: one that never finishes its write holds the drain (and the ring fills, counted).
    for (let wait = 0; pending(this.#stream); wait = Math.min(wait + 1, SETTLE_POLL_MS)) {
      this.#throwIfFailed();
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
    this.#throwIfFailed();
    return n;
  }

  #throwIfFailed(): void {
    if (this.#error !== undefined) throw new Error(`a pino target failed: ${this.#error.message}`, { cause: this.#error });
  }

  #record(r: RingRecord): void {
    if (r.kind === "lost") {
      if (!Number.isNaN(r.lost)) this.#lostPending += r.lost;
      return;
    }
    if (r.kind !== "data") return;
    if (r.type !== this.#logType && !this.#isLog(r.type)) {
      this.skipped++;
      return;
    }
    // The line as RingDestination wrote it (src/pino/destination.ts): u16 length (with the cut bit)
    // then UTF-8, read in place in the reader's copy of the run (no copy per record).
    const p = r.bytes;
    const at = r.offset + this.#lineOffset;
    const end = r.offset + r.length;
    if (end < at + VAR_PREFIX_BYTES) {
      this.skipped++;
      return;
    }
    const len = Math.min((p[at] as number) | (((p[at + 1] as number) << 8) & ~VAR_TRUNCATED), end - at - VAR_PREFIX_BYTES);
    if (this.#used + len + 1 > this.#bytes.length) {
      const grown = new Uint8Array(Math.max(this.#bytes.length * 2, this.#used + len + 1));
      grown.set(this.#bytes.subarray(0, this.#used));
      this.#bytes = grown;
    }
    this.#bytes.set(p.subarray(at + VAR_PREFIX_BYTES, at + VAR_PREFIX_BYTES + len), this.#used);
    this.#used += len;
    // A line cut to the event's maximum length lost its newline: the targets split on it.
    if (p[at + VAR_PREFIX_BYTES + len - 1] !== NEWLINE) this.#bytes[this.#used++] = NEWLINE;
    this.lines++;
  }

  /** Whether `type` is the ring's `pino.log` event (looked up once; other processes define it). */
  #isLog(type: number): boolean {
    const schema = this.#registry.schema(type);
    // pinoLogFields(): the u16 level, then the line (the only variable field, right after the fixed section).
    if (schema?.name !== PINO_LOG_EVENT || schema.fields.length !== 2) return false;
    this.#logType = type;
    this.#lineOffset = schema.fixedBytes;
    return true;
  }

  reportLost(_lane: number, count: number): void {
    this.#lostPending += count;
  }

  /** A warning line in the targets for the lines lost since the last one. */
  #writeLostLine(): void {
    const n = this.#lostPending;
    if (n === 0) return;
    this.#lostPending = 0;
    this.lost += n;
    const line = {
      level: PINO_WARN,
      time: Date.now(),
      pid: process.pid,
      hostname: hostname(),
      msg: `urb drain: ${n} log lines lost (the ring ${this.#ring.mode === "overwrite" ? "was overwritten" : "was full"}: the drain did not keep up)`,
      lost: n,
      lostTotal: this.lost,
    };
    this.#chunk += `${JSON.stringify(line)}\n`;
  }

  async close(): Promise<void> {
    if (this.#stream.destroyed) return; // failed (the error ended the drain) or closed already
    if (this.#lostPending > 0) {
      this.#writeLostLine();
      this.#stream.write(this.#chunk);
      this.#chunk = "";
    }
    const closed = once(this.#stream, "close");
    this.#stream.end();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([closed, new Promise((resolve) => (timer = setTimeout(resolve, CLOSE_TIMEOUT_MS)))]);
    clearTimeout(timer);
  }
}

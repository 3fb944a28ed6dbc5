/**
 * A pino destination that writes each log line into a ring as one `pino.log` event.
 *
 * The level comes from the line itself: pino serializes it first (`{"level":30,...`), so reading
 * up to 5 digits after that prefix in the encoded bytes is enough. pino's other way, its
 * `Symbol.for("pino.metadata")` protocol (it sets `lastLevel` on the destination before each
 * write), was measured 5-10 % slower per line (pino then also slices out the time and sets five
 * properties). A line that does not start that way (a custom level formatter, e.g. labels) is
 * stored with level 0, and `readLog` takes the level from the parsed line.
 *
 * The line is written without the generic codec's per-byte copy, and in the common case without
 * a copy at all: pino's lines are almost always ASCII, whose UTF-8 length is the string's length,
 * so the record is reserved for `line.length` bytes and `TextEncoder.encodeInto` (native) encodes
 * straight into it. When the line turns out not to fit (a character above U+007F takes 2 to 4
 * bytes) the reservation is discarded (readers skip it; nothing is counted lost) and the line goes
 * the general way: encodeInto into a scratch buffer, then one copy into a record of the exact
 * size; the next lines then go that way first for a while, so a non-ASCII stream does not pay
 * for two reservations per line. The bytes are exactly those the codec writes (level at its
 * schema offset, then the u16 length prefix with the truncation bit, then the UTF-8 bytes); a test
 * checks that against `writeArgs`.
 */
import type { RingBuffer } from "../ring.js";
import type { RingWriter } from "../writer.js";
import { defineEvent, type FieldSchema } from "../schema/index.js";
import { VAR_PREFIX_BYTES, VAR_TRUNCATED } from "../schema/metadata-layout.js";
import { PINO_LOG_EVENT, pinoLogFields } from "./log-event.js";
import { checkOptions, optionKeys } from "../options.js";

/** `{"level":` as UTF-8 bytes: the start of every line pino writes with its default formatters. */
const LEVEL_PREFIX = Array.from('{"level":', (c) => c.charCodeAt(0));
const MAX_LEVEL_DIGITS = 5;
const DIGIT_0 = 0x30;
const COMMA = 0x2c;
const CLOSE_BRACE = 0x7d;

/** The numeric level at the start of the encoded pino line `bytes[from .. from + length)`, or 0 when it has none (or one above 65535). */
function levelOf(bytes: Uint8Array, from: number, length: number): number {
  const p = LEVEL_PREFIX.length;
  if (length <= p) return 0;
  for (let i = 0; i < p; i++) if (bytes[from + i] !== LEVEL_PREFIX[i]) return 0;
  let level = 0;
  for (let i = p; i < length && i <= p + MAX_LEVEL_DIGITS; i++) {
    const c = bytes[from + i] as number;
    if (c === COMMA || c === CLOSE_BRACE) return i > p && level <= 0xffff ? level : 0;
    const d = c - DIGIT_0;
    if (d < 0 || d > 9) return 0;
    level = level * 10 + d;
  }
  return 0;
}

/** Options of {@link ringDestination}. */
export interface RingDestinationOptions {
  /** The writer to use (default: a new `ring.writer()` of this thread, closed by `end()`). */
  writer?: RingWriter;
  /**
   * When the ring is full (discard mode, its reader behind), wait up to this many ms for room
   * before dropping the line (blocks the thread, as pino's own transports do when their buffer is
   * full; Atomics.wait: not on a browser's main thread). After a wait that timed out, lines are
   * dropped at once until the ring has room again, so a reader that is gone costs one wait, not
   * one per line. Default 0: drop at once.
   */
  fullWaitMs?: number;
}

/** After a line that was not ASCII, this many lines are encoded the general way (one reservation each) before the direct way is tried again. */
const SKIP_DIRECT_LINES = 64;

/** How long one wait for room sleeps, in ms. */
const FULL_POLL_MS = 1;

/**
 * A pino destination (see {@link ringDestination}). Synchronous: when `write()` returns the line is
 * in the ring (or counted as dropped in a full discard-mode ring).
 */
export class RingDestination {
  /** Lines refused by a full discard-mode ring. */
  dropped = 0;
  /** Lines cut to the event's maximum length. */
  truncated = 0;
  readonly #writer: RingWriter;
  readonly #owned: boolean;
  readonly #id: number;
  readonly #levelOffset: number;
  readonly #lineOffset: number;
  readonly #scratch: Uint8Array;
  readonly #encoder = new TextEncoder();
  readonly #fullWaitMs: number;
  /** Set after a wait for room timed out; cleared by the next line that finds room. */
  #gaveUp = false;
  #sleepCell: Int32Array | undefined;
  #closed = false;
  /** Lines to write the general way before trying the direct one again (after a line that was not ASCII). */
  #skipDirect = 0;

  constructor(ring: RingBuffer, options: RingDestinationOptions = {}) {
    checkOptions("Cannot create ring destination", options, RING_DESTINATION_OPTIONS_KEYS);
    const ev = defineEvent(ring, PINO_LOG_EVENT, pinoLogFields(ring));
    // The fields of pinoLogFields(), in declaration order: the u16 level, then the line.
    const level = ev.schema.fields[0] as FieldSchema;
    const line = ev.schema.fields[1] as FieldSchema;
    this.#id = ev.id;
    this.#levelOffset = level.offset;
    this.#lineOffset = ev.schema.fixedBytes; // the only variable field comes right after the fixed section
    this.#scratch = new Uint8Array(line.param);
    this.#owned = options.writer === undefined;
    this.#writer = options.writer ?? ring.writer();
    const wait = options.fullWaitMs ?? 0;
    if (!(wait >= 0 && wait <= 0x7fffffff)) throw new RangeError(`Cannot create RingDestination: fullWaitMs must be from 0 to 2147483647, received ${wait}`);
    this.#fullWaitMs = wait;
  }

  /** The writer the lines go through. */
  get writer(): RingWriter {
    return this.#writer;
  }

  /** Write one line (pino calls this). Returns true (never asks pino to wait). After `end()` lines are counted as dropped. */
  write(line: string): boolean {
    if (this.#closed) {
      this.dropped++;
      return true;
    }
    const w = this.#writer;
    const length = line.length;
    if (this.#skipDirect > 0) this.#skipDirect--;
    else if (length <= this.#scratch.length) {
      // Optimistic: ASCII, so `length` UTF-8 bytes, encoded straight into the record.
      const at = this.#reserve(this.#lineOffset + VAR_PREFIX_BYTES + length);
      if (at < 0) {
        this.dropped++;
        return true;
      }
      const start = at + this.#lineOffset + VAR_PREFIX_BYTES;
      const bytes = w.bytes;
      // Every character takes at least one byte: all of them read means exactly `length` written.
      if (this.#encoder.encodeInto(line, bytes.subarray(start, start + length)).read === length) {
        const view = w.view;
        view.setUint16(at + this.#levelOffset, levelOf(bytes, start, length), true);
        view.setUint16(at + this.#lineOffset, length, true);
        w.commit(at);
        return true;
      }
      w.discard(at);
      this.#skipDirect = SKIP_DIRECT_LINES;
    }
    const r = this.#encoder.encodeInto(line, this.#scratch);
    const n = r.written;
    const at = this.#reserve(this.#lineOffset + VAR_PREFIX_BYTES + n);
    if (at < 0) {
      this.dropped++;
      return true;
    }
    const cut = r.read < length;
    if (cut) this.truncated++;
    const view = w.view;
    view.setUint16(at + this.#levelOffset, levelOf(this.#scratch, 0, n), true);
    view.setUint16(at + this.#lineOffset, cut ? n | VAR_TRUNCATED : n, true);
    w.bytes.set(n === this.#scratch.length ? this.#scratch : this.#scratch.subarray(0, n), at + this.#lineOffset + VAR_PREFIX_BYTES);
    w.commit(at);
    return true;
  }

  #reserve(size: number): number {
    return this.#fullWaitMs === 0 ? this.#writer.reserve(this.#id, size) : this.#reserveWaiting(size);
  }

  /** reserve() that first waits up to fullWaitMs for room in a full ring (a full lane is not a drop while we wait). */
  #reserveWaiting(size: number): number {
    const w = this.#writer;
    let at = w.tryReserve(this.#id, size);
    if (at >= 0) {
      this.#gaveUp = false;
      return at;
    }
    if (!this.#gaveUp) {
      const cell = (this.#sleepCell ??= new Int32Array(new SharedArrayBuffer(4)));
      const deadline = performance.now() + this.#fullWaitMs;
      while (performance.now() < deadline) {
        Atomics.wait(cell, 0, 0, FULL_POLL_MS); // a sleep: nobody notifies this private cell
        at = w.tryReserve(this.#id, size);
        if (at >= 0) return at;
      }
      this.#gaveUp = true;
    }
    return w.reserve(this.#id, size); // still full: a counted drop, reported in-band
  }

  /** Nothing is buffered; calls `cb` at once (pino's `logger.flush(cb)`). */
  flush(cb?: (err?: Error) => void): void {
    cb?.();
  }

  /** Nothing is buffered (pino's final handlers call this). */
  flushSync(): void {}

  /** Stop: closes the writer if it was created here. Later lines are counted as dropped. */
  end(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#owned) this.#writer.close();
  }
}

/**
 * A destination for `pino(options, destination)` that writes every log line into `ring` as a
 * `pino.log` event (level + the JSON line). One per thread: each thread logs through its own writer.
 *
 * @example
 * ```ts
 * import { pino } from "pino";
 * import { ringDestination, readLog } from "unified-ring-buffer/pino";
 * const log = pino({}, ringDestination(ring));
 * log.info({ user: 42 }, "signed in");
 * const reg = eventRegistry(ring);
 * for (const r of ring.iterator().drain()) console.log(readLog(reg, r)?.msg); // "signed in"
 * ```
 */
export function ringDestination(ring: RingBuffer, options: RingDestinationOptions = {}): RingDestination {
  return new RingDestination(ring, options);
}

const RING_DESTINATION_OPTIONS_KEYS = optionKeys<RingDestinationOptions>({ writer: true, fullWaitMs: true });

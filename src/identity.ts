/**
 * Who wrote a record: process id, thread id and thread name, carried in the ring by IDENTITY
 * records (docs/FORMAT.md 8.3): writers put one at the start of every page they write on a
 * per-thread lane and one in every claim on a shared lane; readers stamp every record with the
 * nearest IDENTITY record before it in its page.
 *
 * The core knows no runtime: the identity of the calling thread comes from a provider that the
 * runtime layer installs (`unified-ring-buffer/node` installs one with `process.pid` and
 * `worker_threads.threadId`); without one, only the pid of a runtime that has a global `process`
 * is known. A writer can also be given its identity (`ring.writer({ identity })`).
 */
import {
  IDENTITY_FIXED_BYTES,
  IDENTITY_PID,
  IDENTITY_THREAD_ID,
  IDENTITY_NAME_MAX,
  INTERNAL_BIT,
  INTERNAL_IDENTITY,
  LENGTH_MASK,
  LENGTH_SHIFT,
  RECORD_HEADER_BYTES,
  STATE_COMMITTED,
  STATE_SHIFT,
  TYPE_MASK,
} from "./layout.js";
import type { RingRecord } from "./reader.js";

/** Who writes: a process, one of its threads, and the thread's name. */
export interface ThreadIdentity {
  /** Process id; 0 when unknown. */
  readonly pid: number;
  /** Thread id within the process (Node's `threadId`: 0 for the main thread); -1 when unknown. */
  readonly threadId: number;
  /** Thread name ("main", a worker's name); "" when unknown. At most 40 UTF-8 bytes reach the ring. */
  readonly name: string;
}

/** The identity of a thread nobody described. */
export const UNKNOWN_IDENTITY: ThreadIdentity = Object.freeze({ pid: 0, threadId: -1, name: "" });

let provider: (() => ThreadIdentity) | undefined;

/**
 * Install the function that says who the calling thread is (called once per writer). Runtime
 * layers install one; an application on another runtime may install its own.
 *
 * @example
 * ```ts
 * import { setIdentityProvider } from "unified-ring-buffer";
 * setIdentityProvider(() => ({ pid: Deno.pid, threadId: 0, name: "main" }));
 * ```
 */
export function setIdentityProvider(fn: (() => ThreadIdentity) | undefined): void {
  provider = fn;
}

/** The calling thread's identity, from the installed provider (else the global `process.pid` if any). */
export function currentIdentity(): ThreadIdentity {
  if (provider !== undefined) return checkIdentity(provider(), "the identity provider");
  const pid = (globalThis as { process?: { pid?: unknown } }).process?.pid;
  return typeof pid === "number" && pid >= 0 && pid <= 0xffffffff ? { pid, threadId: -1, name: "" } : UNKNOWN_IDENTITY;
}

/** Validate an identity; `where` names its source in the TypeError. */
export function checkIdentity(id: Partial<ThreadIdentity>, where: string): ThreadIdentity {
  const { pid = 0, threadId = -1, name = "" } = id;
  if (!Number.isInteger(pid) || pid < 0 || pid > 0xffffffff) throw new TypeError(`${where}: pid must be an integer from 0 to 2^32-1, received ${String(pid)}`);
  if (!Number.isInteger(threadId) || threadId < -1 || threadId > 0x7fffffff) {
    throw new TypeError(`${where}: threadId must be an integer from -1 to 2^31-1, received ${String(threadId)}`);
  }
  if (typeof name !== "string") throw new TypeError(`${where}: name must be a string, received ${typeof name}`);
  return { pid, threadId, name };
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** `name` as UTF-8, cut to at most `max` bytes at a code point boundary. */
export function cutUtf8(name: string, max: number): Uint8Array {
  const bytes = encoder.encode(name);
  if (bytes.length <= max) return bytes;
  let end = max;
  while (end > 0 && ((bytes[end] ?? 0) & 0xc0) === 0x80) end--; // back to the start of a code point
  return bytes.subarray(0, end);
}

/** The payload of an IDENTITY record for `id`: pid, threadId and, when `withName`, the name. */
export function identityPayload(id: ThreadIdentity, withName: boolean): Uint8Array {
  const name = withName ? cutUtf8(id.name, IDENTITY_NAME_MAX) : new Uint8Array(0);
  const out = new Uint8Array(IDENTITY_FIXED_BYTES + name.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(IDENTITY_PID, id.pid, true);
  dv.setInt32(IDENTITY_THREAD_ID, id.threadId, true);
  out.set(name, IDENTITY_FIXED_BYTES);
  return out;
}

/** Longest name a reader decodes from an (untrusted) IDENTITY record. */
const NAME_READ_MAX = 255;

/**
 * A reader's view of who wrote the records of one lane: the last IDENTITY record met in the
 * current page, and every thread name met so far (a shared lane names a producer once per page).
 */
export class IdentityTracker {
  pid = 0;
  threadId = -1;
  name = "";
  #page = Number.NaN;
  readonly #names = new Map<number, Map<number, string>>();

  /** Records are read from page `page` now: a new page forgets the identity of the last one. */
  atPage(page: number): void {
    if (page === this.#page) return;
    this.#page = page;
    this.forget();
  }

  /** Is the identity the one of page `page` (read from its start, or found by {@link scan})? */
  isAt(page: number): boolean {
    return page === this.#page;
  }

  /**
   * Find the last IDENTITY record among the records at `u8[from .. to)` (a page's records before
   * the point where reading starts). Untrusted bytes: stops at the first header that does not fit.
   */
  scan(u8: Uint8Array, from: number, to: number): void {
    for (let at = from; at + RECORD_HEADER_BYTES <= to; ) {
      const w = ((u8[at] ?? 0) | ((u8[at + 1] ?? 0) << 8) | ((u8[at + 2] ?? 0) << 16) | ((u8[at + 3] ?? 0) << 24)) >>> 0;
      const length = (w >>> LENGTH_SHIFT) & LENGTH_MASK;
      const size = (RECORD_HEADER_BYTES + length + 7) & ~7;
      if (w >>> STATE_SHIFT === 0 || at + size > to) return;
      if (w >>> STATE_SHIFT === STATE_COMMITTED && (w & (INTERNAL_BIT | TYPE_MASK)) === (INTERNAL_BIT | INTERNAL_IDENTITY)) {
        this.read(u8, at + RECORD_HEADER_BYTES, length);
      }
      at += size;
    }
  }

  /** Identity unknown from here (a loss, a jump). */
  forget(): void {
    this.pid = 0;
    this.threadId = -1;
    this.name = "";
  }

  /** Take the IDENTITY record whose payload is `u8[at .. at + length)` (untrusted: a short one makes the identity unknown). */
  read(u8: Uint8Array, at: number, length: number): void {
    if (length < IDENTITY_FIXED_BYTES || at + length > u8.length) {
      this.forget();
      return;
    }
    const pid = u32le(u8, at + IDENTITY_PID);
    const threadId = u32le(u8, at + IDENTITY_THREAD_ID) | 0;
    this.pid = pid;
    this.threadId = threadId;
    let byPid = this.#names.get(pid);
    if (length > IDENTITY_FIXED_BYTES) {
      const n = Math.min(length - IDENTITY_FIXED_BYTES, NAME_READ_MAX);
      const name = decoder.decode(u8.subarray(at + IDENTITY_FIXED_BYTES, at + IDENTITY_FIXED_BYTES + n));
      if (byPid === undefined) this.#names.set(pid, (byPid = new Map()));
      if (byPid.get(threadId) !== name) byPid.set(threadId, name);
      this.name = name;
    } else {
      this.name = byPid?.get(threadId) ?? "";
    }
  }

  /** Stamp `r` with the current identity. */
  stamp(r: RingRecord): void {
    r.pid = this.pid;
    r.threadId = this.threadId;
    r.threadName = this.name;
  }

  /** The name met for (pid, threadId), or "". */
  nameOf(pid: number, threadId: number): string {
    return this.#names.get(pid)?.get(threadId) ?? "";
  }
}

/** The little-endian u32 at `u8[at .. at + 4)` (any alignment). */
export function u32le(u8: Uint8Array, at: number): number {
  return ((u8[at] ?? 0) | ((u8[at + 1] ?? 0) << 8) | ((u8[at + 2] ?? 0) << 16) | ((u8[at + 3] ?? 0) << 24)) >>> 0;
}

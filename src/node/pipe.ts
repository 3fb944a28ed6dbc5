/**
 * Page hand-off to a file, our splice: a consumer moves whole committed pages out of the ring with
 * one gathered `writev` per batch, framed as a `.urb` trace file (docs/FORMAT.md section 13), while
 * writers keep writing. No record is copied or re-encoded.
 *
 * Two ways to hand a page off, by mode (docs/DESIGN.md, "Page hand-off"):
 * - discard mode: the page's own bytes in shared memory go to `writev` (zero-copy), and the pages
 *   are taken (the tail moved past them) only after the write: nothing but this consumer frees a
 *   page in discard mode, so they cannot change meanwhile;
 * - overwrite mode: a writer may recycle any page at any time, so each page is copied once into a
 *   staging buffer and kept only if the tail compare-exchange then proves it was not recycled
 *   during the copy. A page lost that way becomes a LOST chunk with its exact record count: never a
 *   torn page in the file.
 */
import { closeSync, writevSync } from "node:fs";
import "./crc32.js"; // the native CRC-32 for the file chunks
import { openOutputFile } from "./output-file.js";
import { PAGE_HEADER_BYTES } from "../layout.js";
import type { LaneHandoff, RingReader } from "../reader.js";
import type { RingBuffer } from "../ring.js";
import { crc32 } from "../tracefile/crc32.js";
import { LaneChunkNumbers, encodeChunk, encodeFileHeader, lostChunk, writeChunkHeader } from "../tracefile/encode.js";
import { CHUNK_END, CHUNK_HEADER_BYTES, CHUNK_PAD, CHUNK_PAGE, LOST_CAUSE_DROPPED, LOST_CAUSE_OVERRUN } from "../tracefile/file-layout.js";
import { metadataChunk, metadataUnsettled, metadataUsed, ringHeaderChunk } from "../tracefile/ring-chunks.js";
import { registerWaiter, unregisterWaiter, waitForSeqAsync } from "../wakeup.js";
import { checkOptions, optionKeys } from "../options.js";

/** Options of {@link pipeToFile}. */
export interface PipeOptions {
  /** Lanes to hand off. Default: all. */
  lanes?: readonly number[];
  /** Pages gathered into one write (1..512). Default 64. */
  batchPages?: number;
  /** Checksum page chunks too (CRC-32: Node's zlib.crc32 where it has one, 20.15+ and 22.2+, else about 1 GB/s in JS). Default false: headers and metadata are always checksummed. */
  checksumPages?: boolean;
}

/** Options of {@link TracePipe.run}. */
export interface PipeRunOptions {
  /** Stop (after a final flush) when this aborts. */
  signal?: AbortSignal;
  /** Hand off the committed part of unfinished pages at least this often, in ms, so a slow lane still reaches the file. Default 1000. */
  flushMs?: number;
  /** Sleep until this many records were committed ring-wide (or 100 ms passed). Default 64. */
  wakeRecords?: number;
}

/** What a pipe moved. */
export interface PipeStats {
  /** Whole pages written. */
  pages: number;
  /** Partial pages (fragments) written by flushes. */
  fragments: number;
  /** Bytes written to the file, framing included (chunk headers, PAD chunks of aligned batches). */
  bytes: number;
  /**
   * Records lost before they could be handed off, as written in LOST chunks: overwritten (overwrite
   * mode, including before the pipe attached) or dropped by writers that retired before they could
   * report it in-band.
   */
  lost: number;
  /** writev calls. */
  writes: number;
}

/**
 * Hand off a ring's pages to a `.urb` file (a path, created with mode 0600, or an open file
 * descriptor). Takes the consumer role of the lanes it reads (one consumer per lane).
 *
 * @example
 * ```ts
 * const pipe = pipeToFile(ring, "app.urb");
 * const ac = new AbortController();
 * const done = pipe.run({ signal: ac.signal }); // moves pages as they fill
 * // ... later
 * ac.abort(); await done; // flushed, closed, and readable with openTraceFile("app.urb")
 * ```
 */
/**
 * Where a pipe's bytes go when not to a file: called synchronously with the parts of one batch, in
 * order. The views may point into the ring or into reused buffers: a sink that keeps them must copy
 * them before it returns.
 */
export type PageSink = (parts: readonly Uint8Array[], bytes: number) => void;

export function pipeToFile(ring: RingBuffer, target: string | number, options: PipeOptions = {}): TracePipe {
  return new TracePipe(ring, target, options);
}

/** Laps one lane may take within one batch of {@link TracePipe.pump} (each restarts from the tail). */
const LAPS_PER_PUMP = 8;
/** Batches of fewer pages than this are not aligned (see #alignBytes): the PAD chunk would cost too much of them. */
const MIN_ALIGNED_BATCH_PAGES = 16;

export class TracePipe {
  readonly stats: PipeStats = { pages: 0, fragments: 0, bytes: 0, lost: 0, writes: 0 };
  readonly #ring: RingBuffer;
  readonly #reader: RingReader;
  readonly #lanes: readonly LaneHandoff[];
  readonly #fd: number;
  readonly #ownsFd: boolean;
  readonly #sink: PageSink | undefined;
  readonly #zeroCopy: boolean;
  readonly #checksum: boolean;
  readonly #batch: number;
  readonly #ps: number;
  readonly #staging: Uint8Array;
  readonly #headers: Uint8Array;
  readonly #headerViews: Uint8Array[] = [];
  readonly #hdv: DataView;
  readonly #iov: Uint8Array[] = [];
  /**
   * Full batches end at a multiple of this many bytes in the file (a PAD chunk fills up to it), or
   * 0 for no alignment (a sink, or small batches). Linux (6.16+ on ext4, earlier on tmpfs and xfs)
   * caches a write that starts at such a boundary in large folios; a stream of writes that each
   * start where the framing left the last one gets small ones, measured 15 % slower for the same
   * bytes (bench/notes/page-to-file.md).
   */
  readonly #alignBytes: number;
  readonly #padHeader = new Uint8Array(CHUNK_HEADER_BYTES);
  readonly #padHeaderView = new DataView(this.#padHeader.buffer);
  #zeros = new Uint8Array(0);
  readonly #takes: number[] = [];
  readonly #lost = { count: 0, time: 0, jumped: false };
  #metaUsed = 0;
  /** Entries the last METADATA chunk held unfinished (see #metadataIfChanged). */
  #metaUnsettled = 0;
  #closed = false;
  /** Bytes a failed write left, retried first. */
  #pending: Uint8Array[] | null = null;
  /** CH_NUMBER of each lane's PAGE and LOST chunks, in the order they are queued (= file order): a reader sees a chunk that damage took (FORMAT.md 13.5). */
  readonly #numbers = new LaneChunkNumbers();

  /** @param target a path (created, mode 0600), an open file descriptor, or a {@link PageSink}. */
  constructor(ring: RingBuffer, target: string | number | PageSink, options: PipeOptions = {}) {
    checkOptions("Cannot create trace pipe", options, PIPE_OPTIONS_KEYS);
    const batch = options.batchPages ?? 64;
    if (!Number.isInteger(batch) || batch < 1 || batch > 512) {
      throw new RangeError(`Cannot pipe: batchPages must be an integer from 1 to 512, received ${String(options.batchPages)}`);
    }
    this.#ring = ring;
    this.#ps = ring.geometry.pageSize;
    this.#batch = batch;
    this.#zeroCopy = !ring.geometry.overwrite;
    this.#checksum = options.checksumPages ?? false;
    this.#staging = new Uint8Array(this.#zeroCopy ? 0 : batch * this.#ps);
    this.#headers = new Uint8Array(batch * CHUNK_HEADER_BYTES);
    this.#hdv = new DataView(this.#headers.buffer);
    for (let i = 0; i < batch; i++) {
      this.#headerViews.push(this.#headers.subarray(i * CHUNK_HEADER_BYTES, (i + 1) * CHUNK_HEADER_BYTES));
    }
    // The largest power of two not above a batch's bytes.
    this.#alignBytes = typeof target === "function" || batch < MIN_ALIGNED_BATCH_PAGES ? 0 : 2 ** Math.floor(Math.log2(batch * this.#ps));
    this.#reader = ring.consumer(options.lanes === undefined ? {} : { lanes: options.lanes });
    this.#lanes = this.#reader.handoffLanes();
    try {
      this.#ownsFd = typeof target === "string";
      this.#sink = typeof target === "function" ? target : undefined;
      this.#fd = typeof target === "string" ? openOutputFile(target) : typeof target === "number" ? target : -1;
    } catch (e) {
      this.#reader.close();
      throw e;
    }
    const start = [encodeFileHeader(0, Date.now()), ringHeaderChunk(ring)];
    try {
      this.#writeAll(start);
    } catch (e) {
      // No pipe to retry with: give the lanes back (and the file, if the pipe opened it).
      this.#reader.close();
      if (this.#ownsFd) closeSync(this.#fd);
      throw e;
    }
  }

  /** True once {@link close} ran. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Move every complete page now, synchronously, in batches of gathered writes. Returns the bytes
   * written. Throws what the file system throws (e.g. ENOSPC); pages not written stay in the ring.
   */
  pump(maxPages = Infinity): number {
    const before = this.stats.bytes;
    const pagesBefore = this.stats.pages;
    this.#retryPending();
    for (let round = 0; ; round++) {
      this.#metadataIfChanged();
      const iov = this.#iov;
      const takes = this.#takes;
      const ps = this.#ps;
      const room = this.#batchRoom();
      let n = 0; // pages in this batch
      let h = 0; // chunk headers used
      let full = false; // a page was left out for lack of room: pad to the boundary, go on
      for (const lane of this.#lanes) {
        this.#lostOf(lane);
        if (lane.restComplete()) this.#fragments(lane); // finish a page a flush had started
        let used = queuedBytes(iov);
        if (this.#zeroCopy) {
          // Consecutive slots are adjacent in memory: one chunk (and one iovec) per run of them.
          const u8 = this.#ring.core.u8;
          let k = 0;
          let runSlot = -1;
          let runPages = 0;
          for (let slot: number; n < this.#batch && (slot = lane.completePageSlot(k)) >= 0; k++, n++) {
            const joins = runPages > 0 && slot === runSlot + runPages * ps;
            used += joins ? ps : ps + CHUNK_HEADER_BYTES;
            if (!fitsRoom(used, room)) {
              full = true;
              break;
            }
            if (joins) {
              runPages++;
              continue;
            }
            if (runPages > 0) this.#queuePageRun(h++, lane.lane, lane.page + k - runPages, u8.subarray(runSlot, runSlot + runPages * ps));
            runSlot = slot;
            runPages = 1;
          }
          if (runPages > 0) this.#queuePageRun(h++, lane.lane, lane.page + k - runPages, u8.subarray(runSlot, runSlot + runPages * ps));
          if (k > 0) takes.push(lane.lane, k);
        } else {
          // Copies of consecutive pages of a lane sit side by side in the staging buffer: one chunk
          // for them. A lap (the ring overwrote the pages at the cursor, before or while they were
          // copied) moves the cursor to the tail with the loss pending: queue the loss, go on from there.
          for (let lap = 0; lap < LAPS_PER_PUMP && n < this.#batch; lap++) {
            lane.skipOverwritten();
            this.#lostOf(lane);
            const first = n;
            let firstPage = -1;
            used = queuedBytes(iov);
            for (let page: number; n < this.#batch; n++) {
              used += n > first ? ps : ps + CHUNK_HEADER_BYTES;
              if (!fitsRoom(used, room)) {
                full = lane.completePageSlot(0) >= 0;
                break;
              }
              if ((page = lane.copyPage(this.#staging, n * ps)) < 0) break;
              if (firstPage < 0) firstPage = page;
            }
            if (n > first) this.#queuePageRun(h++, lane.lane, firstPage, this.#staging.subarray(first * ps, n * ps));
            lane.skipOverwritten();
            if (full || !this.#lostOf(lane)) break; // no lap: every complete page of the lane is in this batch (or it is full)
          }
        }
        if (full) break;
      }
      if (full) this.#pad(room - queuedBytes(iov));
      if (iov.length === 0) break;
      try {
        this.#writeAll(iov);
      } finally {
        // Written, or kept in #pending if the write failed: either way the pages leave the ring.
        iov.length = 0;
        this.stats.pages += n;
        for (let i = 0; i < takes.length; i += 2) {
          const lane = this.#laneByIndex(takes[i] as number);
          // Discard mode: only this consumer frees pages, so the tail cannot have moved.
          if (!lane.takePages(takes[i + 1] as number)) throw new Error(`Page hand-off: the tail of lane ${lane.lane} moved during a zero-copy write (is another consumer attached?)`);
        }
        takes.length = 0;
      }
      if ((n < this.#batch && !full) || this.stats.pages - pagesBefore >= maxPages) break;
    }
    return this.stats.bytes - before;
  }

  /**
   * {@link pump}, then also hand off the committed records of each lane's unfinished page (as page
   * fragments), so that everything committed so far is in the file. Returns the bytes written.
   */
  flush(): number {
    const before = this.stats.bytes;
    this.pump();
    for (const lane of this.#lanes) {
      this.#lostOf(lane);
      this.#fragments(lane);
      this.#unreportedOf(lane);
    }
    if (this.#iov.length > 0) {
      try {
        this.#writeAll(this.#iov);
      } finally {
        this.#iov.length = 0; // written, or kept in #pending: never queued twice
      }
    }
    return this.stats.bytes - before;
  }

  /**
   * Move pages as writers fill them until `signal` aborts, sleeping in between (writers wake it,
   * paying only while it sleeps); then flush and close.
   */
  async run(options: PipeRunOptions = {}): Promise<PipeStats> {
    checkOptions("Cannot run trace pipe", options, PIPE_RUN_OPTIONS_KEYS);
    const flushMs = options.flushMs ?? 1000;
    const wake = options.wakeRecords ?? 64;
    const signal = options.signal;
    let lastFlush = performance.now();
    try {
      while (!this.#closed && signal?.aborted !== true) {
        this.pump();
        if (performance.now() - lastFlush >= flushMs) {
          this.flush();
          lastFlush = performance.now();
        }
        await this.waitForPages({ timeoutMs: Math.min(100, flushMs), wakeRecords: wake, ...(signal ? { signal } : {}) });
      }
    } finally {
      this.close();
    }
    return this.stats;
  }

  /**
   * Write a LOST chunk now: `count` records of `lane` that a writer dropped and never reported
   * in-band (a drain reports them for a writer that died or stopped first). Counted in stats.lost.
   */
  lost(lane: number, count: number, time: number): void {
    this.#writeAll([lostChunk(lane, count, time, LOST_CAUSE_DROPPED, this.#numbers.next(lane))]);
    this.stats.lost += count;
  }

  /** Flush, write the END chunk, close the file (when the pipe opened it) and release the lanes. */
  close(): void {
    if (this.#closed) return;
    try {
      this.flush();
      const end = new TextEncoder().encode(JSON.stringify({ ...this.stats, closedMs: Date.now() }));
      this.#writeAll([encodeChunk({ kind: CHUNK_END, lane: 0, offset: 0, value: 0 }, end)]);
    } finally {
      this.#closed = true;
      this.#reader.close();
      if (this.#ownsFd) closeSync(this.#fd);
    }
  }

  /**
   * Sleep until a complete page may be ready: `wakeRecords` commits ring-wide, `timeoutMs`, or an
   * abort (writers pay for the wakeup only while this sleeps). Resolves at once when a page is ready.
   */
  async waitForPages(options: { timeoutMs: number; wakeRecords?: number; signal?: AbortSignal }): Promise<void> {
    const i32 = this.#ring.core.i32;
    const seq = registerWaiter(i32, options.wakeRecords ?? 64);
    try {
      // The last look after announcing ourselves (see wakeup.ts: no lost wakeup).
      if (!this.#anyComplete()) {
        // A file ring's wake channel (futex) also wakes us for commits made in other processes.
        const channel = this.#ring.wakeChannel;
        if (channel !== undefined) await channel.waitAsync(seq, options.timeoutMs, options.signal);
        else await waitForSeqAsync(i32, seq, options.timeoutMs, options.signal);
      }
    } finally {
      unregisterWaiter(i32);
    }
  }

  #anyComplete(): boolean {
    for (const lane of this.#lanes) if (lane.completePageSlot(0) >= 0 || lane.restComplete()) return true;
    return false;
  }

  #laneByIndex(index: number): LaneHandoff {
    for (const l of this.#lanes) if (l.lane === index) return l;
    throw new Error(`no lane ${index}`);
  }

  /** Queue a LOST chunk for what `lane` lost since the last look (overwritten before it was taken). True when it did. */
  #lostOf(lane: LaneHandoff): boolean {
    lane.takeLost(this.#lost);
    return this.#queueLost(lane.lane, LOST_CAUSE_OVERRUN, this.#lost.jumped);
  }

  /**
   * Queue a LOST chunk for the drops of `lane`'s retired writers that no LOST record carries. Only
   * once everything committed was handed off (after the fragments of a flush): they happened after
   * those writers' last records.
   */
  #unreportedOf(lane: LaneHandoff): void {
    lane.takeUnreported(this.#lost);
    this.#queueLost(lane.lane, LOST_CAUSE_DROPPED);
  }

  /**
   * Queue the LOST chunk of `this.#lost`. A count of 0 is written when the lane's position
   * `jumped` (pages passed that held no data record): it tells readers the jump is no gap (13.4).
   */
  #queueLost(lane: number, cause: number, jumped = false): boolean {
    const { count, time } = this.#lost;
    if (count === 0 && !jumped) return false;
    this.#iov.push(lostChunk(lane, count, time, cause, this.#numbers.next(lane)));
    if (count === count) this.stats.lost += count; // NaN (not knowable) is in the chunk, not in the sum
    return true;
  }

  /** Queue fragments: the committed records of `lane` from its cursor on, as page chunks. */
  #fragments(lane: LaneHandoff): void {
    // Bounded: each run takes records out of the ring, at most a lap of pages.
    for (let i = 0; i < 1 << 16 && lane.takeRun(); i++) {
      this.#lostOf(lane); // a loss found on the way to the run comes before it
      const run = lane.bytes.subarray(lane.runStart, lane.runEnd);
      const payload = new Uint8Array(PAGE_HEADER_BYTES + run.length);
      payload.set(lane.bytes.subarray(0, PAGE_HEADER_BYTES));
      payload.set(run, PAGE_HEADER_BYTES);
      const chunk = new Uint8Array(CHUNK_HEADER_BYTES + payload.length);
      writeChunkHeader(new DataView(chunk.buffer), 0, { kind: CHUNK_PAGE, lane: lane.lane, offset: lane.runStart, value: lane.runPage, number: this.#numbers.next(lane.lane) }, payload.length, crc32(payload));
      chunk.set(payload, CHUNK_HEADER_BYTES);
      this.#iov.push(chunk);
      this.stats.fragments++;
    }
  }

  /**
   * Bytes the next batch may fill so that it ends on a multiple of #alignBytes in the file (or
   * Infinity, not aligning). At least a page, its chunk header and a PAD header.
   */
  #batchRoom(): number {
    const a = this.#alignBytes;
    if (a === 0) return Infinity;
    const room = a - (this.stats.bytes % a);
    return room < this.#ps + 2 * CHUNK_HEADER_BYTES ? room + a : room;
  }

  /** Queue a PAD chunk of `bytes` in all (header included; a multiple of 8, at least the header). */
  #pad(bytes: number): void {
    const payload = bytes - CHUNK_HEADER_BYTES;
    // Exactly full, or past the boundary already (fragments or LOST chunks queued before the pages
    // took the room): no pad; the next full batch aligns again.
    if (payload < 0) return;
    if (this.#zeros.length < payload) this.#zeros = new Uint8Array(payload);
    writeChunkHeader(this.#padHeaderView, 0, { kind: CHUNK_PAD, lane: 0, offset: 0, value: 0 }, payload, undefined);
    this.#iov.push(this.#padHeader, this.#zeros.subarray(0, payload));
  }

  /** Queue whole pages `view` of `lane` from page counter `page` on, behind their chunk header (slot `h` of the header buffer). */
  #queuePageRun(h: number, lane: number, page: number, view: Uint8Array): void {
    writeChunkHeader(this.#hdv, h * CHUNK_HEADER_BYTES, { kind: CHUNK_PAGE, lane, offset: PAGE_HEADER_BYTES, value: page, number: this.#numbers.next(lane) }, view.length, this.#checksum ? crc32(view) : undefined);
    this.#iov.push(this.#headerViews[h] as Uint8Array, view);
  }

  /**
   * Copy the metadata area again when it grew, or when an entry that the last copy held unfinished
   * (claimed, not yet published: a schema or a process name being written that instant) has been
   * published since: readers take the last METADATA chunk, so it must not be the unfinished one.
   */
  #metadataIfChanged(): void {
    const used = metadataUsed(this.#ring);
    const unsettled = metadataUnsettled(this.#ring);
    if (used <= this.#metaUsed && unsettled >= this.#metaUnsettled) return;
    const chunk = metadataChunk(this.#ring, used);
    if (chunk !== null) this.#writeAll([chunk]);
    this.#metaUsed = used;
    this.#metaUnsettled = unsettled;
  }

  /** Write what a failed write left (if anything) before anything else, so the file stays in order. */
  #retryPending(): void {
    const p = this.#pending;
    if (p === null) return;
    this.#pending = null;
    this.#writeAll(p);
  }

  /**
   * One gathered write of `parts`, continued after a short write. If the file system fails (a full
   * disk), the bytes not written are copied into #pending (the views may point into the ring or the
   * staging buffer), retried first by the next pump, and the error is thrown.
   */
  #writeAll(parts: Uint8Array[]): void {
    if (this.#pending !== null) {
      this.#pending.push(...parts.map((p) => p.slice()));
      this.#retryPending();
      return;
    }
    const total = queuedBytes(parts);
    if (this.#sink !== undefined) {
      try {
        this.#sink(parts, total);
      } catch (e) {
        this.#pending = parts.map((p) => p.slice()); // as after a failed write: retried first
        throw e;
      }
      this.stats.writes++;
      this.stats.bytes += total;
      return;
    }
    let done = 0;
    try {
      while (done < total) {
        done += writevSync(this.#fd, done === 0 ? parts : remainder(parts, done));
        this.stats.writes++;
      }
    } catch (e) {
      this.#pending = remainder(parts, done).map((p) => p.slice());
      this.stats.bytes += done;
      throw e;
    }
    this.stats.bytes += total;
  }
}

/** Bytes in `parts`. */
function queuedBytes(parts: readonly Uint8Array[]): number {
  let n = 0;
  for (const p of parts) n += p.length;
  return n;
}

/**
 * Do `used` bytes fit a batch of `room`? Exactly, or with room left for a PAD chunk's header (the
 * pad that fills the rest).
 */
function fitsRoom(used: number, room: number): boolean {
  return used === room || used + CHUNK_HEADER_BYTES <= room;
}

/** The views of `parts` after their first `skip` bytes. */
function remainder(parts: readonly Uint8Array[], skip: number): Uint8Array[] {
  const rest: Uint8Array[] = [];
  for (const p of parts) {
    if (skip >= p.length) skip -= p.length;
    else {
      rest.push(skip > 0 ? p.subarray(skip) : p);
      skip = 0;
    }
  }
  return rest;
}

const PIPE_OPTIONS_KEYS = optionKeys<PipeOptions>({ lanes: true, batchPages: true, checksumPages: true });
const PIPE_RUN_OPTIONS_KEYS = optionKeys<PipeRunOptions>({ signal: true, flushMs: true, wakeRecords: true });

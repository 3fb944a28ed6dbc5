/**
 * Snapshots: a `.urb` image of what a ring holds now, taken while writers keep writing (the flight
 * recorder's dump; ftrace's snapshot buffer without the swap). Nothing is consumed and no writer
 * waits: each page is copied like an iterator reads it, and kept only if it was not recycled while
 * it was copied. See docs/DESIGN.md, "Snapshots".
 *
 * What "consistent" means. Per lane: the image holds a run of pages in lane order, each page copied
 * up to its last published record (whole records only; a record reserved but not committed at the
 * time of the copy stays BUSY in the image and a reader skips and counts it), and a page that was
 * overwritten during the copy is replaced by a LOST chunk with its exact record count. Across
 * lanes, each lane's copy is taken at a slightly different moment (microseconds apart); the image
 * is not an atomic cut of the whole ring, as no lock-free copy of many independently written
 * lanes can be.
 */
import { PAGE_HEADER_BYTES, PG_BASE_TIME, PG_CUM_READY, PG_RECORDS_BEFORE, L_TAIL_POS8, laneOffset, pos8Offset, pos8Page, slotOffset } from "./layout.js";
import { PageWalk, fence, laneHeadPage, pageHolds, pageState, walkHeldPage } from "./pages.js";
import type { RingBuffer } from "./ring.js";
import { crc32 } from "./tracefile/crc32.js";
import { LaneChunkNumbers, concatBytes, encodeFileHeader, lostChunk, writeChunkHeader } from "./tracefile/encode.js";
import { CHUNK_HEADER_BYTES, CHUNK_PAGE, FILE_FLAG_RECOVERED, FILE_FLAG_SNAPSHOT, LOST_CAUSE_OVERRUN, padded } from "./tracefile/file-layout.js";
import { metadataChunk, ringHeaderChunk } from "./tracefile/ring-chunks.js";
import { checkOptions, optionKeys } from "./options.js";

/** Options of {@link snapshotRing}. */
export interface SnapshotOptions {
  /** Mark the image as extracted from a crashed ring's memory (FILE_FLAG_RECOVERED). */
  recovered?: boolean;
}

/** Counts of one {@link snapshotRing} call. */
export interface SnapshotInfo {
  /** Pages copied. */
  pages: number;
  /** Committed data records in them. */
  records: number;
  /** Records lost to overwrites while the copy ran (reported in the image as LOST chunks). */
  lost: number;
}

/**
 * Copy the ring's current content into a `.urb` file image (docs/FORMAT.md section 13). Read it
 * back with `openTrace(bytesSource(image))`, or write it to a file (`dumpRing` in
 * `unified-ring-buffer/node`).
 *
 * @example
 * ```ts
 * const image = snapshotRing(ring);
 * const trace = openTrace(bytesSource(image));
 * for (const r of trace.records()) console.log(r.lane, r.type, r.timestamp);
 * ```
 */
export function snapshotRing(ring: RingBuffer, info?: SnapshotInfo, options: SnapshotOptions = {}): Uint8Array {
  checkOptions("Cannot snapshot ring", options, SNAPSHOT_OPTIONS_KEYS);
  const flags = FILE_FLAG_SNAPSHOT | (options.recovered === true ? FILE_FLAG_RECOVERED : 0);
  const parts: Uint8Array[] = [encodeFileHeader(flags, Date.now()), ringHeaderChunk(ring)];
  const meta = metadataChunk(ring);
  if (meta !== null) parts.push(meta);
  const counts = info ?? { pages: 0, records: 0, lost: 0 };
  const numbers = new LaneChunkNumbers();
  for (let lane = 0; lane < ring.geometry.lanes; lane++) copyLane(ring, lane, parts, counts, numbers);
  return concatBytes(parts);
}

/** A page kept in the image, with what loss accounting needs. */
interface KeptPage {
  page: number;
  recordsBefore: number;
  records: number;
  baseTime: number;
}

function copyLane(ring: RingBuffer, lane: number, parts: Uint8Array[], counts: SnapshotInfo, numbers: LaneChunkNumbers): void {
  const c = ring.core;
  const g = c.g;
  const laneBase = laneOffset(g, lane);
  const own = lane < g.ownLanes;
  const walk = new PageWalk();
  const head = laneHeadPage(c, laneBase);
  // Acquire the tail (the oldest record not consumed or cleared); pairs with the consumer's and recyclers' compareExchange.
  const tail = Atomics.load(c.i32, (laneBase + L_TAIL_POS8) >> 2);
  const tailPage = Math.max(0, pos8Page(g, tail, head));
  const tailOff = pos8Offset(g, tail);
  let prev: KeptPage | null = null;
  let gap = false;
  // Bounded: at most one lap of pages, whatever the writers do meanwhile.
  for (let page = Math.max(tailPage, head - g.lanePages + 1); page <= head; page++) {
    const slot = slotOffset(g, laneBase, page);
    if (pageState(c, slot, page) !== 0) {
      gap = true; // recycled already (or a never-written page): its records are gone
      continue;
    }
    // The tail's page starts at the tail, as an iterator does: what was consumed or cleared is not in the image.
    const from = page === tailPage && tailOff > PAGE_HEADER_BYTES ? tailOff : PAGE_HEADER_BYTES;
    let held: boolean;
    let skipped = 0;
    try {
      held = from === PAGE_HEADER_BYTES || walkHeldPage(c, slot, page, PAGE_HEADER_BYTES, walk, own, from);
      skipped = from === PAGE_HEADER_BYTES ? 0 : walk.records;
      held = held && walkHeldPage(c, slot, page, from, walk, own);
    } catch {
      held = false; // a page whose records do not parse is left out, like a recycled one
    }
    if (!held || walk.end < from) {
      gap = true;
      continue;
    }
    const end = walk.end;
    const bytes = new Uint8Array(PAGE_HEADER_BYTES + end - from);
    bytes.set(c.u8.subarray(slot, slot + PAGE_HEADER_BYTES), 0);
    bytes.set(c.u8.subarray(slot + from, slot + end), PAGE_HEADER_BYTES);
    fence(); // the copy's plain loads complete before the re-check
    if (!pageHolds(c, slot, page)) {
      gap = true;
      continue;
    }
    const hdr = new DataView(bytes.buffer);
    const kept: KeptPage = {
      page,
      recordsBefore: hdr.getUint32(PG_CUM_READY, true) === 1 ? hdr.getFloat64(PG_RECORDS_BEFORE, true) + skipped : Number.NaN,
      records: walk.records,
      baseTime: hdr.getFloat64(PG_BASE_TIME, true),
    };
    if (gap && prev !== null) {
      // The pages left out may have held no committed record (only discarded ones): no loss to state.
      const lost = kept.recordsBefore - (prev.recordsBefore + prev.records);
      if (lost !== 0) parts.push(lostChunk(lane, lost, kept.baseTime, LOST_CAUSE_OVERRUN, numbers.next(lane)));
      if (lost === lost) counts.lost += lost;
    }
    gap = false;
    if (end > from || from === PAGE_HEADER_BYTES) {
      parts.push(pageChunk(lane, page, from, bytes, numbers.next(lane), g.pageSize));
      counts.pages++;
    }
    counts.records += walk.records;
    prev = kept;
  }
}

/**
 * A PAGE chunk: the page header copy, then page bytes from `from` on. A whole page is unchecked like
 * the pipe's; a fragment (from the tail, or up to the last record) carries a checksum (FORMAT.md 13.3).
 */
function pageChunk(lane: number, page: number, from: number, bytes: Uint8Array, number: number, pageSize: number): Uint8Array {
  const out = new Uint8Array(CHUNK_HEADER_BYTES + padded(bytes.length));
  const whole = from === PAGE_HEADER_BYTES && bytes.length === pageSize;
  writeChunkHeader(new DataView(out.buffer), 0, { kind: CHUNK_PAGE, lane, offset: from, value: page, number }, bytes.length, whole ? undefined : crc32(bytes));
  out.set(bytes, CHUNK_HEADER_BYTES);
  return out;
}

const SNAPSHOT_OPTIONS_KEYS = optionKeys<SnapshotOptions>({ recovered: true });

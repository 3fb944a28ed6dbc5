/**
 * The binary layout of a ring: every offset, size and bit field, in one place.
 *
 * This module is the code twin of docs/FORMAT.md (the normative contract). Nothing else in src/ may
 * contain a byte offset or a flag literal; it asks this module. No I/O and no Atomics here.
 *
 * All multi-byte fields are little-endian (the ring is accessed through typed arrays, which use the
 * host's byte order; {@link assertLittleEndianHost} refuses big-endian hosts).
 *
 * ```
 * +----------------+---------------------+----------------+-----------------------------------------+
 * | ring header    | producer table      | metadata area  | lane 0 | lane 1 | ... | lane N-1          |
 * | 256 B          | maxProducers * 64 B | metadataBytes  | each: lane header 192 B + pages         |
 * +----------------+---------------------+----------------+-----------------------------------------+
 * lane:  | lane header | page 0 | page 1 | ... | page P-1 |      page: | page header 48 B | records ... |
 * ```
 *
 * Positions. A lane is an endless sequence of pages numbered 0, 1, 2, ... (the page counter, 64 bits,
 * kept as a double in JS). Page n lives in slot n mod P. Byte positions inside a lane are "pos8"
 * values: (pageCounter * pageSize + offsetInPage) / 8, truncated to 32 bits, free-running. Compare
 * them only through {@link pos8Diff} (`(a - b) | 0`): they wrap.
 */

/** "URB1" read as a little-endian u32. */
export const RING_MAGIC = 0x31425255;
/** Version of the layout described here and in docs/FORMAT.md. */
export const FORMAT_VERSION = 1;

// ---------------------------------------------------------------------------------------------
// Ring header: 256 bytes at offset 0. Byte offsets.
export const RING_HEADER_BYTES = 256;
export const H_MAGIC = 0;
export const H_VERSION = 4;
export const H_HEADER_BYTES = 8;
export const H_TOTAL_BYTES = 12;
export const H_FLAGS = 16;
export const H_CLOCK = 20;
export const H_PAGE_SHIFT = 24;
export const H_LANE_PAGES_SHIFT = 28;
export const H_OWN_LANES = 32;
export const H_SHARED_LANES = 36;
export const H_MAX_PRODUCERS = 40;
export const H_METADATA_BYTES = 44;
export const H_PRODUCERS_OFFSET = 48;
export const H_METADATA_OFFSET = 52;
export const H_LANES_OFFSET = 56;
export const H_LANE_STRIDE = 60;
/** f64: wall-clock milliseconds since the Unix epoch at ring time 0. */
export const H_EPOCH_WALL_MS = 64;
/** u32 pair (lo, hi): CLOCK_MONOTONIC nanoseconds at ring time 0, when FLAG_EPOCH_MONOTONIC is set. */
export const H_EPOCH_MONO_LO = 72;
export const H_EPOCH_MONO_HI = 76;
/** f64: the creator's `performance.timeOrigin + performance.now()` at ring time 0 (fallback clock link). */
export const H_EPOCH_ORIGIN_MS = 80;
/** u32: the `counter` clock, alone on its cache line (every writer increments it). */
export const H_COUNTER = 128;
/**
 * u32 pair: folds of a retired producer's counters into its lane's totals begun / ended (each an
 * Atomics.add by the folder). A statistics reader that loads H_FOLDS_ENDED before reading producer
 * slots and lane totals and H_FOLDS_BEGUN after, and finds them equal, saw no fold half done (no
 * count in both places or in neither). See docs/FORMAT.md section 4.1.
 */
export const H_FOLDS_BEGUN = 120;
export const H_FOLDS_ENDED = 124;
/**
 * f64: a recent unwrapped value of the counter clock, stored (plainly; any recent value will do) by
 * every page preparation. The 32-bit counter is unwrapped against it, which stays right as long as
 * some lane switches pages within every 2^31 records ring-wide.
 */
export const H_COUNTER_BASE = 136;
/**
 * Wakeups (one cache line, read by every commit while nobody waits). u32: readers registered as
 * about to sleep. Writers load it after each commit and do nothing more while it is 0.
 */
export const H_WAITERS = 192;
/** u32: the futex word sleeping readers wait on; a writer that wakes them adds 1 and notifies. */
export const H_WAKE_SEQ = 196;
/** i32: commits still to come before sleeping readers are woken (their watermark); <= 0: wake now. */
export const H_WAKE_BUDGET = 200;
/**
 * Writers waiting for room (RingWriter.reserveWaiting), on the wakeup cache line: u32 count of
 * writers registered as about to sleep on a full lane; a consumer loads it after each take and does
 * nothing more while it is 0.
 */
export const H_SPACE_WAITERS = 204;
/** u32: the futex word waiting writers sleep on; a consumer that freed room while one waits adds 1 and notifies. */
export const H_SPACE_SEQ = 208;

/** Set in H_FLAGS when the ring overwrites its oldest pages; clear for discard mode. */
export const FLAG_OVERWRITE = 1 << 0;
/** Set in H_FLAGS when H_EPOCH_MONO_* holds a CLOCK_MONOTONIC reading. */
export const FLAG_EPOCH_MONOTONIC = 1 << 1;
export const KNOWN_FLAGS = FLAG_OVERWRITE | FLAG_EPOCH_MONOTONIC;

/** Values of H_CLOCK. */
export const CLOCK_NONE = 0;
export const CLOCK_MONO = 1;
export const CLOCK_COUNTER = 2;
export const CLOCK_USER = 3;

// ---------------------------------------------------------------------------------------------
// Producer table: maxProducers slots of 64 bytes (one cache line each, no false sharing).
export const PRODUCER_BYTES = 64;
/** u32: PRODUCER_FREE, PRODUCER_ALIVE or PRODUCER_DEAD. */
export const P_STATE = 0;
/** u32: the lane this producer writes. */
export const P_LANE = 4;
/** u32: a caller-chosen tag (thread id, process id) to find a producer by. */
export const P_TAG = 8;
/** u32: incremented on each claim of the slot. */
export const P_GENERATION = 12;
/** f64: records this producer refused because the lane was full or not ready (single writer: the producer). */
export const P_DROPPED = 16;
/** f64: reservations of this producer abandoned by reclaim after it died (single writer: the reclaimer). */
export const P_ABANDONED = 24;
/** f64: of P_DROPPED, the drops this producer reported in-band in LOST records (single writer: the producer). */
export const P_REPORTED = 56;
export const PRODUCER_FREE = 0;
export const PRODUCER_ALIVE = 1;
/** Closed or declared dead, while its counters are folded into its lane's totals; FREE right after. */
export const PRODUCER_DEAD = 2;
/** Being claimed: tag and lane are not written yet. */
export const PRODUCER_CLAIMING = 3;

// ---------------------------------------------------------------------------------------------
// Lane header: 192 bytes, three cache lines (writer side, consumer side, reserved).
export const LANE_HEADER_BYTES = 192;
/** u32: LANE_OWN (single producer) or LANE_SHARED (multi-producer). */
export const L_KIND = 0;
/** u32: producer id + 1 of the owner of an own lane; 0 when unowned. */
export const L_OWNER = 4;
/** u32: low 32 bits of the newest page counter writers have entered. */
export const L_HEAD_PAGE = 8;
/** u32: pos8 of the oldest byte not yet consumed (moved by the consumer, and pushed by writers in overwrite mode). */
export const L_TAIL_POS8 = 64;
/**
 * u32: who consumes the lane. 0: nobody; CONSUMER_SINGLE: one consumer; CONSUMER_GROUP | n: a
 * consumer group of n members (n >= 1), which take runs of records from the shared tail.
 */
export const L_CONSUMER = 68;
export const CONSUMER_SINGLE = 1;
export const CONSUMER_GROUP = 1 << 30;
export const CONSUMER_MEMBERS_MASK = CONSUMER_GROUP - 1;
/** f64: records delivered to the consumer (single writer: the consumer). */
export const L_READ = 72;
/**
 * u32 pair (lo, hi): records delivered to the members of a consumer group, added atomically by each
 * member (lo with Atomics.add; the member whose add carries out of lo adds 1 to hi). On the third
 * cache line, away from the writers' and the single consumer's words.
 */
export const L_GROUP_READ_LO = 128;
export const L_GROUP_READ_HI = 132;
/**
 * u32 pair (lo, hi): records taken out of the lane by clear() (a reset: taken like a consumer's
 * take, handed to nobody), added atomically the same way as L_GROUP_READ. 0 on a ring never cleared.
 */
export const L_CLEARED_LO = 136;
export const L_CLEARED_HI = 140;
/**
 * u32 pairs (lo, hi), added atomically the same way as L_GROUP_READ by whoever retires a producer
 * of the lane (its close() or reclaim): the P_DROPPED and P_ABANDONED of the lane's retired
 * producers, whose slots are then free again (docs/FORMAT.md section 4.1).
 */
export const L_DROPPED_LO = 144;
export const L_DROPPED_HI = 148;
export const L_ABANDONED_LO = 152;
export const L_ABANDONED_HI = 156;
/**
 * u32 pair (lo, hi): drops of the lane's retired producers that no LOST record carries
 * (P_DROPPED - P_REPORTED at retirement: a writer that closed while its lane was still full, or
 * died). A consumer reports them as a loss (L_UNREPORTED - L_UNREPORTED_TOLD) when it catches up.
 */
export const L_UNREPORTED_LO = 160;
export const L_UNREPORTED_HI = 164;
/** f64: of L_UNREPORTED, what consumers were told (single writer: the lane's consumer). */
export const L_UNREPORTED_TOLD = 168;
/**
 * f64: records overwritten before a consumer got to them that consumers were told of (single
 * writer: the lane's consumer). A new consumer reports the overrun no consumer was told of
 * (records before the tail - L_READ - L_CLEARED - L_OVERRUN_TOLD) as its first loss.
 */
export const L_OVERRUN_TOLD = 176;
// Bytes 184..191 are reserved and zero.
export const LANE_OWN = 0;
export const LANE_SHARED = 1;

// ---------------------------------------------------------------------------------------------
// Page header: 48 bytes at the start of every page slot.
export const PAGE_HEADER_BYTES = 48;
/** u32: low 32 bits of the page counter held by this slot; during preparation: previous value + 1. */
export const PG_SEQ = 0;
/** u32: high 32 bits of the page counter. */
export const PG_SEQ_HI = 4;
/** f64: ring time (clock units) that record time deltas in this page are relative to. */
export const PG_BASE_TIME = 8;
/** f64: committed data records in all earlier pages of the lane (valid when PG_CUM_READY is 1). */
export const PG_RECORDS_BEFORE = 16;
/** f64: payload bytes of those records. */
export const PG_BYTES_BEFORE = 24;
/** u32: 1 when PG_RECORDS_BEFORE and PG_BYTES_BEFORE are valid. */
export const PG_CUM_READY = 32;
/** u32: producer id + 1 of the producer preparing this slot; 0 otherwise. */
export const PG_PREPARER = 36;
/**
 * u32, per-thread lanes only: offset in the page below which every record is final (committed or
 * discarded). A batching bound, not what makes a record visible (each record's word0 store does
 * that): the owner publishes it with one atomic store when no reservation is open, every
 * PUBLISH_EVERY records and at page close, and readers read the records below it with plain loads.
 * PAGE_HEADER_BYTES in a fresh page; the page size once the page is closed (the page is then
 * final). Shared lanes leave it at PAGE_HEADER_BYTES.
 */
export const PG_COMMITTED = 40;
/**
 * u32, per-thread lanes only: 0 (unknown), or 1 + the number of committed data records in the page.
 * Stored plainly by the owner before it publishes PG_COMMITTED = page size, when it wrote the whole
 * page itself (a writer that took over a lane mid-page leaves 0). Lets a reader hand off a closed
 * page without walking it.
 */
export const PG_PAGE_RECORDS = 44;

// ---------------------------------------------------------------------------------------------
// Record header: 8 bytes, 8-aligned.  word0 is the commit word, word1 the time delta.
//
//   word0:  31 30 | 29 ............ 14 | 13       | 12 ........ 0
//           state | length (bytes)     | internal | type
//   word1:  time delta from PG_BASE_TIME (u32, clock units)
//
// length counts the bytes after the 8-byte header (the payload); the record occupies
// align8(8 + length) bytes. word0 == 0 means "nothing here yet": pages are zeroed before reuse.
// While BUSY on a shared lane, bits 13..0 hold the reserving producer's id instead of
// internal/type, and the length covers the claim's IDENTITY record and maybe a LOST and/or TIME
// record written before the data record in the same claim (they become visible together at commit).
// A delta that does not fit (a record more than ~4.29 s after its page's base, or before it) is
// replaced by an INTERNAL_TIME record just before the data record, carrying its absolute time.
export const RECORD_HEADER_BYTES = 8;
export const RECORD_ALIGN = 8;
export const STATE_SHIFT = 30;
export const STATE_BUSY = 1;
export const STATE_COMMITTED = 2;
export const STATE_DISCARDED = 3;
/** XOR that turns a BUSY word0 into a COMMITTED one (01 -> 10). */
export const BUSY_TO_COMMITTED = 0xc0000000 | 0;
/** XOR that turns a BUSY word0 into a DISCARDED one (01 -> 11). */
export const BUSY_TO_DISCARDED = 0x80000000 | 0;
export const LENGTH_SHIFT = 14;
export const LENGTH_MASK = 0xffff;
export const INTERNAL_BIT = 1 << 13;
export const TYPE_MASK = 0x1fff;
export const INFO_MASK = 0x3fff;
/** The largest user record type. */
export const MAX_TYPE = TYPE_MASK;
/** The largest producer id a BUSY word can name. */
export const MAX_PRODUCERS_LIMIT = INFO_MASK + 1;
/** The largest time delta word1 can hold. */
export const MAX_TIME_DELTA = 0xffffffff;

/** Internal record types (with INTERNAL_BIT set). */
export const INTERNAL_PADDING = 0;
/** Payload: f64 count of records the writer refused just before this point. */
export const INTERNAL_LOST = 1;
export const LOST_PAYLOAD_BYTES = 8;
/** Payload: f64 absolute time of the next record in the page (whose word1 is then ignored). */
export const INTERNAL_TIME = 2;
/** Size of a whole TIME record (header + f64). */
export const TIME_RECORD_BYTES = 16;
/**
 * Payload: u32 pid at +0, i32 threadId at +4, then 0..IDENTITY_NAME_MAX bytes of UTF-8 thread name.
 * Who wrote the records after it in the same page, up to the next IDENTITY record (FORMAT.md 8.3).
 */
export const INTERNAL_IDENTITY = 3;
/** Payload offsets of an IDENTITY record: u32 pid, i32 threadId. */
export const IDENTITY_PID = 0;
export const IDENTITY_THREAD_ID = 4;
/** Bytes of an IDENTITY payload before the name. */
export const IDENTITY_FIXED_BYTES = 8;
/** Longest thread name an IDENTITY record carries (UTF-8 bytes; longer names are cut at a code point). */
export const IDENTITY_NAME_MAX = 40;
/** Largest whole IDENTITY record: align8(8 + 8 + IDENTITY_NAME_MAX). */
export const IDENTITY_RECORD_MAX = 56;

// ---------------------------------------------------------------------------------------------
// Geometry limits.
export const MIN_PAGE_SIZE = 256;
export const MAX_PAGE_SIZE = 65536;
export const MIN_LANE_PAGES = 4;
export const MAX_LANE_PAGES = 1 << 20;
export const MAX_LANES = 1024;
export const MAX_TOTAL_BYTES = 0x7fffffff;
export const METADATA_ALIGN = 64;
export const MAX_METADATA_BYTES = 1 << 24;

/** Build a word0 value. */
export function recordWord(state: number, payloadBytes: number, info: number): number {
  return ((state << STATE_SHIFT) | (payloadBytes << LENGTH_SHIFT) | info) | 0;
}
export function wordState(word0: number): number {
  return word0 >>> STATE_SHIFT;
}
export function wordLength(word0: number): number {
  return (word0 >>> LENGTH_SHIFT) & LENGTH_MASK;
}
export function wordInfo(word0: number): number {
  return word0 & INFO_MASK;
}
/** Bytes a record with `length` bytes after its header occupies in its page. */
export function recordBytes(length: number): number {
  return (RECORD_HEADER_BYTES + length + 7) & ~7;
}

/** Signed distance a - b between two free-running 32-bit values. */
export function pos8Diff(a: number, b: number): number {
  return (a - b) | 0;
}

/** Geometry of one ring, as read from (or about to be written to) its header. */
export interface RingGeometry {
  readonly totalBytes: number;
  readonly overwrite: boolean;
  readonly clock: number;
  readonly pageShift: number;
  readonly pageSize: number;
  readonly lanePagesShift: number;
  readonly lanePages: number;
  readonly ownLanes: number;
  readonly sharedLanes: number;
  readonly lanes: number;
  readonly maxProducers: number;
  readonly metadataBytes: number;
  readonly producersOffset: number;
  readonly metadataOffset: number;
  readonly lanesOffset: number;
  readonly laneStride: number;
  /** Largest payload a record can carry: page size - 144 (page header, record header, room for an IDENTITY, a LOST and a TIME record). */
  readonly maxPayload: number;
}

export interface GeometryInput {
  overwrite: boolean;
  clock: number;
  pageSize: number;
  lanePages: number;
  ownLanes: number;
  sharedLanes: number;
  maxProducers: number;
  metadataBytes: number;
}

function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
}

function checkRange(what: string, value: number, min: number, max: number, powerOfTwo: boolean): void {
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw new TypeError(`Cannot create ring: ${what} must be an integer, received ${String(value)}`);
  }
  if (value < min || value > max || (powerOfTwo && !isPowerOfTwo(value))) {
    const rule = powerOfTwo ? `a power of two from ${min} to ${max}` : `from ${min} to ${max}`;
    throw new RangeError(`Cannot create ring: ${what} must be ${rule}, received ${value}`);
  }
}

/** Compute and validate the geometry of a new ring. Throws RangeError/TypeError naming the bad value. */
export function computeGeometry(input: GeometryInput): RingGeometry {
  checkRange("pageSize", input.pageSize, MIN_PAGE_SIZE, MAX_PAGE_SIZE, true);
  checkRange("pagesPerLane", input.lanePages, MIN_LANE_PAGES, MAX_LANE_PAGES, true);
  checkRange("lanes", input.ownLanes, 0, MAX_LANES, false);
  checkRange("sharedLanes", input.sharedLanes, 0, MAX_LANES, false);
  if (input.ownLanes + input.sharedLanes === 0) {
    throw new RangeError("Cannot create ring: lanes + sharedLanes must be at least 1, received 0");
  }
  if (input.ownLanes + input.sharedLanes > MAX_LANES) {
    throw new RangeError(
      `Cannot create ring: lanes + sharedLanes must be at most ${MAX_LANES}, received ${input.ownLanes + input.sharedLanes}`,
    );
  }
  checkRange("maxProducers", input.maxProducers, 1, MAX_PRODUCERS_LIMIT, false);
  checkRange("metadataBytes", input.metadataBytes, 0, MAX_METADATA_BYTES, false);
  const pageShift = Math.log2(input.pageSize);
  const lanePagesShift = Math.log2(input.lanePages);
  const metadataBytes = Math.ceil(input.metadataBytes / METADATA_ALIGN) * METADATA_ALIGN;
  const producersOffset = RING_HEADER_BYTES;
  const metadataOffset = producersOffset + input.maxProducers * PRODUCER_BYTES;
  const lanesOffsetRaw = metadataOffset + metadataBytes;
  // Lanes start 64-aligned; a lane's page slots follow its 192-byte header.
  const lanesOffset = Math.ceil(lanesOffsetRaw / METADATA_ALIGN) * METADATA_ALIGN;
  const laneStride = LANE_HEADER_BYTES + input.lanePages * input.pageSize;
  const lanes = input.ownLanes + input.sharedLanes;
  const totalBytes = lanesOffset + lanes * laneStride;
  if (totalBytes > MAX_TOTAL_BYTES) {
    throw new RangeError(
      `Cannot create ring: total size must be at most ${MAX_TOTAL_BYTES} bytes, received ${totalBytes} ` +
        `(${lanes} lanes x ${input.lanePages} pages x ${input.pageSize} bytes)`,
    );
  }
  return {
    totalBytes,
    overwrite: input.overwrite,
    clock: input.clock,
    pageShift,
    pageSize: input.pageSize,
    lanePagesShift,
    lanePages: input.lanePages,
    ownLanes: input.ownLanes,
    sharedLanes: input.sharedLanes,
    lanes,
    maxProducers: input.maxProducers,
    metadataBytes,
    producersOffset,
    metadataOffset,
    lanesOffset,
    laneStride,
    // Room is kept for an IDENTITY, a LOST and a TIME record in front of the largest record in an empty page.
    maxPayload:
      input.pageSize - PAGE_HEADER_BYTES - IDENTITY_RECORD_MAX - RECORD_HEADER_BYTES - (RECORD_HEADER_BYTES + LOST_PAYLOAD_BYTES) - TIME_RECORD_BYTES,
  };
}

/** Byte offset of lane `lane`'s header. */
export function laneOffset(g: RingGeometry, lane: number): number {
  return g.lanesOffset + lane * g.laneStride;
}
/** Byte offset of the slot that holds page `pageNo` (a page counter) of the lane at `laneBase`. */
export function slotOffset(g: RingGeometry, laneBase: number, pageNo: number): number {
  return laneBase + LANE_HEADER_BYTES + (((pageNo >>> 0) & (g.lanePages - 1)) << g.pageShift);
}
/** Is the lane whose header is at `laneBase` a per-thread (single-producer) lane? */
export function isOwnLane(g: RingGeometry, laneBase: number): boolean {
  return laneBase < g.lanesOffset + g.ownLanes * g.laneStride;
}
/** Byte offset of producer slot `id`. */
export function producerOffset(g: RingGeometry, id: number): number {
  return g.producersOffset + id * PRODUCER_BYTES;
}
/** pos8 of byte `offsetInPage` of page `pageNo`. */
export function toPos8(g: RingGeometry, pageNo: number, offsetInPage: number): number {
  // pageNo * (pageSize / 8) mod 2^32, computed without losing bits for pageNo up to 2^53.
  const perPage = g.pageSize >>> 3;
  const lo = pageNo >>> 0;
  return (Math.imul(lo, perPage) + (offsetInPage >>> 3)) >>> 0;
}
/** Offset inside its page of a pos8. */
export function pos8Offset(g: RingGeometry, pos8: number): number {
  return (pos8 << 3) & (g.pageSize - 1);
}
/**
 * The page counter of `pos8`, given any page counter `near` within 2^(34 - pageShift) pages of it.
 * A pos8 only keeps the low bits of its page counter; `near` supplies the rest.
 */
export function pos8Page(g: RingGeometry, pos8: number, near: number): number {
  const bits = 35 - g.pageShift; // page counter bits a pos8 keeps
  const mod = 2 ** bits;
  const low = pos8 >>> (g.pageShift - 3);
  const nearLow = near % mod;
  let d = low - nearLow;
  if (d > mod / 2) d -= mod;
  else if (d < -mod / 2) d += mod;
  return near + d;
}

/** Throws on a big-endian host: the layout is little-endian and typed arrays use host order. */
export function assertLittleEndianHost(): void {
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
    throw new Error("Cannot use ring: this host is big-endian and the ring layout is little-endian");
  }
}

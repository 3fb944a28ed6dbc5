/**
 * The binary layout of a `.urb` trace file: every offset, size and code, in one place. The code
 * twin of docs/FORMAT.md section 13; nothing else in src/tracefile/ contains a byte offset. No I/O.
 *
 * A trace file is the ring's own bytes, framed: a file header, then chunks, each a 40-byte chunk
 * header and a payload padded to 8 bytes. The first chunk is the ring header (geometry, clock,
 * epoch) copied as it is; metadata chunks carry the schema area as it is; page chunks carry page
 * bytes as they are in the ring (no re-encoding), so a record in a file decodes exactly as in
 * memory (docs/FORMAT.md sections 6 and 8).
 *
 * ```
 * | file header 64 B | chunk | chunk | ... |          chunk: | chunk header 40 B | payload | pad to 8 |
 * PAGE payload: | page header 48 B (as in the ring) | page bytes [offset, offset + n) |
 * ```
 *
 * All fields little-endian. Every chunk starts 8-aligned, so page bytes are 8-aligned in the file.
 * Version 2 added the chunk header's own checksum (CH_HEADER_CRC): with the sync word it lets a
 * reader find the next intact chunk after damage (FORMAT.md 13.5). Version 1 files (32-byte chunk
 * headers, no header checksum) are still read.
 */

/** "URBT" read as a little-endian u32. */
export const FILE_MAGIC = 0x54425255;
/** Version of the file framing described here (2: chunk headers carry their own checksum). */
export const FILE_VERSION = 2;
/** The oldest version readers still accept: 1, whose chunk headers are 32 bytes without a checksum. */
export const FILE_VERSION_MIN = 1;
export const FILE_HEADER_BYTES = 64;
/** u32: FILE_MAGIC. */
export const FH_MAGIC = 0;
/** u32: FILE_VERSION. */
export const FH_VERSION = 4;
/** u32: FILE_HEADER_BYTES (readers skip to this offset for the first chunk). */
export const FH_HEADER_BYTES = 8;
/** u32: FILE_FLAG_* bits. */
export const FH_FLAGS = 12;
/** f64: wall-clock milliseconds since the Unix epoch when the file was started. */
export const FH_CREATED_MS = 16;
// Bytes 24..63 are reserved and zero.

/** The file holds a snapshot of a ring (non-consuming copy) rather than a stream of handed-off pages. */
export const FILE_FLAG_SNAPSHOT = 1 << 0;
/** The file was extracted from the memory of a ring whose writers may have died (crash recovery). */
export const FILE_FLAG_RECOVERED = 1 << 1;
export const KNOWN_FILE_FLAGS = FILE_FLAG_SNAPSHOT | FILE_FLAG_RECOVERED;

// ---------------------------------------------------------------------------------------------
// Chunk header: 40 bytes (version 1: 32, without CH_RESERVED and CH_HEADER_CRC).
export const CHUNK_HEADER_BYTES = 40;
/** Chunk header size of a version 1 file. */
export const CHUNK_HEADER_BYTES_V1 = 32;
export const CHUNK_ALIGN = 8;
/** "URCK" read as a little-endian u32: marks every chunk header (a misframed read fails at once). */
export const CHUNK_SYNC = 0x4b435255;
/** u32: CHUNK_SYNC. */
export const CH_SYNC = 0;
/** u16: CHUNK_* kind. */
export const CH_KIND = 4;
/** u16: CHUNK_FLAG_* bits. */
export const CH_FLAGS = 6;
/** u32: payload bytes (the padding to 8 that follows is not counted). */
export const CH_LENGTH = 8;
/** u32: CRC-32 (IEEE 802.3) of the payload when CHUNK_FLAG_CRC is set, else 0. */
export const CH_CRC = 12;
/** u32: lane index (PAGE and LOST chunks), else 0. */
export const CH_LANE = 16;
/** u32: PAGE: offset in the page of the first byte after the page-header copy; else 0. */
export const CH_OFFSET = 20;
/** f64: PAGE: the page counter; LOST: records lost (NaN when unknown); else 0. */
export const CH_VALUE = 24;
/**
 * u32: PAGE and LOST chunks: 1 + the number of PAGE and LOST chunks of lane CH_LANE before this one
 * in the file (mod 2^32, never 0), so a reader sees a lane's chunk that damage took away, also
 * before the lane's first intact chunk; 0 when the writer does not number them (and other kinds).
 */
export const CH_NUMBER = 32;
/** u32: CRC-32 of the chunk header's bytes [0, 36): what lets a reader tell a chunk header from page bytes after damage. */
export const CH_HEADER_CRC = 36;

/** Payload CH_CRC is valid. Writers set it on every chunk except PAGE chunks (optional there: speed). */
export const CHUNK_FLAG_CRC = 1 << 0;
/** CH_FLAGS bits this version defines; a chunk with another bit set is skipped (its payload may be encoded otherwise). */
export const KNOWN_CHUNK_FLAGS = CHUNK_FLAG_CRC;

/** Payload: the ring header (RING_HEADER_BYTES) as it is in the ring. First chunk of every file. */
export const CHUNK_RING = 1;
/** Payload: the used prefix of the metadata area as it is in the ring. A later one supersedes an earlier one. */
export const CHUNK_METADATA = 2;
/**
 * Payload: a page header copy, then page bytes from CH_OFFSET on: whole records, committed when
 * handed off. Or, with CH_OFFSET = 48 and CH_LENGTH = k * pageSize (k >= 2): k consecutive whole
 * pages of the lane, each with its own header, from page CH_VALUE on.
 */
export const CHUNK_PAGE = 3;
/** Most whole pages one PAGE chunk may hold (a reader needs one chunk in memory per lane): CH_LENGTH <= 512 * pageSize. */
export const MAX_CHUNK_PAGES = 512;
/** Payload: LOST_PAYLOAD_BYTES. Records of lane CH_LANE that never reached the file at this point. */
export const CHUNK_LOST = 4;
/** Payload: UTF-8 JSON with the writer's counters. Written last by a writer that closed the file cleanly. */
export const CHUNK_END = 5;
/**
 * Payload: zeros that mean nothing. The page hand-off ends a large write with one so that the next
 * write starts on a boundary where the page cache can use large folios (docs/DESIGN.md, "Page
 * hand-off"); readers skip it like any kind they do not know.
 */
export const CHUNK_PAD = 6;
/** The highest kind of framing version 1 (its resynchronization takes kinds 1..5 as plausible). */
export const MAX_CHUNK_KIND = CHUNK_END;

// LOST chunk payload.
export const LOST_PAYLOAD_BYTES = 16;
/** f64: ring time of the loss (the first retained record's page base time after it). */
export const LC_TIME = 0;
/** u32: LOST_CAUSE_* code. */
export const LC_CAUSE = 8;
/** Pages overwritten in the ring before they were handed off or copied (overwrite mode). */
export const LOST_CAUSE_OVERRUN = 1;
/** Records a writer dropped and never reported in-band (it died or stopped first); reported for it by the drain. */
export const LOST_CAUSE_DROPPED = 2;

/** Round a payload length up to the chunk alignment. */
export function padded(length: number): number {
  return (length + CHUNK_ALIGN - 1) & ~(CHUNK_ALIGN - 1);
}

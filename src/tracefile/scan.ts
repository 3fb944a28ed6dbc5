/**
 * First pass over a trace file: check the file header and the ring header, then walk the chunk
 * headers (skipping page payloads) to index each lane's chunks. Bounded by construction: every step
 * moves forward by at least 8 bytes. Framing damage (a chunk header that is not intact, a length
 * past the end) is reported with its byte offset, and the walk resynchronizes on the next intact
 * chunk header (its sync word and, from file version 2 on, its own checksum): everything intact
 * before and after the damage stays readable (docs/FORMAT.md 13.5).
 */
import { TraceFileError } from "../errors.js";
import { PAGE_HEADER_BYTES, RING_HEADER_BYTES, type RingGeometry } from "../layout.js";
import { geometryFromHeader } from "../ring.js";
import { crc32 } from "./crc32.js";
import {
  CHUNK_END,
  CHUNK_FLAG_CRC,
  CHUNK_HEADER_BYTES,
  CHUNK_HEADER_BYTES_V1,
  CHUNK_LOST,
  CHUNK_METADATA,
  CHUNK_PAGE,
  CHUNK_RING,
  CHUNK_SYNC,
  CH_CRC,
  CH_FLAGS,
  CH_HEADER_CRC,
  CH_KIND,
  CH_LANE,
  CH_LENGTH,
  CH_OFFSET,
  CH_SYNC,
  FH_CREATED_MS,
  FH_FLAGS,
  FH_HEADER_BYTES,
  FH_MAGIC,
  FH_VERSION,
  FILE_HEADER_BYTES,
  FILE_MAGIC,
  FILE_VERSION,
  FILE_VERSION_MIN,
  KNOWN_CHUNK_FLAGS,
  KNOWN_FILE_FLAGS,
  LOST_PAYLOAD_BYTES,
  MAX_CHUNK_KIND,
  MAX_CHUNK_PAGES,
  padded,
} from "./file-layout.js";
import type { ByteSource } from "./source.js";

/** What the first pass learned. */
export interface TraceIndex {
  readonly size: number;
  /** FH_VERSION: 1 or 2. */
  readonly version: number;
  /** Chunk header size of this version (40; 32 in version 1). */
  readonly chunkHeaderBytes: number;
  readonly fileFlags: number;
  readonly createdMs: number;
  readonly ringHeader: Uint8Array;
  readonly geometry: RingGeometry;
  /** The last METADATA chunk's payload, or null. */
  readonly metadata: Uint8Array | null;
  /** Per lane: file positions of its PAGE and LOST chunks, in file order. */
  readonly lanes: number[][];
  /** Parsed END chunk, or undefined when the file was not closed cleanly. */
  readonly end: unknown;
  readonly chunks: number;
  /** Damage found: each names the byte where it starts; the chunks after it were still indexed. */
  readonly warnings: TraceFileError[];
  /** Where framing damage (bytes that held chunks of unknown lanes) starts, in file order. */
  readonly damage: number[];
}

const KIND_NAMES = ["", "ring", "metadata", "page", "lost", "end", "pad"];

/**
 * Does a PAGE chunk of `length` bytes from page offset `offset` frame (FORMAT.md 13.3)? Either part
 * of one page (a whole page is `length == pageSize` from offset 48), or `k` whole pages, `2 <= k <=
 * MAX_CHUNK_PAGES`, from offset 48.
 */
export function pageChunkFits(length: number, offset: number, pageSize: number): boolean {
  if (length < PAGE_HEADER_BYTES || offset < PAGE_HEADER_BYTES || offset % 8 !== 0 || offset > pageSize) return false;
  if (length - PAGE_HEADER_BYTES <= pageSize - offset) return true; // one page, or a fragment of one
  return offset === PAGE_HEADER_BYTES && length % pageSize === 0 && length / pageSize <= MAX_CHUNK_PAGES;
}

/** Bytes the resynchronizing search reads at a time. */
const SEARCH_BLOCK = 1 << 16;

/** Index `src`. Throws TraceFileError when it is not a trace file or its ring header is unusable. */
export function scanTrace(src: ByteSource): TraceIndex {
  const size = src.size;
  const head = new Uint8Array(FILE_HEADER_BYTES);
  if (size < FILE_HEADER_BYTES || src.read(0, head, FILE_HEADER_BYTES) !== FILE_HEADER_BYTES) {
    throw new TraceFileError(`Not a trace file: ${size} bytes, less than the ${FILE_HEADER_BYTES}-byte file header`, 0);
  }
  const dv = new DataView(head.buffer);
  const magic = dv.getUint32(FH_MAGIC, true);
  if (magic !== FILE_MAGIC) {
    throw new TraceFileError(`Not a trace file: magic at byte 0 is 0x${magic.toString(16)}, expected 0x${FILE_MAGIC.toString(16)} ("URBT")`, 0);
  }
  const version = dv.getUint32(FH_VERSION, true);
  if (version < FILE_VERSION_MIN || version > FILE_VERSION) {
    throw new TraceFileError(`Unsupported trace file version ${version} at byte ${FH_VERSION}: this reader knows versions ${FILE_VERSION_MIN} to ${FILE_VERSION}`, FH_VERSION);
  }
  const headerBytes = dv.getUint32(FH_HEADER_BYTES, true);
  if (headerBytes < FILE_HEADER_BYTES || headerBytes % 8 !== 0 || headerBytes > size) {
    throw new TraceFileError(`Bad file header size ${headerBytes} at byte ${FH_HEADER_BYTES}: expected a multiple of 8 from ${FILE_HEADER_BYTES} up to the file's ${size} bytes`, FH_HEADER_BYTES);
  }
  const fileFlags = dv.getUint32(FH_FLAGS, true);
  if ((fileFlags & ~KNOWN_FILE_FLAGS) !== 0) {
    throw new TraceFileError(`Unknown file flags 0x${fileFlags.toString(16)} at byte ${FH_FLAGS}`, FH_FLAGS);
  }

  const chunkHeaderBytes = version === 1 ? CHUNK_HEADER_BYTES_V1 : CHUNK_HEADER_BYTES;
  const hdr = new Uint8Array(CHUNK_HEADER_BYTES);
  const hv = new DataView(hdr.buffer);
  const warnings: TraceFileError[] = [];
  const damage: number[] = [];
  const lanes: number[][] = [];
  let ringHeader: Uint8Array | null = null;
  let geometry: RingGeometry | null = null;
  let metadata: Uint8Array | null = null;
  let end: unknown = undefined;
  let chunks = 0;

  /**
   * Is the chunk header at `pos` (read into `hdr`) intact? Version 2: its sync word and its own
   * checksum. Version 1 has no header checksum: the sync word, a known kind and flags, and a
   * length that fits the file stand in for it.
   */
  const intactAt = (pos: number): boolean => {
    if (pos + chunkHeaderBytes > size || src.read(pos, hdr, chunkHeaderBytes) !== chunkHeaderBytes) return false;
    if (hv.getUint32(CH_SYNC, true) !== CHUNK_SYNC) return false;
    if (version >= 2) return crc32(hdr, 0, CH_HEADER_CRC) === hv.getUint32(CH_HEADER_CRC, true);
    const kind = hv.getUint16(CH_KIND, true);
    return kind >= CHUNK_RING && kind <= MAX_CHUNK_KIND && (hv.getUint16(CH_FLAGS, true) & ~KNOWN_CHUNK_FLAGS) === 0 && pos + chunkHeaderBytes + hv.getUint32(CH_LENGTH, true) <= size;
  };
  /** The first 8-aligned position from `from` on that holds an intact chunk header, or `size`. Leaves that header in `hdr`. */
  const resync = (from: number): number => {
    const block = new Uint8Array(SEARCH_BLOCK);
    const bv = new DataView(block.buffer);
    for (let at = from; at < size; at += SEARCH_BLOCK - 8) {
      const n = src.read(at, block, Math.min(SEARCH_BLOCK, size - at));
      for (let i = 0; i + 4 <= n; i += 8) {
        if (bv.getUint32(i, true) === CHUNK_SYNC && intactAt(at + i)) return at + i;
      }
      if (n < SEARCH_BLOCK) break;
    }
    return size;
  };

  let pos = headerBytes;
  while (pos < size) {
    if (!intactAt(pos)) {
      if (geometry === null) {
        throw new TraceFileError(`Bad trace file: the first chunk header (byte ${pos}) is damaged or cut short, so the ring header cannot be trusted`, pos);
      }
      const next = resync(pos + 8);
      const why = pos + chunkHeaderBytes > size ? `a chunk header starts at byte ${pos} but the file ends at ${size}` : `no intact chunk header at byte ${pos}`;
      warnings.push(
        new TraceFileError(
          next < size
            ? `Damaged file: ${why}; ${next - pos} bytes skipped, reading resumes at the next intact chunk (byte ${next})`
            : `${pos + chunkHeaderBytes > size ? "Truncated" : "Damaged"} file: ${why}; no intact chunk follows (${size - pos} bytes skipped)`,
          pos,
        ),
      );
      damage.push(pos);
      pos = next;
      continue;
    }
    const kind = hv.getUint16(CH_KIND, true);
    const flags = hv.getUint16(CH_FLAGS, true);
    const length = hv.getUint32(CH_LENGTH, true);
    const lane = hv.getUint32(CH_LANE, true);
    const what = `${KIND_NAMES[kind] ?? `kind-${kind}`} chunk at byte ${pos}`;
    if (pos + chunkHeaderBytes + length > size) {
      // The header is intact, so its length is what was written: the file was cut inside this chunk.
      warnings.push(new TraceFileError(`Truncated file: the ${what} needs ${chunkHeaderBytes + length} bytes but the file ends ${size - pos} bytes after its start`, pos));
      damage.push(pos);
      break;
    }
    const next = pos + chunkHeaderBytes + padded(length);
    chunks++;
    if (geometry === null && kind !== CHUNK_RING) {
      throw new TraceFileError(`Bad trace file: the first chunk (byte ${pos}) must be the ring header, found a ${what}`, pos);
    }
    const payload = (): Uint8Array | null => {
      const p = new Uint8Array(length);
      if (src.read(pos + chunkHeaderBytes, p, length) !== length) return null;
      if ((flags & CHUNK_FLAG_CRC) !== 0 && crc32(p) !== hv.getUint32(CH_CRC, true)) return null;
      return p;
    };
    if ((flags & ~KNOWN_CHUNK_FLAGS) !== 0) {
      if (geometry === null) throw new TraceFileError(`Bad ring header chunk at byte ${pos}: unknown chunk flags 0x${flags.toString(16)}`, pos);
      warnings.push(new TraceFileError(`Unreadable ${what}: unknown chunk flags 0x${flags.toString(16)} (a later version of the format?); skipped`, pos));
      damage.push(pos);
    } else if (kind === CHUNK_RING) {
      if (geometry !== null) {
        warnings.push(new TraceFileError(`Unexpected ${what}: a file has one ring header, the first; skipped`, pos));
      } else {
        const p = length === RING_HEADER_BYTES ? payload() : null;
        if (p === null) {
          throw new TraceFileError(`Bad ring header chunk at byte ${pos}: ${length === RING_HEADER_BYTES ? "checksum mismatch" : `${length} bytes, expected ${RING_HEADER_BYTES}`}`, pos);
        }
        const words = new Int32Array(p.buffer, 0, RING_HEADER_BYTES >> 2);
        try {
          geometry = geometryFromHeader(words, words[0] ?? 0);
        } catch (e) {
          throw new TraceFileError(`Bad ring header in the chunk at byte ${pos}: ${e instanceof Error ? e.message : String(e)}`, pos);
        }
        ringHeader = p;
        for (let l = 0; l < geometry.lanes; l++) lanes.push([]);
      }
    } else if (kind === CHUNK_METADATA) {
      const g = geometry as RingGeometry;
      const p = length <= g.metadataBytes ? payload() : null;
      if (p === null) {
        const why = length <= g.metadataBytes ? "checksum mismatch" : `${length} bytes, more than the ring's ${g.metadataBytes}-byte metadata area`;
        warnings.push(new TraceFileError(`Damaged metadata chunk at byte ${pos} (${why}): skipped`, pos));
      } else {
        metadata = p;
      }
    } else if (kind === CHUNK_PAGE || kind === CHUNK_LOST) {
      const g = geometry as RingGeometry;
      const offset = hv.getUint32(CH_OFFSET, true);
      const problem =
        lane >= g.lanes
          ? `lane ${lane} does not exist (the ring has ${g.lanes})`
          : kind === CHUNK_LOST
            ? length < LOST_PAYLOAD_BYTES
              ? `payload of ${length} bytes, expected ${LOST_PAYLOAD_BYTES}`
              : ""
            : !pageChunkFits(length, offset, g.pageSize)
              ? `${length} bytes from page offset ${offset} are neither part of a ${g.pageSize}-byte page nor up to ${MAX_CHUNK_PAGES} whole pages`
              : "";
      if (problem === "") (lanes[lane] as number[]).push(pos);
      else {
        warnings.push(new TraceFileError(`Bad ${what}: ${problem}; skipped`, pos));
        damage.push(pos); // its lane field may be what is wrong
      }
    } else if (kind === CHUNK_END) {
      const p = payload();
      if (p === null) {
        warnings.push(new TraceFileError(`Damaged end chunk at byte ${pos} (checksum mismatch)`, pos));
      } else {
        try {
          end = JSON.parse(new TextDecoder().decode(p));
        } catch {
          warnings.push(new TraceFileError(`Bad end chunk at byte ${pos}: its payload is not JSON`, pos));
        }
      }
    }
    // Other kinds: from a later version of the format; framed, so skipped.
    pos = next;
  }
  if (geometry === null || ringHeader === null) {
    throw new TraceFileError(`Bad trace file: no ring header chunk after the file header (byte ${headerBytes})`, headerBytes);
  }
  return { size, version, chunkHeaderBytes, fileFlags, createdMs: dv.getFloat64(FH_CREATED_MS, true), ringHeader, geometry, metadata, lanes, end, chunks, warnings, damage };
}

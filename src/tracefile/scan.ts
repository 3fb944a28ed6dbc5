/**
 * First pass over a trace file: check the file header and the ring header, then walk the chunk
 * headers (skipping page payloads) to index each lane's chunks. Bounded by construction: every step
 * moves forward by at least one chunk header. Framing damage (a truncated chunk, a missing sync
 * word) ends the scan there and is reported; everything before it stays readable.
 */
import { TraceFileError } from "../errors.js";
import { PAGE_HEADER_BYTES, RING_HEADER_BYTES, type RingGeometry } from "../layout.js";
import { geometryFromHeader } from "../ring.js";
import { crc32 } from "./crc32.js";
import {
  CHUNK_END,
  CHUNK_FLAG_CRC,
  CHUNK_HEADER_BYTES,
  CHUNK_LOST,
  CHUNK_METADATA,
  CHUNK_PAGE,
  CHUNK_RING,
  CHUNK_SYNC,
  CH_CRC,
  CH_FLAGS,
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
  KNOWN_FILE_FLAGS,
  LOST_PAYLOAD_BYTES,
  MAX_CHUNK_PAGES,
  padded,
} from "./file-layout.js";
import type { ByteSource } from "./source.js";

/** What the first pass learned. */
export interface TraceIndex {
  readonly size: number;
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
  /** Damage found: framing damage ends the scan (it is the last entry); a bad chunk is skipped. */
  readonly warnings: TraceFileError[];
}

const KIND_NAMES = ["", "ring", "metadata", "page", "lost", "end"];

/** Does a PAGE chunk of `length` bytes from page offset `offset` frame (FORMAT.md 13.3)? */
export function pageChunkFits(length: number, offset: number, pageSize: number): boolean {
  if (length - PAGE_HEADER_BYTES <= pageSize - offset) return true; // one page, or a fragment of one
  return offset === PAGE_HEADER_BYTES && length % pageSize === 0 && length / pageSize <= MAX_CHUNK_PAGES;
}

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
  if (version !== FILE_VERSION) {
    throw new TraceFileError(`Unsupported trace file version ${version} at byte ${FH_VERSION}: this reader knows version ${FILE_VERSION}`, FH_VERSION);
  }
  const headerBytes = dv.getUint32(FH_HEADER_BYTES, true);
  if (headerBytes < FILE_HEADER_BYTES || headerBytes % 8 !== 0 || headerBytes > size) {
    throw new TraceFileError(`Bad file header size ${headerBytes} at byte ${FH_HEADER_BYTES}: expected a multiple of 8 from ${FILE_HEADER_BYTES}`, FH_HEADER_BYTES);
  }
  const fileFlags = dv.getUint32(FH_FLAGS, true);
  if ((fileFlags & ~KNOWN_FILE_FLAGS) !== 0) {
    throw new TraceFileError(`Unknown file flags 0x${fileFlags.toString(16)} at byte ${FH_FLAGS}`, FH_FLAGS);
  }

  const hdr = new Uint8Array(CHUNK_HEADER_BYTES);
  const hv = new DataView(hdr.buffer);
  const warnings: TraceFileError[] = [];
  const lanes: number[][] = [];
  let ringHeader: Uint8Array | null = null;
  let geometry: RingGeometry | null = null;
  let metadata: Uint8Array | null = null;
  let end: unknown = undefined;
  let chunks = 0;
  let pos = headerBytes;
  while (pos < size) {
    if (pos + CHUNK_HEADER_BYTES > size || src.read(pos, hdr, CHUNK_HEADER_BYTES) !== CHUNK_HEADER_BYTES) {
      warnings.push(new TraceFileError(`Truncated file: a chunk header starts at byte ${pos} but the file ends at ${size}`, pos));
      break;
    }
    const sync = hv.getUint32(CH_SYNC, true);
    if (sync !== CHUNK_SYNC) {
      warnings.push(new TraceFileError(`Damaged file: no chunk header at byte ${pos} (sync word 0x${sync.toString(16)}, expected 0x${CHUNK_SYNC.toString(16)})`, pos));
      break;
    }
    const kind = hv.getUint16(CH_KIND, true);
    const length = hv.getUint32(CH_LENGTH, true);
    const lane = hv.getUint32(CH_LANE, true);
    const what = `${KIND_NAMES[kind] ?? `kind-${kind}`} chunk at byte ${pos}`;
    if (pos + CHUNK_HEADER_BYTES + length > size) {
      warnings.push(new TraceFileError(`Truncated file: the ${what} needs ${CHUNK_HEADER_BYTES + length} bytes but the file ends ${size - pos} bytes after its start`, pos));
      break;
    }
    const next = pos + CHUNK_HEADER_BYTES + padded(length);
    chunks++;
    if (geometry === null && kind !== CHUNK_RING) {
      throw new TraceFileError(`Bad trace file: the first chunk (byte ${pos}) must be the ring header, found a ${what}`, pos);
    }
    const payload = (): Uint8Array | null => {
      const p = new Uint8Array(length);
      if (src.read(pos + CHUNK_HEADER_BYTES, p, length) !== length) return null;
      if ((hv.getUint16(CH_FLAGS, true) & CHUNK_FLAG_CRC) !== 0 && crc32(p) !== hv.getUint32(CH_CRC, true)) return null;
      return p;
    };
    if (kind === CHUNK_RING) {
      const p = length === RING_HEADER_BYTES ? payload() : null;
      if (p === null) {
        const err = `Bad ring header chunk at byte ${pos}: ${length === RING_HEADER_BYTES ? "checksum mismatch" : `${length} bytes, expected ${RING_HEADER_BYTES}`}`;
        if (geometry === null) throw new TraceFileError(err, pos);
        warnings.push(new TraceFileError(err, pos));
      } else if (geometry === null) {
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
      const p = payload();
      if (p === null) warnings.push(new TraceFileError(`Damaged metadata chunk at byte ${pos} (checksum mismatch): skipped`, pos));
      else metadata = p;
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
            : length < PAGE_HEADER_BYTES || offset < PAGE_HEADER_BYTES || offset % 8 !== 0 || !pageChunkFits(length, offset, g.pageSize)
              ? `${length} bytes from page offset ${offset} are neither part of a ${g.pageSize}-byte page nor up to ${MAX_CHUNK_PAGES} whole pages`
              : "";
      if (problem !== "") warnings.push(new TraceFileError(`Bad ${what}: ${problem}; skipped`, pos));
      else (lanes[lane] as number[]).push(pos);
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
  return { size, fileFlags, createdMs: dv.getFloat64(FH_CREATED_MS, true), ringHeader, geometry, metadata, lanes, end, chunks, warnings };
}

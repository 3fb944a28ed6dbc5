/**
 * Writing the framing of a `.urb` file (docs/FORMAT.md section 13): the file header and chunk
 * headers. Payloads are the ring's own bytes and are not encoded here; writers hand them to the
 * output next to these headers (a snapshot concatenates, the page pipe gathers them in one writev).
 */
import { crc32 } from "./crc32.js";
import {
  CHUNK_FLAG_CRC,
  CHUNK_HEADER_BYTES,
  CHUNK_SYNC,
  CH_CRC,
  CH_FLAGS,
  CH_KIND,
  CH_LANE,
  CH_LENGTH,
  CH_HEADER_CRC,
  CH_OFFSET,
  CH_NUMBER,
  CH_SYNC,
  CH_VALUE,
  CHUNK_LOST,
  FH_CREATED_MS,
  FH_FLAGS,
  FH_HEADER_BYTES,
  FH_MAGIC,
  FH_VERSION,
  FILE_HEADER_BYTES,
  FILE_MAGIC,
  FILE_VERSION,
  LC_CAUSE,
  LC_TIME,
  LOST_CAUSE_OVERRUN,
  LOST_PAYLOAD_BYTES,
  padded,
} from "./file-layout.js";

/** The 64-byte file header. */
export function encodeFileHeader(flags: number, createdMs: number): Uint8Array {
  const out = new Uint8Array(FILE_HEADER_BYTES);
  const dv = new DataView(out.buffer);
  dv.setUint32(FH_MAGIC, FILE_MAGIC, true);
  dv.setUint32(FH_VERSION, FILE_VERSION, true);
  dv.setUint32(FH_HEADER_BYTES, FILE_HEADER_BYTES, true);
  dv.setUint32(FH_FLAGS, flags, true);
  dv.setFloat64(FH_CREATED_MS, createdMs, true);
  return out;
}

/** What a chunk header says, apart from the payload's length and checksum. */
export interface ChunkFields {
  kind: number;
  lane: number;
  offset: number;
  value: number;
  /** PAGE and LOST chunks: 1 + the lane's PAGE and LOST chunks before this one (see {@link LaneChunkNumbers}); 0 or absent: not numbered. */
  number?: number;
}

/**
 * Numbers the PAGE and LOST chunks of each lane as a writer emits them (CH_NUMBER: 1, 2, ...), so
 * that a reader notices a chunk that damage took away (FORMAT.md 13.5).
 */
export class LaneChunkNumbers {
  readonly #next: number[] = [];
  /** The number of the next chunk of `lane`. */
  next(lane: number): number {
    const n = this.#next[lane] ?? 1;
    this.#next[lane] = n >= 0xffffffff ? 1 : n + 1;
    return n;
  }
}

/**
 * Write a chunk header at `dv[at, at + CHUNK_HEADER_BYTES)` for a payload of `length` bytes, sealed
 * with its own checksum (CH_HEADER_CRC). `crc` is the payload's CRC-32, or undefined to leave the
 * payload unchecked.
 */
export function writeChunkHeader(dv: DataView, at: number, f: ChunkFields, length: number, crc: number | undefined): void {
  dv.setUint32(at + CH_SYNC, CHUNK_SYNC, true);
  dv.setUint16(at + CH_KIND, f.kind, true);
  dv.setUint16(at + CH_FLAGS, crc === undefined ? 0 : CHUNK_FLAG_CRC, true);
  dv.setUint32(at + CH_LENGTH, length, true);
  dv.setUint32(at + CH_CRC, crc ?? 0, true);
  dv.setUint32(at + CH_LANE, f.lane, true);
  dv.setUint32(at + CH_OFFSET, f.offset, true);
  dv.setFloat64(at + CH_VALUE, f.value, true);
  dv.setUint32(at + CH_NUMBER, f.number ?? 0, true);
  dv.setUint32(at + CH_HEADER_CRC, crc32(new Uint8Array(dv.buffer, dv.byteOffset + at, CH_HEADER_CRC)), true);
}

/** A whole chunk (header, payload, zero padding) in a new array, checksummed: for the small chunks. */
export function encodeChunk(f: ChunkFields, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(CHUNK_HEADER_BYTES + padded(payload.length));
  writeChunkHeader(new DataView(out.buffer), 0, f, payload.length, crc32(payload));
  out.set(payload, CHUNK_HEADER_BYTES);
  return out;
}

/** Concatenate parts into one array. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * A LOST chunk: `lost` records (NaN: unknown) of `lane` went missing before ring time `time`, for
 * `cause` (LOST_CAUSE_*); `number` its CH_NUMBER (0: not numbered).
 */
export function lostChunk(lane: number, lost: number, time: number, cause: number = LOST_CAUSE_OVERRUN, number = 0): Uint8Array {
  const payload = new Uint8Array(LOST_PAYLOAD_BYTES);
  const dv = new DataView(payload.buffer);
  dv.setFloat64(LC_TIME, time, true);
  dv.setUint32(LC_CAUSE, cause, true);
  return encodeChunk({ kind: CHUNK_LOST, lane, offset: 0, value: lost, number }, payload);
}

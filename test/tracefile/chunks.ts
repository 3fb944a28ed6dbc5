/**
 * Test helpers over the bytes of a `.urb` file: its chunks (from the framing), records as
 * comparable rows, the records each PAGE chunk holds on its own, and a version 1 copy of a
 * version 2 file (32-byte chunk headers without their checksum).
 */
import { bytesSource, openTrace, type RingRecord, type TraceFileError } from '../../src/index.js';
import { concatBytes } from '../../src/tracefile/encode.js';
import {
  CHUNK_HEADER_BYTES,
  CHUNK_HEADER_BYTES_V1,
  CHUNK_LOST,
  CHUNK_PAGE,
  CH_KIND,
  CH_LANE,
  CH_LENGTH,
  CH_NUMBER,
  FH_HEADER_BYTES,
  FH_VERSION,
  padded,
} from '../../src/tracefile/file-layout.js';

export interface ChunkAt {
  at: number;
  kind: number;
  lane: number;
  length: number;
  /** CH_NUMBER (0 in a version 1 file, or where the writer did not number the chunk). */
  number: number;
  /** Bytes the chunk occupies (header, payload, padding). */
  size: number;
}

/** The chunks of an intact file, in order. */
export function chunkList(bytes: Uint8Array): ChunkAt[] {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const out: ChunkAt[] = [];
  const h = dv.getUint32(FH_VERSION, true) === 1 ? CHUNK_HEADER_BYTES_V1 : CHUNK_HEADER_BYTES;
  for (let at = dv.getUint32(FH_HEADER_BYTES, true); at < bytes.length; ) {
    const length = dv.getUint32(at + CH_LENGTH, true);
    const size = h + padded(length);
    const number = h === CHUNK_HEADER_BYTES ? dv.getUint32(at + CH_NUMBER, true) : 0;
    out.push({ at, kind: dv.getUint16(at + CH_KIND, true), lane: dv.getUint32(at + CH_LANE, true), length, number, size });
    at += size;
  }
  return out;
}

export type Row = string;
/** A record or loss marker as one comparable string. */
export const row = (r: RingRecord): Row =>
  `${r.kind}|${r.lane}|${r.type}|${r.timestamp}|${r.kind === 'lost' ? `${r.lost}|${r.cause}` : Buffer.from(r.bytes.subarray(r.offset, r.offset + r.length)).toString('hex')}`;

/** Every record a trace reader delivers from `bytes`, and its warnings. */
export function traceRows(bytes: Uint8Array): { rows: Row[]; warnings: TraceFileError[] } {
  const trace = openTrace(bytesSource(bytes));
  const rows: Row[] = [];
  trace.read((r) => rows.push(row(r)));
  return { rows, warnings: trace.warnings };
}

/**
 * The rows of each PAGE (and, with `withLoss`, LOST) chunk read alone (the file's header chunks,
 * then that chunk), by chunk start: data rows, and with `withLoss` the loss markers it holds (not
 * the `damaged` marker a lone chunk gets for the chunks missing before it).
 */
export function rowsByChunk(bytes: Uint8Array, withLoss = false): Map<number, Row[]> {
  const chunks = chunkList(bytes);
  const firstLane = chunks.findIndex((c) => c.kind === CHUNK_PAGE || c.kind === CHUNK_LOST);
  const prefix = bytes.subarray(0, chunks[firstLane]?.at ?? bytes.length);
  const out = new Map<number, Row[]>();
  for (const c of chunks) {
    if (c.kind !== CHUNK_PAGE && !(withLoss && c.kind === CHUNK_LOST)) continue;
    const alone = concatBytes([prefix, bytes.subarray(c.at, c.at + c.size)]);
    out.set(c.at, traceRows(alone).rows.filter((r) => (withLoss ? !r.endsWith('|damaged') : r.startsWith('data|'))));
  }
  return out;
}

/** The same file in framing version 1: 32-byte chunk headers (no header checksum). */
export function toVersion1(bytes: Uint8Array): Uint8Array {
  const chunks = chunkList(bytes);
  const head = bytes.slice(0, chunks[0]!.at);
  new DataView(head.buffer).setUint32(FH_VERSION, 1, true);
  const parts: Uint8Array[] = [head];
  for (const c of chunks) {
    parts.push(bytes.subarray(c.at, c.at + CHUNK_HEADER_BYTES_V1), bytes.subarray(c.at + CHUNK_HEADER_BYTES, c.at + c.size));
  }
  return concatBytes(parts);
}

/** `rows` without the first occurrence of each of `remove` (a multiset difference). */
export function without(rows: readonly Row[], remove: readonly Row[]): Row[] {
  const left = new Map<Row, number>();
  for (const r of remove) left.set(r, (left.get(r) ?? 0) + 1);
  return rows.filter((r) => {
    const n = left.get(r) ?? 0;
    if (n === 0) return true;
    left.set(r, n - 1);
    return false;
  });
}

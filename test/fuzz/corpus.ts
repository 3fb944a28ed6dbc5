/**
 * Valid inputs the fuzzer starts from: ring images (the bytes of real rings in interesting states)
 * and trace files (snapshots, and page hand-off streams with fragments and LOST chunks), each with
 * the offsets of its fields worth corrupting (header words, lane and page headers, record headers,
 * schema entries, chunk headers). Built deterministically, in a few milliseconds, in whichever
 * thread needs them.
 */
import { createRing, defineEvent, t, type RingBuffer } from "../../src/index.js";
import { TracePipe } from "../../src/node/index.js";
import {
  L_CONSUMER,
  L_GROUP_READ_LO,
  L_HEAD_PAGE,
  L_KIND,
  L_OWNER,
  L_READ,
  L_TAIL_POS8,
  LENGTH_MASK,
  LENGTH_SHIFT,
  P_ABANDONED,
  P_DROPPED,
  P_LANE,
  P_STATE,
  PAGE_HEADER_BYTES,
  PG_BASE_TIME,
  PG_BYTES_BEFORE,
  PG_COMMITTED,
  PG_CUM_READY,
  PG_PREPARER,
  PG_RECORDS_BEFORE,
  PG_SEQ,
  PG_SEQ_HI,
  RECORD_HEADER_BYTES,
  RING_HEADER_BYTES,
  laneOffset,
  producerOffset,
  slotOffset,
} from "../../src/layout.js";
import { concatBytes } from "../../src/tracefile/encode.js";
import { CHUNK_HEADER_BYTES, CH_KIND, CH_LANE, CH_LENGTH, CH_OFFSET, CH_VALUE, CH_FLAGS, CH_CRC, FILE_HEADER_BYTES, padded } from "../../src/tracefile/file-layout.js";
import { E_ID, E_KIND, E_WORD, F_NAME_LEN, F_PARAM, F_TYPE, S_FIELD_COUNT, S_FIXED_BYTES, S_MAX_BYTES, S_NAME_LEN, T_ENUM } from "../../src/schema/metadata-layout.js";

/** A valid input and where its fields are. */
export interface Seed {
  name: string;
  bytes: Uint8Array;
  /** Offsets of u32 words worth corrupting (each 4-aligned). */
  words: number[];
  /** Offsets of f64 fields worth corrupting (each 8-aligned). */
  doubles: number[];
  /** Offsets of single bytes worth corrupting (lengths and counts in schema entries). */
  bytesAt: number[];
  /** Start offsets of whole units (pages, chunks) for splicing. */
  units: { at: number; length: number }[];
  /** Page size of the ring (or of the file's ring). */
  pageSize: number;
  /** Pages per lane. */
  lanePages: number;
}

/** A user clock that jumps by more than 2^32 ns now and then, so that writers emit TIME records. */
function jumpyClock(): () => number {
  let now = 1000;
  let n = 0;
  return () => {
    n++;
    now += n % 17 === 0 ? 6e9 : 1000;
    return now;
  };
}

function fill(n: number, v: number): Uint8Array {
  return new Uint8Array(n).fill(v & 0xff);
}

/** Overwrite mode, per-thread and shared lanes, schemas and typed events, TIME records, wrapped; a consumer mid-page, an open reservation. */
function overwriteRing(): RingBuffer {
  const ring = createRing({ lanes: 2, sharedLanes: 1, pageSize: 256, pagesPerLane: 4, mode: "overwrite", clock: jumpyClock(), maxProducers: 6, metadataBytes: 512 });
  const http = defineEvent(ring, "http_request", { method: t.enum(["GET", "POST", "PUT"]), status: t.u16, durationNs: t.u64, url: t.string(40), body: t.bytes(16) });
  const tick = defineEvent(ring, "tick", { n: t.u32, ok: t.bool, tag: t.array(4) });
  const a = ring.writer({ lane: 0 });
  const b = ring.writer({ lane: 1 });
  const s1 = ring.writer({ lane: "shared" });
  const s2 = ring.writer({ lane: "shared" });
  const ws = [a, b, s1, s2];
  for (let i = 0; i < 120; i++) {
    const w = ws[i % ws.length] as (typeof ws)[number];
    if (i % 5 === 0) http.write(w, { method: i % 2 ? "GET" : "POST", status: 200 + (i % 7), durationNs: BigInt(i) * 1000n, url: `/items/${i}`, body: fill(i % 16, i) });
    else if (i % 5 === 1) tick.write(w, { n: i, ok: i % 3 === 0, tag: fill(4, i) });
    else if (i % 7 === 2) {
      const at = w.reserve(5, 24);
      if (at >= 0) w.discard(at);
    } else w.write(1 + (i % 50), fill(i % 60, i));
  }
  const c = ring.consumer({ lanes: [0, 2] });
  c.read(() => {}, 3);
  c.close();
  s1.reserve(9, 16); // left open: a BUSY claim in the shared lane
  a.reserve(9, 12); // left open on a per-thread lane
  return ring;
}

/** Discard mode, full lanes with in-band LOST records, a consumer group that read some, the counter clock. */
function discardRing(): RingBuffer {
  const ring = createRing({ lanes: 1, sharedLanes: 2, pageSize: 512, pagesPerLane: 4, mode: "discard", clock: "counter", maxProducers: 4, metadataBytes: 256 });
  defineEvent(ring, "evt", { a: t.i32, s: t.string(100) });
  const w0 = ring.writer({ lane: 0 });
  const w1 = ring.writer({ lane: 1 });
  const w2 = ring.writer({ lane: 2 });
  for (let i = 0; i < 200; i++) for (const w of [w0, w1, w2]) w.write(1 + (i % 4000), fill(8 + (i % 90), i));
  const g = ring.groupConsumer({ lanes: [1, 2] });
  g.read(() => {}, 25);
  g.close();
  const c = ring.consumer({ lanes: [0] });
  c.read(() => {}, 30);
  c.close();
  for (let i = 0; i < 40; i++) for (const w of [w0, w1, w2]) w.write(7, fill(40, i)); // LOST records after the drops
  return ring;
}

/** The mono clock, bigger pages, nested reservations committed out of order. */
function nestedRing(): RingBuffer {
  const ring = createRing({ lanes: 1, sharedLanes: 1, pageSize: 1024, pagesPerLane: 4, mode: "overwrite", clock: "mono", maxProducers: 2, metadataBytes: 0 });
  const w = ring.writer({ lane: 0 });
  const s = ring.writer({ lane: "shared" });
  for (let i = 0; i < 60; i++) {
    for (const x of [w, s]) {
      const p = x.reserve(2, 30 + (i % 40));
      const q = x.reserve(3, 10);
      if (q >= 0) x.commit(q);
      if (p >= 0) (i % 3 ? x.commit : x.discard).call(x, p);
    }
  }
  return ring;
}

/** 64 pages a lane, lapped many times: page counters far from 0, long walks for cumulatives. */
function manyPagesRing(): RingBuffer {
  const ring = createRing({ lanes: 1, sharedLanes: 1, pageSize: 256, pagesPerLane: 64, mode: "overwrite", clock: "counter", maxProducers: 2, metadataBytes: 0 });
  const w = ring.writer({ lane: 0 });
  const s = ring.writer({ lane: "shared" });
  for (let i = 0; i < 3000; i++) (i % 3 ? w : s).write(1 + (i % 100), fill(8 + (i % 50), i));
  const c = ring.consumer({ lanes: [1] });
  c.read(() => {}, 40);
  c.close();
  return ring;
}

export const RING_SEEDS: readonly (() => RingBuffer)[] = [overwriteRing, discardRing, nestedRing, manyPagesRing];

/** Offsets of the fields of a ring worth corrupting. */
function ringSeed(name: string, ring: RingBuffer): Seed {
  const g = ring.geometry;
  const bytes = new Uint8Array(ring.buffer).slice(0, g.totalBytes);
  const dv = new DataView(bytes.buffer);
  const words: number[] = [];
  const doubles: number[] = [];
  const bytesAt: number[] = [];
  const units: { at: number; length: number }[] = [];
  for (let o = 0; o < RING_HEADER_BYTES; o += 4) words.push(o);
  for (let id = 0; id < g.maxProducers; id++) {
    const p = producerOffset(g, id);
    words.push(p + P_STATE, p + P_LANE);
    doubles.push(p + P_DROPPED, p + P_ABANDONED);
  }
  for (let lane = 0; lane < g.lanes; lane++) {
    const lb = laneOffset(g, lane);
    words.push(lb + L_KIND, lb + L_OWNER, lb + L_HEAD_PAGE, lb + L_TAIL_POS8, lb + L_CONSUMER, lb + L_GROUP_READ_LO, lb + L_GROUP_READ_LO + 4);
    doubles.push(lb + L_READ);
    for (let s = 0; s < g.lanePages; s++) {
      const slot = slotOffset(g, lb, s);
      units.push({ at: slot, length: g.pageSize });
      words.push(slot + PG_SEQ, slot + PG_SEQ_HI, slot + PG_CUM_READY, slot + PG_PREPARER, slot + PG_COMMITTED);
      doubles.push(slot + PG_BASE_TIME, slot + PG_RECORDS_BEFORE, slot + PG_BYTES_BEFORE);
      // Record headers, as far as they chain.
      for (let off = PAGE_HEADER_BYTES, k = 0; off + RECORD_HEADER_BYTES <= g.pageSize && k < 200; k++) {
        const w0 = dv.getUint32(slot + off, true);
        if (w0 === 0) break;
        words.push(slot + off, slot + off + 4);
        if (off + 16 <= g.pageSize) doubles.push(slot + off + 8);
        off += (RECORD_HEADER_BYTES + ((w0 >>> LENGTH_SHIFT) & LENGTH_MASK) + 7) & ~7;
      }
    }
  }
  // Schema entries: word0, id, and the length and count bytes of the body.
  const meta = g.metadataOffset;
  for (let off = 0; off + 8 <= g.metadataBytes; ) {
    const w0 = dv.getUint32(meta + off, true);
    if (w0 === 0) break;
    const at = meta + off;
    const size = w0 & 0x3fffffff;
    words.push(at + E_WORD, at + E_ID);
    bytesAt.push(at + E_KIND, at + S_NAME_LEN, at + S_FIXED_BYTES, at + S_FIELD_COUNT, at + S_MAX_BYTES, at + S_MAX_BYTES + 1);
    // Field descriptors: the first few, found by walking the names.
    let p = at + 16 + (bytes[at + S_NAME_LEN] ?? 0);
    for (let f = 0; f < (bytes[at + S_FIELD_COUNT] ?? 0) && p + 6 <= at + size; f++) {
      bytesAt.push(p + F_TYPE, p + F_NAME_LEN, p + F_PARAM, p + F_PARAM + 1);
      const enumNames = bytes[p + F_TYPE] === T_ENUM ? dv.getUint16(p + F_PARAM, true) : 0;
      p += 6 + (bytes[p + F_NAME_LEN] ?? 0);
      for (let k = 0; k < enumNames && p < at + size; k++) {
        bytesAt.push(p); // an enum name's length
        p += 1 + (bytes[p] ?? 0);
      }
    }
    if (size < 8 || size % 8 !== 0) break;
    off += size;
  }
  return { name, bytes, words, doubles, bytesAt, units, pageSize: g.pageSize, lanePages: g.lanePages };
}

/** Chunk boundaries and fields of a trace image. */
function traceSeed(name: string, bytes: Uint8Array, pageSize: number, lanePages: number): Seed {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const words: number[] = [0, 4, 8, 12];
  const doubles: number[] = [16];
  const bytesAt: number[] = [];
  const units: { at: number; length: number }[] = [];
  for (let at = FILE_HEADER_BYTES; at + CHUNK_HEADER_BYTES <= bytes.length; ) {
    const length = dv.getUint32(at + CH_LENGTH, true);
    const kind = dv.getUint16(at + CH_KIND, true);
    units.push({ at, length: CHUNK_HEADER_BYTES + padded(length) });
    words.push(at, at + CH_KIND, at + CH_LENGTH, at + CH_CRC, at + CH_LANE, at + CH_OFFSET);
    bytesAt.push(at + CH_FLAGS);
    doubles.push(at + CH_VALUE);
    const p = at + CHUNK_HEADER_BYTES;
    if (kind === 1) for (let o = 0; o < RING_HEADER_BYTES && o < length; o += 4) words.push(p + o);
    if (kind === 3 && length >= PAGE_HEADER_BYTES) {
      words.push(p + PG_SEQ, p + PG_SEQ_HI, p + PG_COMMITTED);
      doubles.push(p + PG_BASE_TIME);
      for (let off = PAGE_HEADER_BYTES, k = 0; off + 8 <= length && k < 100; k++) {
        const w0 = dv.getUint32(p + off, true);
        if (w0 === 0) break;
        words.push(p + off, p + off + 4);
        off += (8 + ((w0 >>> LENGTH_SHIFT) & LENGTH_MASK) + 7) & ~7;
      }
    }
    if (kind === 2) for (let o = 0; o + 16 <= length && o < 256; o += 4) words.push(p + o);
    at += CHUNK_HEADER_BYTES + padded(length);
  }
  return { name, bytes, words, doubles, bytesAt, units, pageSize, lanePages };
}

/** A page hand-off stream of `ring`'s lanes, through a sink, lapped now and then (LOST chunks) and flushed (fragments). */
function pipeImage(): { bytes: Uint8Array; pageSize: number; lanePages: number } {
  const ring = createRing({ lanes: 1, sharedLanes: 1, pageSize: 256, pagesPerLane: 4, mode: "overwrite", clock: "counter", maxProducers: 3, metadataBytes: 256 });
  const ev = defineEvent(ring, "e", { x: t.u8, s: t.string(30) });
  const parts: Uint8Array[] = [];
  const pipe = new TracePipe(ring, (ps) => {
    for (const p of ps) parts.push(p.slice());
  });
  const w = ring.writer({ lane: 0 });
  const s = ring.writer({ lane: "shared" });
  for (let i = 0; i < 150; i++) {
    if (i % 9 === 0) ev.write(s, { x: i, s: "abc".repeat(i % 10) });
    else (i % 2 ? w : s).write(1 + i, fill(i % 70, i));
    if (i % 40 === 39) pipe.pump();
    if (i % 23 === 5) pipe.flush();
  }
  pipe.close();
  return { bytes: concatBytes(parts), pageSize: ring.geometry.pageSize, lanePages: ring.geometry.lanePages };
}

let ringSeeds: Seed[] | undefined;
let traceSeeds: Seed[] | undefined;

/** The ring images (built once per thread). */
export function ringCorpus(): Seed[] {
  ringSeeds ??= RING_SEEDS.map((make) => ringSeed(make.name, make()));
  return ringSeeds;
}

/** The trace files: a snapshot of each ring seed, and a page hand-off stream. */
export function traceCorpus(): Seed[] {
  if (traceSeeds === undefined) {
    traceSeeds = RING_SEEDS.map((make) => {
      const ring = make();
      return traceSeed(`snapshot of ${make.name}`, ring.snapshot(), ring.geometry.pageSize, ring.geometry.lanePages);
    });
    const p = pipeImage();
    traceSeeds.push(traceSeed("page hand-off stream", p.bytes, p.pageSize, p.lanePages));
  }
  return traceSeeds;
}

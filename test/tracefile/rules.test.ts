/**
 * Issue 13, item 7 and item 5: the smaller rules of FORMAT.md 13 a reader follows, each with its
 * consequence: a chunk with an unknown CH_FLAGS bit is skipped and reported (it may be encoded in a
 * way this reader does not know; it used to be read as if the bit were not there), a second RING
 * chunk is skipped and reported (it used to be ignored silently), a METADATA chunk longer than the
 * ring's metadata area is skipped and reported, a bad FH_HEADER_BYTES refuses the file, and a BUSY
 * record in a file is skipped by its length, counted as uncommitted, and takes a pending TIME value
 * with it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TraceFileError, bytesSource, createRing, defineEvent, openTrace, t } from '../../src/index.js';
import { concatBytes, encodeChunk } from '../../src/tracefile/encode.js';
import { CHUNK_METADATA, CHUNK_PAGE, CHUNK_RING, CH_FLAGS, CH_HEADER_CRC, FH_HEADER_BYTES } from '../../src/tracefile/file-layout.js';
import { crc32 } from '../../src/tracefile/crc32.js';
import { chunkList, rowsByChunk, traceRows, without } from './chunks.js';

function image(): Uint8Array {
  const ring = createRing({ lanes: 2, sharedLanes: 0, pageSize: 256, pagesPerLane: 4, clock: 'counter', metadataBytes: 256 });
  defineEvent(ring, 'e', { a: t.u8 });
  const ws = [ring.writer({ lane: 0 }), ring.writer({ lane: 1 })];
  for (let i = 0; i < 30; i++) ws[i % 2]!.write(1, new Uint8Array(8).fill(i));
  return ring.snapshot();
}

/** Re-seal a chunk header after an edit (its own checksum). */
function reseal(b: Uint8Array, at: number): void {
  new DataView(b.buffer).setUint32(at + CH_HEADER_CRC, crc32(b, at, at + CH_HEADER_CRC), true);
}

test('a chunk with an unknown CH_FLAGS bit is skipped and reported, the others are read', () => {
  const full = image();
  const page = chunkList(full).find((c) => c.kind === CHUNK_PAGE && c.lane === 1)!;
  const bad = full.slice();
  new DataView(bad.buffer).setUint16(page.at + CH_FLAGS, 0x8000, true);
  reseal(bad, page.at);
  const got = traceRows(bad);
  const lost = rowsByChunk(full).get(page.at)!;
  assert.ok(lost.length > 0);
  assert.deepEqual(got.rows.filter((r) => r.startsWith('data|1|')), without(traceRows(full).rows.filter((r) => r.startsWith('data|1|')), lost));
  assert.equal(got.rows.filter((r) => r.startsWith('data|0|')).length, 15);
  assert.equal(got.warnings[0]!.byteOffset, page.at);
  assert.match(got.warnings[0]!.message, /unknown chunk flags 0x8000/);
});

test('a second RING chunk is skipped and reported; a METADATA chunk longer than the metadata area is skipped and reported', () => {
  const full = image();
  const chunks = chunkList(full);
  const ring = chunks.find((c) => c.kind === CHUNK_RING)!;
  const ringAgain = full.subarray(ring.at, ring.at + ring.size);
  const bigMeta = encodeChunk({ kind: CHUNK_METADATA, lane: 0, offset: 0, value: 0 }, new Uint8Array(512));
  const bad = concatBytes([full, ringAgain, bigMeta]);
  const trace = openTrace(bytesSource(bad));
  assert.equal(trace.warnings.length, 2);
  assert.equal(trace.warnings[0]!.byteOffset, full.length);
  assert.match(trace.warnings[0]!.message, /one ring header/);
  assert.match(trace.warnings[1]!.message, /more than the ring's 256-byte metadata area/);
  assert.ok(trace.registry?.schema(4096) !== undefined, 'the earlier, valid metadata chunk is kept');
});

test('FH_HEADER_BYTES must be a multiple of 8 from 64 up to the file size', () => {
  for (const v of [0, 60, 68, 1 << 30]) {
    const bad = image();
    new DataView(bad.buffer).setUint32(FH_HEADER_BYTES, v, true);
    assert.throws(() => openTrace(bytesSource(bad)), (e: unknown) => e instanceof TraceFileError && /file header size/.test(e.message), `FH_HEADER_BYTES ${v}`);
  }
});

test('a BUSY record in a snapshot is skipped by its length, counted as uncommitted, and takes its TIME value with it', () => {
  let now = 0;
  const ring = createRing({ lanes: 1, sharedLanes: 1, pageSize: 512, pagesPerLane: 4, clock: () => now, metadataBytes: 0 });
  const expected: { lane: number; type: number; t: number }[] = [];
  for (const [lane, w] of [[0, ring.writer({ lane: 0 })], [1, ring.writer({ lane: 'shared' })]] as const) {
    now += 1000;
    w.write(1, new Uint8Array([1]));
    expected.push({ lane, type: 1, t: now });
    now += 2 ** 33; // the next reservation needs a TIME record, written before its BUSY header
    assert.ok(w.reserve(2, 8) >= 0); // left open: BUSY in the snapshot
    now += 1000;
    w.write(3, new Uint8Array([3])); // after the BUSY record: its own time, not the TIME value
    expected.push({ lane, type: 3, t: now });
  }
  const trace = openTrace(bytesSource(ring.snapshot()));
  const rows: { lane: number; type: number; t: number }[] = [];
  trace.read((r) => rows.push({ lane: r.lane, type: r.type, t: r.timestamp }));
  assert.deepEqual(rows.sort((x, y) => x.lane - y.lane || x.t - y.t), expected);
  assert.equal(trace.stats().uncommitted, 2);
  assert.deepEqual(trace.warnings, []);
});

test('a snapshot checksums its page fragments (FORMAT.md 13.3: MUST), not its whole pages', () => {
  const full = image();
  const dv = new DataView(full.buffer);
  const pages = chunkList(full).filter((c) => c.kind === CHUNK_PAGE);
  assert.ok(pages.some((c) => c.length === 256) && pages.some((c) => c.length < 256));
  for (const c of pages) assert.equal(dv.getUint16(c.at + CH_FLAGS, true) & 1, c.length === 256 ? 0 : 1, `page chunk at ${c.at} (${c.length} bytes)`);
});

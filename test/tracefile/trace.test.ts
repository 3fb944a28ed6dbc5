import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { TraceFileError, bytesSource, createRing, crc32, defineEvent, openTrace, t, type RingBuffer } from '../../src/index.js';
import { CHUNK_HEADER_BYTES, CHUNK_PAGE, CH_CRC, CH_HEADER_CRC, FILE_HEADER_BYTES } from '../../src/tracefile/file-layout.js';
import { chunkList as chunkStarts, row, traceRows, type Row } from './chunks.js';
import { H_LANE_STRIDE, H_LANES_OFFSET, H_METADATA_OFFSET, H_OWN_LANES, H_PAGE_SHIFT, H_TOTAL_BYTES, computeGeometry } from '../../src/layout.js';

/** Every record the iterator sees now, as rows. */
function iteratorRows(ring: RingBuffer): Row[] {
  const rows: Row[] = [];
  const it = ring.iterator();
  it.read((r) => rows.push(row(r)));
  it.close();
  return rows;
}

test('crc32 matches the standard check value', () => {
  assert.equal(crc32(new TextEncoder().encode('123456789')), 0xcbf43926);
  assert.equal(crc32(new Uint8Array(0)), 0);
});

test('a snapshot reads back exactly what the iterator reads (property: random writes, both modes, all lane kinds)', () => {
  fc.assert(
    fc.property(
      fc.constantFrom('overwrite', 'discard'),
      fc.array(fc.record({ lane: fc.nat(2), type: fc.integer({ min: 1, max: 4000 }), len: fc.nat(100), fill: fc.nat(255) }), { maxLength: 300 }),
      (mode, writes) => {
        const ring = createRing({ lanes: 2, sharedLanes: 1, pageSize: 256, pagesPerLane: 4, mode, clock: 'counter' });
        const ws = [ring.writer({ lane: 0 }), ring.writer({ lane: 1 }), ring.writer({ lane: 'shared' })];
        for (const w of writes) ws[w.lane]!.write(w.type, new Uint8Array(w.len).fill(w.fill));
        const expected = iteratorRows(ring);
        const { rows, warnings } = traceRows(ring.snapshot());
        assert.deepEqual(warnings, []);
        assert.deepEqual(rows, expected);
      },
    ),
    { numRuns: 150 },
  );
});

test('typed events decode from a snapshot with the schemas stored in the file', () => {
  const ring = createRing({ lanes: 1, sharedLanes: 0 });
  const ev = defineEvent(ring, 'http_request', { method: t.enum(['GET', 'POST']), status: t.u16, url: t.string(64) });
  const w = ring.writer();
  ev.write(w, { method: 'POST', status: 201, url: '/items' });
  const trace = openTrace(bytesSource(ring.snapshot()));
  const got: unknown[] = [];
  trace.read((r) => got.push(trace.registry!.decode(r)));
  assert.equal(got.length, 1);
  assert.deepEqual((got[0] as { fields: unknown }).fields, { method: 'POST', status: 201, url: '/items' });
  assert.equal((got[0] as { name: string }).name, 'http_request');
  assert.equal(trace.snapshot, true);
  assert.throws(() => trace.registry!.define('x', { a: t.u8 }), TypeError);
});

test('stats count records, bytes and types per lane', () => {
  const ring = createRing({ lanes: 2, sharedLanes: 0, pageSize: 512, pagesPerLane: 4 });
  const a = ring.writer({ lane: 0 });
  const b = ring.writer({ lane: 1 });
  for (let i = 0; i < 10; i++) a.write(5, new Uint8Array(3));
  for (let i = 0; i < 4; i++) b.write(6, new Uint8Array(10));
  const s = openTrace(bytesSource(ring.snapshot())).stats();
  assert.equal(s.records, 14);
  assert.equal(s.bytes, 30 + 40);
  assert.deepEqual(s.lanes.map((l) => [l.lane, l.records, l.bytes]), [[0, 10, 30], [1, 4, 40]]);
  assert.deepEqual(s.types.map((x) => [x.type, x.records]), [[5, 10], [6, 4]]);
  assert.ok(s.first <= s.last);
});

test('a file cut at every offset of its last page chunk yields every record of the chunks before it, then a warning', () => {
  const ring = createRing({ lanes: 2, sharedLanes: 1, pageSize: 256, pagesPerLane: 4, mode: 'overwrite', clock: 'counter' });
  const ws = [ring.writer({ lane: 0 }), ring.writer({ lane: 1 }), ring.writer({ lane: 'shared' })];
  for (let i = 0; i < 60; i++) ws[i % 3]!.write(1 + (i % 7), new Uint8Array(i % 40).fill(i));
  const full = ring.snapshot();
  const chunks = chunkStarts(full);
  const last = chunks[chunks.length - 1]!;
  assert.equal(last.kind, CHUNK_PAGE);
  const before = traceRows(full.subarray(0, last.at));
  assert.deepEqual(before.warnings, []);
  const all = traceRows(full).rows;
  for (let cut = last.at + 1; cut < last.at + CHUNK_HEADER_BYTES + last.length; cut++) {
    const { rows, warnings } = traceRows(full.slice(0, cut));
    assert.deepEqual(rows, before.rows, `cut at ${cut}`);
    assert.equal(warnings.length, 1, `cut at ${cut}`);
    assert.ok(warnings[0] instanceof TraceFileError);
    assert.equal(warnings[0]!.byteOffset, last.at, `cut at ${cut}: damage starts at the last chunk`);
    assert.match(warnings[0]!.message, /[Tt]runcated/);
  }
  assert.ok(before.rows.length < all.length);
});

test('a file cut anywhere never throws anything but TraceFileError, and reads a prefix of the records per lane', () => {
  const ring = createRing({ lanes: 1, sharedLanes: 1, pageSize: 256, pagesPerLane: 4, clock: 'counter' });
  const ws = [ring.writer({ lane: 0 }), ring.writer({ lane: 'shared' })];
  for (let i = 0; i < 40; i++) ws[i % 2]!.write(3, new Uint8Array(20).fill(i));
  const full = ring.snapshot();
  const all = traceRows(full).rows;
  for (let cut = 0; cut < full.length; cut += 7) {
    try {
      const { rows } = traceRows(full.slice(0, cut));
      for (const lane of ['0', '1']) {
        const mine = rows.filter((r) => r.split('|')[1] === lane);
        const whole = all.filter((r) => r.split('|')[1] === lane);
        assert.deepEqual(mine, whole.slice(0, mine.length), `cut at ${cut}, lane ${lane}`);
      }
    } catch (e) {
      assert.ok(e instanceof TraceFileError, `cut at ${cut}: ${String(e)}`);
      assert.ok(cut < FILE_HEADER_BYTES + CHUNK_HEADER_BYTES + 256, `cut at ${cut}: only a cut in the headers may fail to open`);
    }
  }
});

test('random corruption: opening and reading either works or fails with TraceFileError, never hangs or reads out of bounds', () => {
  const ring = createRing({ lanes: 2, sharedLanes: 1, pageSize: 256, pagesPerLane: 4, clock: 'counter' });
  const ev = defineEvent(ring, 'e', { a: t.u32, s: t.string(30) });
  const ws = [ring.writer({ lane: 0 }), ring.writer({ lane: 1 }), ring.writer({ lane: 'shared' })];
  for (let i = 0; i < 50; i++) ev.write(ws[i % 3]!, { a: i, s: 'x'.repeat(i % 30) });
  const image = ring.snapshot();
  fc.assert(
    fc.property(fc.array(fc.record({ at: fc.nat(image.length - 1), value: fc.nat(255) }), { minLength: 1, maxLength: 8 }), (flips) => {
      const bad = image.slice();
      for (const f of flips) bad[f.at] = f.value;
      try {
        const trace = openTrace(bytesSource(bad));
        let n = 0;
        trace.read((r) => {
          n++;
          if (trace.registry) trace.registry.decode(r);
          assert.ok(r.offset + r.length <= r.bytes.length);
        });
        trace.stats();
        assert.ok(n <= 10_000);
      } catch (e) {
        if (!(e instanceof TraceFileError)) throw e;
      }
    }),
    { numRuns: 400 },
  );
});

test('a damaged record header ends its chunk with a warning naming the byte; other chunks still read', () => {
  const ring = createRing({ lanes: 2, sharedLanes: 0, pageSize: 256, pagesPerLane: 4, clock: 'counter' });
  const a = ring.writer({ lane: 0 });
  const b = ring.writer({ lane: 1 });
  for (let i = 0; i < 5; i++) a.write(1, new Uint8Array(8));
  for (let i = 0; i < 5; i++) b.write(2, new Uint8Array(8));
  const image = ring.snapshot();
  const pages = chunkStarts(image).filter((c) => c.kind === CHUNK_PAGE);
  const first = pages[0]!;
  // The third record of lane 0's page: header at chunk + 40 + 48 + IDENTITY record (16: pid and
  // threadId, no name in a core-only process) + 2 * 16. State bits 0 with a length: invalid.
  const at = first.at + CHUNK_HEADER_BYTES + 48 + 16 + 2 * 16;
  const dv = new DataView(image.buffer);
  dv.setUint32(at, 0x00ff0001, true);
  // The page is a fragment (up to its last record), which carries a checksum that would cost the
  // whole chunk: re-seal it, as a writer that copied a damaged page would have, to reach the record check.
  dv.setUint32(first.at + CH_CRC, crc32(image, first.at + CHUNK_HEADER_BYTES, first.at + CHUNK_HEADER_BYTES + first.length), true);
  dv.setUint32(first.at + CH_HEADER_CRC, crc32(image, first.at, first.at + CH_HEADER_CRC), true);
  const { rows, warnings } = traceRows(image);
  assert.equal(rows.filter((r) => r.startsWith('data|0|')).length, 2);
  assert.equal(rows.filter((r) => r.startsWith('data|1|')).length, 5);
  assert.equal(warnings.length, 1);
  assert.equal(warnings[0]!.byteOffset, at);
});

test('not a trace file: typed errors that say what is wrong', () => {
  assert.throws(() => openTrace(bytesSource(new Uint8Array(10))), (e: unknown) => e instanceof TraceFileError && /less than/.test(e.message));
  assert.throws(() => openTrace(bytesSource(new Uint8Array(200))), (e: unknown) => e instanceof TraceFileError && /magic/.test(e.message));
  const ring = createRing({ lanes: 1, sharedLanes: 0 });
  const image = ring.snapshot();
  const badGeometry = image.slice();
  badGeometry[FILE_HEADER_BYTES + CHUNK_HEADER_BYTES + 24] = 99; // the ring header's page shift
  // The RING chunk is checksummed: the change is caught before the geometry is even parsed.
  assert.throws(() => openTrace(bytesSource(badGeometry)), (e: unknown) => e instanceof TraceFileError && /ring header/.test(e.message));
});

test('a tiny file whose ring header claims 1024 lanes of 64 KiB pages is read with memory that follows the file (bad-input regression)', () => {
  // Each lane's reader used to hold a page-sized buffer, whatever the file held: 352 bytes cost
  // 67 MB per read() (and 34 ms to allocate). Now a lane's buffer grows to the chunks it reads.
  const ring = createRing({ lanes: 1, sharedLanes: 0, pageSize: 256, pagesPerLane: 4, metadataBytes: 0, maxProducers: 1 });
  ring.writer().write(1, new Uint8Array(8));
  const image = ring.snapshot();
  const h = FILE_HEADER_BYTES + CHUNK_HEADER_BYTES; // the ring header inside the RING chunk
  const g = computeGeometry({ overwrite: true, clock: ring.geometry.clock, pageSize: 65536, lanePages: 4, ownLanes: 1024, sharedLanes: 0, maxProducers: 1, metadataBytes: 0 });
  const dv = new DataView(image.buffer);
  dv.setUint32(h + H_PAGE_SHIFT, 16, true);
  dv.setUint32(h + H_OWN_LANES, 1024, true);
  dv.setUint32(h + H_TOTAL_BYTES, g.totalBytes, true);
  dv.setUint32(h + H_METADATA_OFFSET, g.metadataOffset, true);
  dv.setUint32(h + H_LANES_OFFSET, g.lanesOffset, true);
  dv.setUint32(h + H_LANE_STRIDE, g.laneStride, true);
  dv.setUint32(FILE_HEADER_BYTES + CH_CRC, crc32(image.subarray(h, h + 256)), true);
  dv.setUint32(FILE_HEADER_BYTES + CH_HEADER_CRC, crc32(image.subarray(FILE_HEADER_BYTES, FILE_HEADER_BYTES + CH_HEADER_CRC)), true);
  const trace = openTrace(bytesSource(image));
  assert.equal(trace.geometry.lanes, 1024);
  const before = process.memoryUsage().arrayBuffers;
  let during = 0;
  let records = 0;
  trace.read(() => {
    records++;
    during = process.memoryUsage().arrayBuffers;
  });
  assert.equal(records, 1, 'the one record (its page chunk is read as a 64 KiB ring page: it fits)');
  assert.ok(during - before < 4 << 20, `reading held ${((during - before) / 1e6).toFixed(1)} MB of buffers for a ${image.length}-byte file`);
});

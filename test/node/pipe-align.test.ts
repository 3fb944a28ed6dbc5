/**
 * The page hand-off's aligned writes: a batch that fills up ends at a multiple of its
 * power-of-two size in the file (a PAD chunk fills the rest), so the next write starts where the
 * page cache can hold it in large folios (bench/notes/page-to-file.md). The PAD chunks cost the
 * reader nothing: every record reads back, without a warning.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRing } from '../../src/index.js';
import { CHUNK_PAD } from '../../src/tracefile/file-layout.js';
import { chunkList } from '../tracefile/chunks.js';
import { openTraceFile, pipeToFile, TracePipe } from '../../src/node/index.js';

const dir = mkdtempSync(join(tmpdir(), 'urb-pipe-align-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const tmp = () => join(dir, `t${n++}.urb`);

const PAGE = 1024;
const BATCH = 16; // the smallest batch that is aligned: 16 KiB
const ALIGN = BATCH * PAGE;

/** Fill most of 3 lanes of 64 pages with numbered records of varied sizes; the numbers, per lane. */
function filled(mode: 'discard' | 'overwrite') {
  const ring = createRing({ lanes: 3, sharedLanes: 0, pageSize: PAGE, pagesPerLane: 64, mode, clock: 'counter' });
  const expected: number[][] = [[], [], []];
  for (let lane = 0; lane < 3; lane++) {
    const w = ring.writer({ lane });
    for (let i = 0; i < 1000; i++) {
      const payload = new Uint8Array(4 + ((i * 13) % 60));
      new DataView(payload.buffer).setInt32(0, i, true);
      if (!w.write(1, payload)) break;
      expected[lane]!.push(i);
    }
    w.close();
  }
  return { ring, expected };
}

function fileNumbers(path: string): number[][] {
  const trace = openTraceFile(path);
  try {
    const got: number[][] = [[], [], []];
    trace.read((r) => {
      assert.equal(r.kind, 'data');
      got[r.lane]!.push(new DataView(r.bytes.buffer, r.bytes.byteOffset + r.offset).getInt32(0, true));
    });
    assert.deepEqual(trace.warnings, []);
    assert.equal(trace.intact, true);
    return got;
  } finally {
    trace.close();
  }
}

for (const mode of ['discard', 'overwrite'] as const) {
  test(`pipe (${mode} mode): each batch that fills up ends the file at a multiple of the batch size, and the file reads back whole`, () => {
    const { ring, expected } = filled(mode);
    const path = tmp();
    const pipe = pipeToFile(ring, path, { batchPages: BATCH });
    let full = 0;
    // pump(1) writes one batch; every batch but the last (which the pages ran out of) fills up.
    for (let i = 0; i < 100 && pipe.pump(1) > 0; i++) {
      if (pipe.stats.bytes % ALIGN === 0) full++;
    }
    const pages = pipe.stats.pages;
    assert.ok(pages >= 3 * 30, `${pages} pages handed off`);
    // Pages per full batch: at most BATCH - 1 (the chunk headers take part of the room).
    assert.ok(full >= Math.floor(pages / BATCH), `${full} of the batches ended on a ${ALIGN}-byte boundary (${pages} pages)`);
    pipe.close();
    const bytes = new Uint8Array(readFileSync(path));
    const pads = chunkList(bytes).filter((c) => c.kind === CHUNK_PAD);
    assert.ok(pads.length >= full - 1, `${pads.length} PAD chunks`);
    for (const p of pads) assert.ok(bytes.subarray(p.at + 40, p.at + p.size).every((b) => b === 0), 'a PAD chunk holds zeros');
    assert.deepEqual(fileNumbers(path), expected);
  });
}

test('pipe: small batches and a sink are not padded', () => {
  for (const target of ['small', 'sink'] as const) {
    const { ring, expected } = filled('discard');
    const parts: Uint8Array[] = [];
    const path = tmp();
    const pipe =
      target === 'sink'
        ? new TracePipe(ring, (ps) => parts.push(...ps.map((p) => p.slice())), { batchPages: BATCH })
        : pipeToFile(ring, path, { batchPages: BATCH - 1 });
    pipe.close();
    const bytes = target === 'sink' ? new Uint8Array(Buffer.concat(parts)) : new Uint8Array(readFileSync(path));
    assert.deepEqual(chunkList(bytes).filter((c) => c.kind === CHUNK_PAD), [], target);
    if (target === 'small') assert.deepEqual(fileNumbers(path), expected);
  }
});

test('pipe: a damaged PAD chunk costs no record (a flipped header bit is reported and skipped over; its zeros carry nothing to check)', () => {
  const { ring, expected } = filled('discard');
  const path = tmp();
  pipeToFile(ring, path, { batchPages: BATCH }).close();
  const bytes = new Uint8Array(readFileSync(path));
  const pad = chunkList(bytes).find((c) => c.kind === CHUNK_PAD);
  assert.ok(pad !== undefined && pad.length > 0, 'the file has a PAD chunk with zeros');
  const read = (copy: Uint8Array) => {
    const damaged = join(dir, `damaged-${n++}.urb`);
    writeFileSync(damaged, copy);
    const trace = openTraceFile(damaged);
    try {
      const got: number[][] = [[], [], []];
      trace.read((r) => {
        if (r.kind === 'data') got[r.lane]!.push(new DataView(r.bytes.buffer, r.bytes.byteOffset + r.offset).getInt32(0, true));
      });
      return { got, warnings: trace.warnings.map((w) => w.byteOffset) };
    } finally {
      trace.close();
    }
  };
  const header = bytes.slice();
  header[pad.at + 4]! ^= 0x01; // its kind: the header checksum fails
  assert.deepEqual(read(header), { got: expected, warnings: [pad.at] });
  const zeros = bytes.slice();
  zeros[pad.at + 40 + (pad.length >> 1)] = 0xff;
  assert.deepEqual(read(zeros), { got: expected, warnings: [] });
});

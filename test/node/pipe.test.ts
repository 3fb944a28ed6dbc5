import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { createRing, defineEvent, eventRegistry, t, type RingBuffer, type RingRecord } from '../../src/index.js';
import * as M from '../../src/schema/metadata-layout.js';
import { encodeProcessEntry } from '../../src/schema/process-entry.js';
import { CHUNK_LOST, CHUNK_PAGE, CH_VALUE } from '../../src/tracefile/file-layout.js';
import { chunkList } from '../tracefile/chunks.js';
import { dumpRing, openTraceFile, pipeToFile } from '../../src/node/index.js';
import { PAYLOAD_HEADER, payloadChecksum } from '../stress/protocol.js';

const dir = mkdtempSync(join(tmpdir(), 'urb-pipe-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const tmp = () => join(dir, `t${n++}.urb`);

const row = (r: RingRecord) =>
  `${r.kind}|${r.lane}|${r.type}|${r.kind === 'lost' ? r.lost : Buffer.from(r.bytes.subarray(r.offset, r.offset + r.length)).toString('hex')}`;

function fileRows(path: string, lane?: number): string[] {
  const trace = openTraceFile(path);
  try {
    const rows: string[] = [];
    trace.read((r) => rows.push(row(r)), lane === undefined ? {} : { lanes: [lane] });
    assert.deepEqual(trace.warnings, []);
    assert.equal(trace.intact, true, 'closed cleanly');
    return rows;
  } finally {
    trace.close();
  }
}

for (const mode of ['discard', 'overwrite'] as const) {
  test(`pipe (${mode} mode): every record reaches the file byte for byte, in lane order, across whole pages and flushed fragments`, () => {
    const ring = createRing({ lanes: 2, sharedLanes: 1, pageSize: 512, pagesPerLane: 16, mode, clock: 'counter' });
    const ws = [ring.writer({ lane: 0 }), ring.writer({ lane: 1 }), ring.writer({ lane: 'shared' })];
    const path = tmp();
    const pipe = pipeToFile(ring, path, { batchPages: 3 });
    const expected: string[][] = [[], [], []];
    for (let i = 0; i < 3000; i++) {
      const lane = i % 3 === 2 ? 2 : i % 2;
      const payload = new Uint8Array((i * 7) % 90).map((_, k) => (i + k) & 0xff);
      assert.equal(ws[lane]!.write(1 + (i % 4000), payload), true);
      expected[lane]!.push(`data|${lane}|${1 + (i % 4000)}|${Buffer.from(payload).toString('hex')}`);
      if (i % 97 === 0) pipe.pump();
      if (i % 1000 === 999) pipe.flush(); // fragments in the middle of pages
    }
    pipe.close();
    assert.ok(pipe.stats.fragments > 0 && pipe.stats.pages > 0, JSON.stringify(pipe.stats));
    for (let lane = 0; lane < 3; lane++) assert.deepEqual(fileRows(path, lane), expected[lane], `lane ${lane}`);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(ring.stats().total.read, 3000);
  });
}

test('pipe: each lane\'s PAGE and LOST chunks are numbered 1, 2, 3, ... (CH_NUMBER); a chunk cut out of the file is reported as damage in its lane only', () => {
  const ring = createRing({ lanes: 2, sharedLanes: 0, pageSize: 512, pagesPerLane: 4, mode: 'overwrite', clock: 'counter' });
  const ws = [ring.writer({ lane: 0 }), ring.writer({ lane: 1 })];
  const path = tmp();
  const pipe = pipeToFile(ring, path, { batchPages: 2 });
  const payload = new Uint8Array(40).fill(9);
  for (let i = 0; i < 600; i++) {
    ws[i % 2]!.write(1, payload);
    if (i % 50 === 0) pipe.pump();
    if (i === 300) for (let k = 0; k < 200; k++) ws[0]!.write(2, payload); // laps lane 0: a LOST chunk
    if (i % 170 === 0) pipe.flush(); // fragments: PAGE chunks of part of a page
  }
  pipe.close();
  const bytes = new Uint8Array(readFileSync(path));
  const chunks = chunkList(bytes);
  for (const lane of [0, 1]) {
    const numbers = chunks.filter((c) => c.lane === lane && (c.kind === CHUNK_PAGE || c.kind === CHUNK_LOST)).map((c) => c.number);
    assert.deepEqual(numbers, numbers.map((_, k) => k + 1), `lane ${lane}`);
    assert.ok(numbers.length >= 4, `lane ${lane}: ${numbers.length} chunks`);
  }
  assert.ok(chunks.some((c) => c.lane === 0 && c.kind === CHUNK_LOST), 'lane 0 was lapped');
  // Cut lane 0's second PAGE chunk out: lane 0 gets a damaged marker where it was, lane 1 reads as before.
  const cut = chunks.filter((c) => c.lane === 0 && c.kind === CHUNK_PAGE)[1]!;
  const damaged = new Uint8Array(bytes.length - cut.size);
  damaged.set(bytes.subarray(0, cut.at));
  damaged.set(bytes.subarray(cut.at + cut.size), cut.at);
  const cutPath = tmp();
  writeFileSync(cutPath, damaged);
  const trace = openTraceFile(cutPath);
  try {
    const lane0: RingRecord[] = [];
    trace.read((r) => {
      if (r.lane === 0 && r.kind === 'lost') lane0.push({ ...r } as RingRecord);
    }, { lanes: [0] });
    assert.ok(lane0.some((r) => r.cause === 'damaged'), `a damaged marker in lane 0: ${JSON.stringify(lane0.map((r) => [r.lost, r.cause]))}`);
    assert.ok(trace.warnings.some((w) => /lane 0/.test(w.message)), trace.warnings.map((w) => w.message).join('; '));
    assert.ok(trace.warnings.every((w) => !/lane 1/.test(w.message)));
  } finally {
    trace.close();
  }
  assert.deepEqual(fileRows(cutPath, 1), fileRows(path, 1));
});

test('pipe: typed events written after the pipe started decode from the file (metadata follows)', () => {
  const ring = createRing({ lanes: 1, sharedLanes: 0 });
  const w = ring.writer();
  const path = tmp();
  const pipe = pipeToFile(ring, path);
  const a = defineEvent(ring, 'a', { x: t.u32 });
  a.write(w, { x: 1 });
  pipe.pump();
  const b = defineEvent(ring, 'b', { s: t.string(10) });
  b.write(w, { s: 'hi' });
  pipe.close();
  const trace = openTraceFile(path);
  const got: unknown[] = [];
  trace.read((r) => {
    const d = trace.registry!.decode(r);
    got.push(d.kind === 'event' ? [d.name, d.fields] : d.kind);
  });
  trace.close();
  assert.deepEqual(got, [['a', { x: 1 }], ['b', { s: 'hi' }]]);
});

test('pipe: a metadata entry published after a pump copied it unfinished reaches the file (the copy is taken again)', () => {
  const ring = createRing({ lanes: 1, sharedLanes: 0, metadataBytes: 4096 });
  const w = ring.writer();
  const path = tmp();
  const pipe = pipeToFile(ring, path);
  defineEvent(ring, 'a', { x: t.u32 }).write(w, { x: 1 });
  pipe.pump();
  // Another process naming itself, caught between its claim and its publication (FORMAT.md 12.4):
  // the claim word says BUSY and the size, the body is being written.
  const reg = eventRegistry(ring);
  reg.refresh();
  const entry = encodeProcessEntry(4321, 'node late.js');
  const at = ring.geometry.metadataOffset + reg.used;
  const i32 = new Int32Array(ring.buffer);
  Atomics.store(i32, (at + M.E_WORD) >> 2, M.entryWord(M.ENTRY_BUSY, entry.length));
  w.write(1, new Uint8Array(4));
  pipe.pump(); // copies the area with the entry unfinished
  new Uint8Array(ring.buffer).set(entry.subarray(4), at + 4);
  Atomics.store(i32, (at + M.E_WORD) >> 2, M.entryWord(M.ENTRY_COMMITTED, entry.length));
  w.write(1, new Uint8Array(4));
  pipe.close();
  const trace = openTraceFile(path);
  try {
    assert.deepEqual(trace.warnings, []);
    assert.equal(trace.registry?.processNames().get(4321), 'node late.js');
  } finally {
    trace.close();
  }
});

test('pipe (overwrite mode): a jump over overwritten pages that held no data record is stated by a LOST chunk of 0, and the file reads without a gap', () => {
  const ring = createRing({ lanes: 1, sharedLanes: 0, pageSize: 256, pagesPerLane: 4, mode: 'overwrite', clock: 'counter', metadataBytes: 0 });
  const w = ring.writer();
  const path = tmp();
  const pipe = pipeToFile(ring, path);
  w.write(1, new Uint8Array([1, 2, 3, 4]));
  pipe.flush(); // a fragment of page 0: the pipe now stands inside page 0
  // The rest of page 0 and the next pages hold discarded records only, until the ring laps page 0.
  for (let i = 0; i < 40; i++) w.discard(w.reserve(2, 40));
  for (let i = 0; i < 6; i++) w.write(3, new Uint8Array([i]));
  pipe.close();
  const file = new Uint8Array(readFileSync(path));
  const lost = chunkList(file).filter((c) => c.kind === CHUNK_LOST);
  assert.deepEqual(lost.map((c) => new DataView(file.buffer).getFloat64(c.at + CH_VALUE, true)), [0], 'one LOST chunk, of 0 records, where the pipe jumped');
  const trace = openTraceFile(path);
  try {
    const rows: string[] = [];
    trace.read((r) => rows.push(row(r)));
    assert.deepEqual(trace.warnings, []);
    assert.deepEqual(rows, ['data|0|1|01020304', ...[0, 1, 2, 3, 4, 5].map((i) => `data|0|3|0${i}`)], 'every data record, no loss marker');
  } finally {
    trace.close();
  }
});

test('pipe.run() moves pages while a writer thread writes, and stops cleanly on abort', async () => {
  const ring = createRing({ lanes: 1, sharedLanes: 0, pageSize: 1024, pagesPerLane: 8, mode: 'discard' });
  const path = tmp();
  const pipe = pipeToFile(ring, path);
  const ac = new AbortController();
  const running = pipe.run({ signal: ac.signal, flushMs: 20 });
  const total = 20_000;
  const wk = new Worker(new URL('../fixtures/burst-writer.js', import.meta.url), { workerData: { buffer: ring.buffer, total, seed: 7 } });
  await new Promise((resolve, reject) => {
    wk.once('message', resolve);
    wk.once('error', reject);
  });
  await new Promise((r) => setTimeout(r, 50));
  ac.abort();
  const stats = await running;
  assert.equal(pipe.closed, true);
  const trace = openTraceFile(path);
  const seen: number[] = [];
  trace.read((r) => seen.push(new DataView(r.bytes.buffer, r.offset).getInt32(0, true)));
  trace.close();
  assert.equal(seen.length, total, JSON.stringify(stats));
  for (let i = 0; i < total; i++) if (seen[i] !== i) assert.fail(`record ${i} holds ${seen[i]}`);
});

/** Start checksum-writer workers on `ring`, one per lane given; returns a stop function that resolves with their reports. */
async function startWriters(ring: RingBuffer, lanes: (number | 'shared')[]) {
  const stop = new SharedArrayBuffer(4);
  const workers = lanes.map(
    (lane, writerId) =>
      new Worker(new URL('../fixtures/checksum-writer.js', import.meta.url), { workerData: { buffer: ring.buffer, stop, writerId, lane, maxSize: 120 } }),
  );
  type Msg = { type: 'ready' } | { type: 'done'; attempted: number };
  const ready = workers.map((wk) => new Promise<void>((resolve, reject) => (wk.once('message', () => resolve()), wk.once('error', reject))));
  const reports = workers.map(
    (wk) => new Promise<Msg>((resolve, reject) => (wk.on('message', (m: Msg) => m.type === 'done' && resolve(m)), wk.once('error', reject))),
  );
  await Promise.all(ready);
  await new Promise((r) => setTimeout(r, 20)); // let them fill the ring
  return async () => {
    Atomics.store(new Int32Array(stop), 0, 1); // publish the stop request; pairs with the workers' Atomics.load
    return Promise.all(reports);
  };
}

/** Check every data record of a trace: checksum, and per-writer sequence numbers increasing. */
function checkRecords(path: string): number {
  const trace = openTraceFile(path);
  const last = new Map<number, number>();
  let records = 0;
  try {
    trace.read((r) => {
      if (r.kind !== 'data') return;
      records++;
      const dv = new DataView(r.bytes.buffer, r.bytes.byteOffset);
      const writer = dv.getUint32(r.offset, true);
      const seq = dv.getUint32(r.offset + 4, true);
      assert.ok(r.length >= PAYLOAD_HEADER);
      assert.equal(dv.getUint32(r.offset + 8, true), r.length, 'length field');
      assert.equal(dv.getUint32(r.offset + 12, true), payloadChecksum(r.bytes, r.offset, r.length), `torn record: writer ${writer} seq ${seq}`);
      assert.ok(seq > (last.get(writer) ?? -1), `writer ${writer}: seq ${seq} after ${last.get(writer)}`);
      last.set(writer, seq);
    });
    assert.deepEqual(trace.warnings, []);
  } finally {
    trace.close();
  }
  return records;
}

test('snapshots taken while writer threads write hold no torn record (overwrite mode, own and shared lanes)', async () => {
  const ring = createRing({ lanes: 2, sharedLanes: 1, pageSize: 512, pagesPerLane: 4, mode: 'overwrite' });
  const stop = await startWriters(ring, [0, 1, 'shared', 'shared']);
  let records = 0;
  let lost = 0;
  for (let i = 0; i < 150; i++) {
    const path = tmp();
    const info = dumpRing(ring, path);
    lost += info.lost;
    records += checkRecords(path);
    rmSync(path);
  }
  await stop();
  assert.ok(records > 1000, `snapshots held ${records} records`);
  console.log(`150 snapshots under load: ${records} records checked, ${lost} lost to overwrites during copies`);
});

test('page hand-off in overwrite mode while writer threads lap it: no torn page, every record checksummed', async () => {
  const ring = createRing({ lanes: 1, sharedLanes: 1, pageSize: 512, pagesPerLane: 4, mode: 'overwrite' });
  const path = tmp();
  const pipe = pipeToFile(ring, path, { batchPages: 2 });
  const stop = await startWriters(ring, [0, 'shared']);
  const until = performance.now() + 400;
  while (performance.now() < until) {
    pipe.pump();
    await new Promise((r) => setImmediate(r));
  }
  await stop();
  pipe.close();
  const records = checkRecords(path);
  assert.ok(pipe.stats.lost > 0, 'the writers never lapped the pipe');
  const s = ring.stats().total;
  assert.equal(records, s.read, 'every record taken from the ring is in the file');
  assert.equal(s.written, s.read + s.overrun, 'written == in the file + lost');
});

test('traceReadable(): a byte stream of the trace, piped to a file with backpressure, ends on abort with a readable file', async () => {
  const { pipeline } = await import('node:stream/promises');
  const { createWriteStream } = await import('node:fs');
  const { traceReadable } = await import('../../src/node/index.js');
  const ring = createRing({ lanes: 1, sharedLanes: 1, pageSize: 512, pagesPerLane: 8, mode: 'discard' });
  const w = ring.writer({ lane: 0 });
  const ws = ring.writer({ lane: 'shared' });
  const ac = new AbortController();
  const path = tmp();
  const done = pipeline(traceReadable(ring, { signal: ac.signal, flushMs: 10 }), createWriteStream(path));
  let written = 0;
  for (let round = 0; round < 50; round++) {
    for (let i = 0; i < 40; i++) {
      // Backpressure from the stream: a full lane waits for the stream to take pages.
      while (!(i % 2 ? ws : w).write(3, new Uint8Array(new Int32Array([written]).buffer))) await new Promise((r) => setTimeout(r, 1));
      written++;
    }
    await new Promise((r) => setImmediate(r));
  }
  await new Promise((r) => setTimeout(r, 30));
  ac.abort();
  await done;
  const trace = openTraceFile(path);
  const seen: number[] = [];
  trace.read((r) => seen.push(new DataView(r.bytes.buffer, r.offset).getInt32(0, true)));
  assert.deepEqual(trace.warnings, []);
  assert.equal(trace.intact, true);
  trace.close();
  assert.deepEqual(seen.sort((a, b) => a - b), Array.from({ length: written }, (_, i) => i));
});

test('traceReadable(): a stream nobody reads stops taking pages (backpressure), the rest stays in the ring', async () => {
  const { traceReadable } = await import('../../src/node/index.js');
  const ring = createRing({ lanes: 1, sharedLanes: 0, pageSize: 512, pagesPerLane: 512, mode: 'discard' });
  const w = ring.writer();
  const readable = traceReadable(ring, { highWaterMark: 4096, batchPages: 4 });
  for (let i = 0; i < 5000; i++) assert.equal(w.write(1, new Uint8Array(24)), true);
  await new Promise((r) => setTimeout(r, 50));
  const perPage = Math.floor((512 - 48) / 32);
  const taken = ring.stats().total.read;
  // At most the pages of one pump (64) beyond the 4 KiB the stream may buffer.
  assert.ok(taken <= 64 * perPage, `took ${taken} records with nobody reading`);
  assert.ok(ring.stats().total.inRing >= 5000 - 64 * perPage);
  readable.destroy();
});

test('a piped file with multi-page chunks, cut inside its last chunk, yields the records of the chunks before it and a warning', async () => {
  const { readFileSync } = await import('node:fs');
  const { openTrace, bytesSource, TraceFileError } = await import('../../src/index.js');
  const { CHUNK_HEADER_BYTES: H } = await import('../../src/tracefile/file-layout.js');
  const ring = createRing({ lanes: 1, sharedLanes: 0, pageSize: 256, pagesPerLane: 16, mode: 'discard', clock: 'counter' });
  const w = ring.writer();
  const path = tmp();
  const pipe = pipeToFile(ring, path, { batchPages: 4 });
  for (let i = 0; i < 200; i++) {
    w.write(1, new Uint8Array(new Int32Array([i]).buffer));
    if (i % 60 === 59) pipe.pump();
  }
  pipe.close();
  const full = new Uint8Array(readFileSync(path));
  // Chunk starts, from the framing.
  const dv = new DataView(full.buffer, full.byteOffset);
  const starts: number[] = [];
  for (let at = 64; at < full.length; at += H + ((dv.getUint32(at + 8, true) + 7) & ~7)) starts.push(at);
  const pageChunks = starts.filter((at) => dv.getUint16(at + 4, true) === 3);
  const multi = pageChunks.filter((at) => dv.getUint32(at + 8, true) > 256);
  assert.ok(multi.length > 0, 'the pipe wrote chunks of several pages');
  const last = multi[multi.length - 1]!;
  const read = (bytes: Uint8Array) => {
    const t = openTrace(bytesSource(bytes));
    const got: number[] = [];
    t.read((r) => got.push(new DataView(r.bytes.buffer, r.bytes.byteOffset + r.offset).getInt32(0, true)));
    return { got, warnings: t.warnings };
  };
  const before = read(full.slice(0, last));
  for (let cut = last + 1; cut < last + H + dv.getUint32(last + 8, true); cut += 13) {
    const { got, warnings } = read(full.slice(0, cut));
    assert.deepEqual(got, before.got, `cut at ${cut}`);
    assert.equal(warnings.length, 1);
    assert.ok(warnings[0] instanceof TraceFileError && warnings[0].byteOffset === last);
  }
  assert.deepEqual(read(full).got, Array.from({ length: 200 }, (_, i) => i));
});

/** Data records and reported loss of a piped file (every lane). */
function fileCounts(path: string): { data: number; lost: number } {
  const trace = openTraceFile(path);
  try {
    const out = { data: 0, lost: 0 };
    trace.read((r) => {
      if (r.kind === 'data') out.data++;
      else out.lost += r.lost;
    });
    assert.deepEqual(trace.warnings, []);
    return out;
  } finally {
    trace.close();
  }
}

test('issue 13 item 8a: a burst overwritten before the pipe attached is a LOST chunk with its exact count (file + lost = N)', () => {
  for (const lane of [0, 'shared'] as const) {
    for (const count of [1, 300, 3000, 100_000]) {
      const ring = createRing({ lanes: 1, sharedLanes: 1, pageSize: 1024, pagesPerLane: 4, mode: 'overwrite', metadataBytes: 0 });
      const w = ring.writer({ lane });
      for (let i = 0; i < count; i++) w.write(1, new Uint8Array(12));
      const path = tmp();
      const pipe = pipeToFile(ring, path);
      pipe.pump();
      for (let i = 0; i < count; i++) w.write(1, new Uint8Array(12)); // a second burst, the pipe attached
      pipe.close();
      const got = fileCounts(path);
      assert.equal(got.data + got.lost, 2 * count, `lane ${lane}, ${count} + ${count}: ${got.data} in the file + ${got.lost} lost`);
      assert.equal(got.lost, pipe.stats.lost);
    }
  }
});

test('issue 13 item 8b: drops of a writer that closed with its lane full are in the piped file (file + lost = N)', () => {
  for (const lane of [0, 'shared'] as const) {
    const ring = createRing({ lanes: 1, sharedLanes: 1, pageSize: 1024, pagesPerLane: 4, mode: 'discard', metadataBytes: 0 });
    const path = tmp();
    const pipe = pipeToFile(ring, path);
    const w = ring.writer({ lane });
    for (let i = 0; i < 30_000; i++) w.write(1, new Uint8Array(12));
    w.close();
    pipe.close();
    const got = fileCounts(path);
    assert.equal(got.data + got.lost, 30_000, `lane ${lane}: ${got.data} in the file + ${got.lost} lost`);
    assert.equal(got.lost, ring.stats().total.dropped);
  }
});

test('issue 13 item 9: pump() in overwrite mode moves the complete pages after the ring lapped the pipe', () => {
  const ring = createRing({ lanes: 1, sharedLanes: 0, pageSize: 1024, pagesPerLane: 8, mode: 'overwrite', metadataBytes: 0 });
  const path = tmp();
  const pipe = pipeToFile(ring, path);
  const w = ring.writer();
  let written = 0;
  for (let round = 0; round < 5; round++) {
    for (let i = 0; i < 2000; i++, written++) w.write(1, new Uint8Array(12)); // laps the 8-page lane several times
    const pages = pipe.stats.pages;
    assert.ok(pipe.pump() > 0, `round ${round}: pump() wrote something`);
    assert.ok(pipe.stats.pages - pages >= 6, `round ${round}: the complete pages moved (${pipe.stats.pages - pages})`);
    assert.equal(pipe.pump(), 0, 'nothing complete is left');
  }
  pipe.close();
  const got = fileCounts(path);
  assert.equal(got.data + got.lost, written);
});

test('issue 13 items 8a and 9: a pipe that attaches to an own lane a writer thread is lapping: every seq of the writer is in the file or counted by a LOST chunk before it, exactly', async () => {
  for (const mode of ['overwrite', 'discard'] as const) {
    const ring = createRing({ lanes: 1, sharedLanes: 0, pageSize: 512, pagesPerLane: 4, mode, metadataBytes: 0 });
    const stop = await startWriters(ring, [0]); // writing (and lapping the ring) before the pipe exists
    const path = tmp();
    const pipe = pipeToFile(ring, path, { batchPages: 2 });
    const until = performance.now() + 300;
    while (performance.now() < until) {
      pipe.pump();
      await new Promise((r) => setImmediate(r));
    }
    const [report] = (await stop()) as { attempted: number }[];
    // The writer's thread is done and never closed its writer (a program that just exits): its
    // last drops were never reported in-band. Reclaiming it (what a recorder does at the end for
    // the producers of a program that exited) hands them to the pipe.
    for (const id of ring.producersByTag(0)) ring.reclaimProducer(id);
    pipe.close();
    // Per writer, sequence numbers are attempts (drops included): each one is in the file, or in
    // the count of a loss reported before the next record, exactly.
    let next = 0;
    const trace = openTraceFile(path);
    try {
      trace.read((r) => {
        if (r.kind === 'lost') {
          next += r.lost;
          return;
        }
        const seq = new DataView(r.bytes.buffer, r.bytes.byteOffset).getUint32(r.offset + 4, true);
        assert.equal(seq, next, `${mode}: record seq ${seq} where the file accounts for ${next}`);
        next++;
      });
    } finally {
      trace.close();
    }
    assert.equal(next, report!.attempted, `${mode}: every attempt of the writer is in the file or reported lost`);
  }
});

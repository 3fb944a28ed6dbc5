/**
 * Issue 13, item 13 (and item 4): damage to a `.urb` file costs only what it touched. A flipped
 * sync word or an absurd chunk length used to end the read there (everything after it hidden,
 * `urb stats` exit 0); now the reader resynchronizes on the next intact chunk header (sync word +
 * the header's own CRC-32, file version 2), delivers every intact chunk before and after, reports
 * the damage with its byte offset, counts the records it held (from the next page's cumulative
 * count) and the reading commands exit 1. A page stream whose chunks skip pages without a LOST
 * chunk, or repeat a page, is read the same way (FORMAT.md 13.5).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TraceFileError, bytesSource, createRing, defineEvent, openTrace, t, type RingBuffer } from '../../src/index.js';
import { TracePipe } from '../../src/node/index.js';
import { concatBytes } from '../../src/tracefile/encode.js';
import { CHUNK_PAGE, CH_LENGTH, CH_SYNC, FILE_VERSION } from '../../src/tracefile/file-layout.js';
import { runCaptured } from '../cli/run-captured.js';
import { chunkList, rowsByChunk, toVersion1, traceRows, without } from './chunks.js';

/**
 * A ring with two own lanes and a shared lane that lapped a few times (so pages carry cumulative
 * counts), distinct payloads; `during` runs every 20 records (a pipe's pump).
 */
function filledRing(mode: 'overwrite' | 'discard' = 'overwrite', attach?: (ring: RingBuffer) => () => void): RingBuffer {
  const ring = createRing({ lanes: 2, sharedLanes: 1, pageSize: 256, pagesPerLane: 4, mode, clock: 'counter' });
  const during = attach?.(ring);
  const ws = [ring.writer({ lane: 0 }), ring.writer({ lane: 1 }), ring.writer({ lane: 'shared' })];
  for (let i = 0; i < 600; i++) {
    ws[i % 3]!.write(1 + (i % 5), new Uint8Array(new Uint32Array([i, i * 7]).buffer));
    if (i % 20 === 19) during?.();
  }
  return ring;
}

/** A page stream (discard mode: whole pages, at most `batchPages` per chunk) of a ring written while the pipe runs, gathered in memory. */
function pageStream(batchPages: number): Uint8Array {
  const parts: Uint8Array[] = [];
  let pipe: TracePipe | undefined;
  filledRing('discard', (ring) => {
    pipe = new TracePipe(ring, (p) => parts.push(...p.map((x) => x.slice())), { batchPages });
    return () => pipe!.pump();
  });
  pipe!.close();
  return concatBytes(parts);
}

const dir = mkdtempSync(join(tmpdir(), 'urb-resync-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

/** The damaged copy must deliver everything but the records of the chunk at `at`, count them, and say where. */
/** `exact`: the page after the damaged chunk carries a cumulative count, so the loss must be exact, not unknown. */
async function checkDamage(name: string, full: Uint8Array, bad: Uint8Array, at: number, exact = false): Promise<void> {
  const all = traceRows(full);
  assert.deepEqual(all.warnings, [], `${name}: the undamaged file is intact`);
  const inChunk = rowsByChunk(full).get(at)!;
  assert.ok(inChunk.length > 0, `${name}: the damaged chunk held records`);
  const got = traceRows(bad);
  const data = got.rows.filter((r) => r.startsWith('data|'));
  assert.deepEqual(data, without(all.rows.filter((r) => r.startsWith('data|')), inChunk), `${name}: every other record is delivered, in order`);
  const markers = got.rows.filter((r) => r.endsWith('|damaged'));
  assert.equal(markers.length, 1, `${name}: one loss marker for the damaged chunk: ${markers.join(' ')}`);
  const count = Number(markers[0]!.split('|')[4]);
  if (exact || count === count) assert.equal(count, inChunk.length, `${name}: the marker counts the chunk's records exactly`);
  assert.ok(got.warnings.length >= 1 && got.warnings[0] instanceof TraceFileError);
  assert.equal(got.warnings[0]!.byteOffset, at, `${name}: the damage is reported where it starts`);
  assert.doesNotMatch(got.warnings.map((w) => w.message).join('\n'), /4294967/, `${name}: no absurd length in the report`);

  const path = join(dir, `${name}.urb`);
  writeFileSync(path, bad);
  const stats = await runCaptured(['stats', '--json', path]);
  assert.equal(stats.code, 1, `${name}: urb stats exits 1 after damage`);
  const s = JSON.parse(stats.stdout) as { records: number; damaged: number; damageReports: number; intact: boolean; lost: number };
  assert.equal(s.records, data.length);
  assert.equal(s.damaged, count === count ? inChunk.length : 0);
  assert.equal((s as unknown as { damagedUnknown: number }).damagedUnknown, count === count ? 0 : 1);
  assert.ok(s.damageReports >= 1);
  assert.equal(s.intact, false);
  assert.match(stats.stderr.at(-1)!, new RegExp(`damaged: ${s.damageReports} damage reports?, ${s.damaged} records known lost`));
  const dump = await runCaptured(['dump', '--json', path]);
  assert.equal(dump.code, 1, `${name}: urb dump exits 1 after damage`);
  assert.equal(dump.stdout.trim().split('\n').filter((l) => !l.includes('"lost"')).length, data.length);
  assert.ok(dump.stdout.includes(`"lost":${count === count ? inChunk.length : null},"cause":"damaged"`));
  const clean = join(dir, `${name}-clean.urb`);
  writeFileSync(clean, full);
  assert.equal((await runCaptured(['stats', clean])).code, 0, 'an intact file: exit 0');
}

test('the file framing is version 2', () => {
  assert.equal(FILE_VERSION, 2);
  const v = new DataView(filledRing().snapshot().buffer).getUint32(4, true);
  assert.equal(v, 2);
});

for (const [what, make] of [
  ['snapshot', () => filledRing().snapshot()],
  ['page stream, one page per chunk', () => pageStream(1)],
  ['page stream, multi-page chunks', () => pageStream(3)],
] as const) {
  test(`${what}: one flipped bit in the sync word of the 4th chunk costs only that chunk`, async () => {
    const full = make();
    const chunks = chunkList(full);
    const target = chunks[3]!;
    assert.equal(target.kind, CHUNK_PAGE);
    assert.ok(chunks.slice(4).some((c) => c.kind === CHUNK_PAGE && c.lane === target.lane), 'a later page of the same lane follows');
    const bad = full.slice();
    bad[target.at + CH_SYNC]! ^= 0x04;
    await checkDamage(`${what.replace(/[ ,]+/g, '-')}-sync`, full, bad, target.at);
  });

  test(`${what}: a chunk length of 0xFFFFFFF0 in a chunk in the middle costs only that chunk`, async () => {
    const full = make();
    const chunks = chunkList(full);
    const target = chunks.filter((c) => c.kind === CHUNK_PAGE)[Math.floor(chunks.length / 2)]!;
    const bad = full.slice();
    new DataView(bad.buffer).setUint32(target.at + CH_LENGTH, 0xfffffff0, true);
    await checkDamage(`${what.replace(/[ ,]+/g, '-')}-length`, full, bad, target.at);
  });
}

test('version 1 files (32-byte chunk headers, no header checksum) are still read, and resynchronize on the sync word', () => {
  const full = filledRing().snapshot();
  const v1 = toVersion1(full);
  assert.equal(new DataView(v1.buffer).getUint32(4, true), 1);
  const a = traceRows(full);
  const b = traceRows(v1);
  assert.deepEqual(b.warnings, []);
  assert.deepEqual(b.rows, a.rows);
  assert.equal(openTrace(bytesSource(v1)).version, 1);
  const target = chunkList(v1)[3]!;
  const bad = v1.slice();
  bad[target.at + CH_SYNC]! ^= 1;
  const got = traceRows(bad);
  const lost = rowsByChunk(v1).get(target.at)!;
  assert.deepEqual(got.rows.filter((r) => r.startsWith('data|')), without(a.rows, lost));
  assert.equal(got.warnings[0]!.byteOffset, target.at);
});

test('a page stream with a PAGE chunk missing (no LOST chunk): a damaged loss marker (unknown count: the next page carries no cumulative count yet), with a warning naming the gap', () => {
  const full = pageStream(1);
  const chunks = chunkList(full);
  const pages = chunks.filter((c) => c.kind === CHUNK_PAGE && c.lane === 0);
  const gone = pages[2]!;
  const cut = concatBytes([full.subarray(0, gone.at), full.subarray(gone.at + gone.size)]);
  const lost = rowsByChunk(full).get(gone.at)!;
  const got = traceRows(cut);
  assert.deepEqual(got.rows.filter((r) => r.startsWith('data|')), without(traceRows(full).rows, lost));
  const markers = got.rows.filter((r) => r.endsWith('|damaged'));
  assert.equal(markers.length, 1);
  const count = Number(markers[0]!.split('|')[4]);
  assert.ok(count === lost.length || Number.isNaN(count), `marker count ${count}`);
  assert.equal(got.warnings.length, 1);
  // The pipe numbers its chunks (CH_NUMBER): the reader names the missing chunk by number.
  assert.match(got.warnings[0]!.message, /Gap in lane 0 .*1 of its chunks are missing \(its chunk \d+ follows chunk \d+\)/);
});

test('a page chunk that repeats a page already read is skipped and reported: no record is delivered twice', () => {
  const full = pageStream(1);
  const chunks = chunkList(full);
  const page = chunks.filter((c) => c.kind === CHUNK_PAGE && c.lane === 1)[1]!;
  const last = chunks[chunks.length - 1]!; // the END chunk
  const twice = concatBytes([full.subarray(0, last.at), full.subarray(page.at, page.at + page.size), full.subarray(last.at)]);
  const got = traceRows(twice);
  assert.deepEqual(got.rows, traceRows(full).rows);
  assert.equal(got.warnings.length, 1);
  assert.match(got.warnings[0]!.message, /Repeated chunk at byte \d+ \(lane 1\): chunk number 2 after \d+; skipped/);
});

test('a snapshot that starts a lane after page 0 (the tail) and leaves out pages holding only discarded records reports nothing', () => {
  const ring = createRing({ lanes: 1, sharedLanes: 0, pageSize: 256, pagesPerLane: 8, mode: 'discard', clock: 'counter' });
  const w = ring.writer();
  for (let i = 0; i < 40; i++) w.write(1, new Uint8Array(20).fill(i));
  const c = ring.consumer();
  assert.equal(c.read(() => {}, 17), 17);
  c.close();
  const got = traceRows(ring.snapshot());
  assert.deepEqual(got.warnings, []);
  const it = ring.iterator();
  assert.equal(got.rows.length, it.read(() => {}));
});

test('urb dump --json keeps the truncation flag of strings and bytes, and the sign of -0 (item 12)', async () => {
  const ring = createRing({ lanes: 1, sharedLanes: 0, metadataBytes: 1024 });
  const ev = defineEvent(ring, 'cut', { x: t.f64, y: t.f32, s: t.string(4), b: t.bytes(2) });
  const w = ring.writer();
  ev.write(w, { x: -0, y: -0, s: 'toolong', b: new Uint8Array([1, 2, 3]) });
  ev.write(w, { x: 0, y: 1.5, s: 'ok', b: new Uint8Array([9]) });
  const path = join(dir, 'cut.urb');
  writeFileSync(path, ring.snapshot());
  const r = await runCaptured(['dump', '--json', path]);
  assert.equal(r.code, 0);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 2);
  const first = JSON.parse(lines[0]!) as { fields: { x: number; y: number; s: string; b: string }; truncated?: string[] };
  assert.ok(Object.is(first.fields.x, -0) && Object.is(first.fields.y, -0), lines[0]);
  assert.deepEqual(first.truncated, ['s', 'b']);
  assert.equal(first.fields.s, 'tool');
  const second = JSON.parse(lines[1]!) as { fields: { x: number }; truncated?: string[] };
  assert.ok(Object.is(second.fields.x, 0));
  assert.equal(second.truncated, undefined, 'no truncated list when nothing was cut');
});

test('damage before the other lanes begin costs them nothing: a lane that starts at page 0 with no record before it lost nothing', () => {
  const ring = createRing({ lanes: 3, sharedLanes: 0, pageSize: 256, pagesPerLane: 4, mode: 'discard', clock: 'counter', metadataBytes: 0 });
  const parts: Uint8Array[] = [];
  const pipe = new TracePipe(ring, (p) => parts.push(...p.map((x) => x.slice())), { batchPages: 2 });
  const first = ring.writer({ lane: 0 });
  for (let i = 0; i < 30; i++) first.write(1, new Uint8Array(20).fill(i));
  pipe.pump(); // lane 0's first chunk, before any chunk of lanes 1 and 2
  const others = [ring.writer({ lane: 1 }), ring.writer({ lane: 2 }), first];
  for (let i = 0; i < 60; i++) others[i % 3]!.write(2, new Uint8Array(20).fill(i));
  pipe.close();
  const full = concatBytes(parts);
  const target = chunkList(full).find((c) => c.kind === CHUNK_PAGE)!;
  assert.equal(target.lane, 0);
  const bad = full.slice();
  bad[target.at + CH_SYNC]! ^= 1;
  const got = traceRows(bad);
  const markers = got.rows.filter((r) => r.endsWith('|damaged'));
  assert.deepEqual(markers.map((m) => m.split('|')[1]), ['0'], 'only the damaged lane has a loss marker');
  const trace = openTrace(bytesSource(bad));
  const s = trace.stats();
  assert.deepEqual(s.lanes.map((l) => l.damagedUnknown), [1, 0, 0]);
});

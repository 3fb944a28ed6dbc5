/**
 * Issue 13: tools/python/urb_read.py reads `.urb` trace files from docs/FORMAT.md section 13 alone
 * and prints exactly what `urb dump --json` prints, on every kind of file the project writes:
 * snapshots, page hand-off in both modes (pipeToFile: multi-page chunks, fragments, LOST chunks),
 * `urb record` traces in both modes (the real CLI recording a program), recovered files (`urb
 * recover`), version 1 files, and damaged copies of each (flipped sync word, absurd length, flipped
 * payload bytes): the same records, times, fields, truncation flags, loss markers and causes, and
 * the same verdict (exit 1 after damage). Raw records' warning texts are only checked for presence.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRing, defineEvent, t, type RingBuffer } from '../../src/index.js';
import { createFileRing, dumpRing, pipeToFile } from '../../src/node/index.js';
import { CHUNK_PAD, CHUNK_PAGE, CH_LENGTH, CH_SYNC } from '../../src/tracefile/file-layout.js';
import { runCaptured } from '../cli/run-captured.js';
import { APP, urb } from '../cli/urb-process.js';
import { chunkList, toVersion1 } from '../tracefile/chunks.js';

const SCRIPT = fileURLToPath(new URL('../../../tools/python/urb_read.py', import.meta.url));
const python = spawnSync('python3', ['--version']).status === 0;
const dir = mkdtempSync(join(tmpdir(), 'urb-pytrace-'));
after(() => rmSync(dir, { recursive: true, force: true }));

type Line = Record<string, unknown>;
const lines = (text: string): Line[] =>
  text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const e = JSON.parse(l) as Line;
      if ('warning' in e) e['warning'] = typeof e['warning'] === 'string';
      return e;
    });

/** `urb dump --json FILE` and `urb_read.py FILE --json` agree; returns the lines and the exit code. */
async function agree(path: string, what: string): Promise<{ lines: Line[]; code: number }> {
  const ts = await runCaptured(['dump', '--json', path]);
  const py = spawnSync('python3', [SCRIPT, path, '--json'], { encoding: 'utf8', maxBuffer: 256 << 20 });
  assert.ok(py.status === 0 || py.status === 1, `${what}: python exit ${py.status}: ${py.stderr}`);
  const want = lines(ts.stdout);
  assert.deepStrictEqual(lines(py.stdout), want, `${what}: urb_read.py and urb dump --json agree`);
  assert.equal(py.status, ts.code, `${what}: the same verdict (exit 1 after damage): ${py.stderr} / ${ts.stderr.join('\n')}`);
  return { lines: want, code: ts.code };
}

/** Damaged copies of `path`: the sync word and the length of a page chunk in the middle, and bytes flipped in page payloads. */
async function agreeDamaged(path: string, what: string): Promise<void> {
  const full = new Uint8Array(readFileSync(path));
  const pages = chunkList(full).filter((c) => c.kind === CHUNK_PAGE);
  if (pages.length === 0) return;
  const mid = pages[Math.floor(pages.length / 2)]!;
  const copies: [string, (b: Uint8Array) => void][] = [
    ['sync', (b) => (b[mid.at + CH_SYNC]! ^= 0x10)],
    ['length', (b) => new DataView(b.buffer).setUint32(mid.at + CH_LENGTH, 0xfffffff0, true)],
  ];
  for (let k = 0; k < 2; k++) {
    copies.push([`bytes${k}`, (b) => {
      for (let j = 0; j < 3; j++) {
        const c = pages[(k * 7 + j * 3) % pages.length]!;
        const at = c.at + 40 + ((k * 97 + j * 53) % Math.max(1, c.length));
        b[at]! ^= 1 << ((k + j) % 8);
      }
    }]);
  }
  for (const [name, damage] of copies) {
    const bad = full.slice();
    damage(bad);
    const p = join(dir, `${what}-${name}.urb`);
    writeFileSync(p, bad);
    await agree(p, `${what}, damaged (${name})`);
  }
  const v1 = join(dir, `${what}-v1.urb`);
  writeFileSync(v1, toVersion1(full));
  await agree(v1, `${what}, version 1`);
}

/** Typed events (every field type, truncated strings and bytes, -0, NaN), raw records, TIME records, drops. */
function mixer(ring: RingBuffer): (rounds: number, clockJump?: () => void) => void {
  const all = defineEvent(ring, 'all_types', {
    a: t.i8, b: t.u8, c: t.i16, d: t.u16, e: t.i32, f: t.u32, g: t.i64, h: t.u64, i: t.f32, j: t.f64, k: t.bool,
    arr: t.array(3), en: t.enum(['GET', 'POST']), s: t.string(6), bin: t.bytes(3),
  });
  const specials = [0, -0, 1.5, Number.NaN, Infinity, -Infinity, 1e-300];
  const ws = [ring.writer({ lane: 0 }), ring.writer({ lane: 'shared' })];
  return (rounds, clockJump) => {
  for (let n = 0; n < rounds; n++) {
    clockJump?.();
    const w = ws[n % 2]!;
    all.write(w, {
      a: n - 100, b: n, c: -n, d: n * 3, e: -(2 ** 31) + n, f: 2 ** 32 - 1 - n, g: -(2n ** 63n) + BigInt(n), h: BigInt(n) * 3n,
      i: specials[n % specials.length]!, j: specials[(n + 2) % specials.length]!, k: n % 2 === 0, arr: new Uint8Array([n, 1]),
      en: n % 2, s: n % 3 === 0 ? 'much too long ✓' : `s${n}`, bin: new Uint8Array(n % 5).fill(n),
    });
    w.write(n % 4096, new Uint8Array([n & 0xff, 7]));
    if (n % 10 === 0) w.write(4096 + 40, new Uint8Array([1])); // a schema id without a schema: raw, with a warning
  }
  };
}

test('urb_read.py reads snapshots (lapped overwrite ring, TIME records, an open reservation) as urb dump --json does', { skip: !python && 'python3 not found' }, async () => {
  let now = 0;
  const ring = createRing({ lanes: 1, sharedLanes: 1, pageSize: 512, pagesPerLane: 4, mode: 'overwrite', clock: () => now, metadataBytes: 2048 });
  mixer(ring)(120, () => (now += now % 7 === 0 ? 2 ** 33 + 0.5 : 1000));
  const open = ring.writer({ lane: 'shared' }).reserve(3, 4);
  assert.ok(open >= 0);
  const path = join(dir, 'snapshot.urb');
  dumpRing(ring, path);
  const r = await agree(path, 'snapshot');
  assert.equal(r.code, 0);
  assert.ok(r.lines.length > 50 && r.lines.some((l) => 'truncated' in l));
  await agreeDamaged(path, 'snapshot');
});

for (const mode of ['discard', 'overwrite'] as const) {
  test(`urb_read.py reads page hand-off files (${mode} mode: multi-page chunks, fragments, ${mode === 'discard' ? 'in-band drops' : 'LOST chunks'}) as urb dump --json does`, { skip: !python && 'python3 not found' }, async () => {
    const ring = createRing({ lanes: 1, sharedLanes: 1, pageSize: 512, pagesPerLane: 4, mode, clock: 'counter', metadataBytes: 2048 });
    const path = join(dir, `pipe-${mode}.urb`);
    const pipe = pipeToFile(ring, path, { batchPages: 3 });
    const write = mixer(ring);
    for (let round = 0; round < 6; round++) {
      write(150);
      if (round % 2 === 0) pipe.pump();
      else pipe.flush();
    }
    pipe.close();
    const r = await agree(path, `pipe ${mode}`);
    assert.equal(r.code, 0);
    assert.ok(r.lines.some((l) => 'lost' in l), 'losses are in the file');
    await agreeDamaged(path, `pipe-${mode}`);
  });
}

test('urb_read.py skips the PAD chunks of aligned batches (a full pump of 16-page batches) as urb dump --json does', { skip: !python && 'python3 not found' }, async () => {
  const ring = createRing({ lanes: 1, sharedLanes: 1, pageSize: 512, pagesPerLane: 64, mode: 'discard', clock: 'counter', metadataBytes: 2048 });
  const path = join(dir, 'pipe-pad.urb');
  const pipe = pipeToFile(ring, path, { batchPages: 16 });
  mixer(ring)(400);
  pipe.close();
  assert.ok(chunkList(new Uint8Array(readFileSync(path))).some((c) => c.kind === CHUNK_PAD), 'the file has PAD chunks');
  const r = await agree(path, 'pipe with PAD chunks');
  assert.equal(r.code, 0);
  assert.equal(r.lines.filter((l) => l.event === 'all_types').length, 400, 'every event of the mixer');
});

for (const mode of ['discard', 'overwrite'] as const) {
  test(`urb_read.py reads urb record traces (${mode} mode, a program with a burst that overfills the ring) as urb dump --json does`, { skip: !python && 'python3 not found', timeout: 60_000 }, async () => {
    const path = join(dir, `record-${mode}.urb`);
    const rec = await urb(['record', '-o', path, '--mode', mode, '--size', '16k', '--page-size', '1k', '--no-instrument', '--', process.execPath, APP, '--requests', '10', '--jobs', '5', '--burst', '3000']);
    assert.equal(rec.code, 0, rec.stderr);
    const r = await agree(path, `record ${mode}`);
    assert.ok(r.lines.length > 100);
    await agreeDamaged(path, `record-${mode}`);
  });
}

test('urb_read.py reads a recovered file (urb recover of a ring with an open reservation) as urb dump --json does', { skip: !python && 'python3 not found' }, async () => {
  const ringFile = join(dir, 'crashed.ring');
  const ring = createFileRing(ringFile, { lanes: 1, sharedLanes: 1, pageSize: 512, pagesPerLane: 4, mode: 'overwrite', metadataBytes: 2048 });
  mixer(ring)(80);
  assert.ok(ring.writer({ lane: 'shared' }).reserve(2, 16) >= 0);
  const out = join(dir, 'recovered.urb');
  const rec = await runCaptured(['recover', ringFile, '-o', out, '--reclaim', 'none']);
  assert.equal(rec.code, 0, rec.stderr.join('\n'));
  const r = await agree(out, 'recovered');
  assert.ok(r.lines.length > 20, `${r.lines.length} records`);
  await agreeDamaged(out, 'recovered');
});

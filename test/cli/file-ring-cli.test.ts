/**
 * `urb recover` and `urb attach` on real file rings (issue 5): a writer process killed with SIGKILL
 * in the middle of a reservation, then recovered to a .urb file; a live attach printing the events
 * another process commits.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineEvent, t } from '../../src/index.js';
import { createFileRing, openFileRing } from '../../src/node/index.js';
import { URB, run, urb } from './urb-process.js';

const dir = mkdtempSync(join(tmpdir(), 'urb-fr-cli-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const src = new URL('../../src/', import.meta.url).href;

test('urb recover: a writer killed mid-reservation; every committed record reaches the .urb file, the open one is counted, the ring is writable again', async () => {
  const path = join(dir, 'crash.ring');
  createFileRing(path, { lanes: 2, sharedLanes: 1, pageSize: 1024, pagesPerLane: 8, mode: 'overwrite' });
  const script = `
    import { defineEvent, t } from ${JSON.stringify(src + 'index.js')};
    import { openFileRing } from ${JSON.stringify(src + 'node/index.js')};
    const ring = openFileRing(${JSON.stringify(path)});
    const ev = defineEvent(ring, 'order', { id: t.u32, item: t.string(16) });
    const w = ring.writer({ tag: process.pid });
    for (let i = 0; i < 40; i++) ev.write(w, { id: i, item: 'widget-' + i });
    w.reserve(9, 8); // never committed
    process.kill(process.pid, 'SIGKILL');`;
  const child = await run(process.execPath, ['--input-type=module', '-e', script]);
  assert.equal(child.signal, 'SIGKILL', child.stderr);
  const out = join(dir, 'crash.urb');
  const r = await urb(['recover', path, '-o', out]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /40 records/);
  assert.match(r.stdout, /1 reserved but never committed/);
  assert.match(r.stdout, /1 dead producer repaired/);
  const dump = await urb(['dump', out, '--json']);
  assert.equal(dump.code, 0, dump.stderr);
  const lines = dump.stdout.trim().split('\n').map((l) => JSON.parse(l) as { event: string; fields: { id: number; item: string } });
  assert.equal(lines.length, 40);
  assert.deepEqual(lines.map((l) => l.fields.id), Array.from({ length: 40 }, (_, i) => i));
  assert.equal(lines[39]!.fields.item, 'widget-39');
  const info = await urb(['info', out]);
  assert.match(info.stdout, /recovered/);
  // The ring can be written again.
  const ring = openFileRing(path);
  const w = ring.writer({ tag: process.pid });
  assert.equal(w.write(1, new Uint8Array(4)), true);
  w.close();
});

test('urb attach: prints the events another process commits, decoded, until Ctrl-C', async () => {
  const path = join(dir, 'live.ring');
  const ring = createFileRing(path, { lanes: 1, sharedLanes: 0, pageSize: 1024, pagesPerLane: 8 });
  const ev = defineEvent(ring, 'tick', { n: t.u32, label: t.string(8) });
  const child = spawn(process.execPath, [URB, 'attach', '--from-start', path], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const w = ring.writer({ tag: process.pid });
  const deadline = Date.now() + 20_000;
  for (let i = 0; i < 5; i++) {
    ev.write(w, { n: i, label: `x${i}` });
    await new Promise((r) => setTimeout(r, 20));
  }
  while (stdout.trim().split('\n').filter(Boolean).length < 5 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  child.kill('SIGINT');
  const code = await new Promise((r) => child.once('close', r));
  assert.equal(code, 0, stderr);
  const lines = stdout.trim().split('\n');
  assert.equal(lines.length, 5, stdout);
  assert.match(lines[0]!, /L0 {2}tick {2}n=0 label="x0"/);
  assert.match(lines[4]!, /tick {2}n=4 label="x4"/);
  assert.match(stderr, /attach: 5 events/);
  w.close();
});

test('urb clear: empties a file ring while it stays writable; refuses a lane another process consumes', async () => {
  const path = join(dir, 'clear.ring');
  const ring = createFileRing(path, { lanes: 2, sharedLanes: 1, pageSize: 1024, pagesPerLane: 8, mode: 'overwrite' });
  const w = ring.writer({ tag: process.pid });
  const shared = ring.writer({ lane: 'shared', tag: process.pid });
  for (let i = 0; i < 20; i++) (i % 2 ? shared : w).write(1, new Uint8Array([i]));
  const r = await urb(['clear', path]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `${path}: 20 records cleared from 2 lanes (3 lanes cleared)\n`, 'lane 1 had no records');
  const s = ring.stats().total;
  assert.equal(s.cleared, 20);
  assert.equal(s.inRing, 0);
  assert.equal(ring.iterator().drain().length, 0);
  w.write(1, new Uint8Array([99]));
  assert.deepEqual(ring.iterator().drain().map((x) => x.payload[0]), [99], 'written after the clear: still there');
  const consumer = ring.consumer({ lanes: [0] });
  const refused = await urb(['clear', path]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /Cannot clear lane 0: it has a consumer/);
  const onlyShared = await urb(['clear', path, '--lane', '2']);
  assert.equal(onlyShared.code, 0, onlyShared.stderr);
  assert.equal(onlyShared.stdout, `${path}: 0 records cleared from 0 lanes (1 lane cleared)\n`);
  const bad = await urb(['clear', path, '--lane', '7']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--lane must be a lane number from 0 to 2, received "7"/);
  consumer.close();
  w.close();
  shared.close();
});

test('issue 13 item 10: urb recover --reclaim none changes no byte of the ring, and says the open reservation is in the file', async () => {
  const { createHash } = await import('node:crypto');
  const { readFileSync } = await import('node:fs');
  const path = join(dir, 'readonly.ring');
  createFileRing(path, { lanes: 1, sharedLanes: 1, pageSize: 1024, pagesPerLane: 8, mode: 'overwrite' });
  const script = `
    import { openFileRing } from ${JSON.stringify(src + 'node/index.js')};
    const ring = openFileRing(${JSON.stringify(path)});
    const w = ring.writer({ tag: process.pid });
    for (let i = 0; i < 25; i++) w.write(1, new Uint8Array(8));
    w.reserve(9, 8); // never committed
    process.kill(process.pid, 'SIGKILL');`;
  const child = await run(process.execPath, ['--input-type=module', '-e', script]);
  assert.equal(child.signal, 'SIGKILL', child.stderr);
  const sum = () => createHash('sha256').update(readFileSync(path)).digest('hex');
  const before = sum();
  const out = join(dir, 'readonly.urb');
  const r = await urb(['recover', '--reclaim', 'none', path, '-o', out]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(sum(), before, 'not a byte of the ring changed');
  assert.match(r.stdout, /25 records/);
  assert.match(r.stdout, /0 reserved but never committed, skipped/);
  assert.match(r.stdout, /1 reservation still open, left in place/);
  const stats = await urb(['stats', out, '--json']);
  assert.equal(stats.code, 0, stats.stderr);
  assert.equal((JSON.parse(stats.stdout) as { uncommitted: number }).uncommitted, 1, 'the file holds what the report says');
});

test('issue 13 item 11: one corrupt record header in one lane: urb recover writes every intact lane and page, urb attach prints them and the damage', async () => {
  const { PAGE_HEADER_BYTES, recordBytes } = await import('../../src/layout.js');
  const { dataHeaders } = await import('../fixtures/page-walk.js');
  const path = join(dir, 'damaged.ring');
  const ring = createFileRing(path, { lanes: 2, sharedLanes: 1, pageSize: 512, pagesPerLane: 8, mode: 'discard' });
  const perPage = Math.floor((512 - PAGE_HEADER_BYTES) / recordBytes(2));
  for (const lane of [0, 1, 'shared'] as const) {
    const w = ring.writer({ lane, tag: process.pid });
    for (let i = 0; i < 3 * perPage; i++) w.write(1, new Uint8Array([typeof lane === 'number' ? lane : 2, i]));
    w.close();
  }
  const page1 = dataHeaders(ring, 1, 1);
  const bad = page1[4]!;
  ring.core.i32[bad >> 2] = 1; // lane 1, page 1, 5th record: not a header any more
  const out = join(dir, 'damaged.urb');
  const r = await urb(['recover', '--reclaim', 'none', path, '-o', out]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`damaged: lane 1, bad word at byte ${bad} of the ring`));
  const dump = await urb(['dump', out, '--json']);
  assert.equal(dump.code, 0, dump.stderr);
  const rows = dump.stdout.trim().split('\n').map((l) => JSON.parse(l) as { lane: number; data?: string });
  const count = (lane: number) => rows.filter((x) => x.lane === lane && x.data !== undefined).length;
  assert.equal(count(0), 3 * perPage, 'lane 0 is whole');
  assert.equal(count(2), 3 * perPage, 'the shared lane is whole');
  assert.ok(count(1) >= 2 * perPage, `lane 1 keeps its intact pages (${count(1)})`);

  const child = spawn(process.execPath, [URB, 'attach', '--from-start', path], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const deadline = Date.now() + 20_000;
  while (stdout.split('\n').filter(Boolean).length < 8 * perPage + 1 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
  child.kill('SIGINT');
  const code = await new Promise((res) => child.once('close', res));
  assert.equal(code, 0, stderr);
  const lines = stdout.trim().split('\n');
  assert.equal(lines.filter((l) => / L0 /.test(` ${l} `) || /\sL0\s/.test(l)).length, 3 * perPage, 'lane 0 printed whole');
  assert.equal(lines.filter((l) => /\sL2\s/.test(l)).length, 3 * perPage, 'the shared lane printed whole');
  assert.equal(lines.filter((l) => /\sL1\s/.test(l) && !/LOST/.test(l)).length, 3 * perPage - (page1.length - 4), 'lane 1: its records but the damaged page\'s rest');
  assert.match(stdout, new RegExp(`L1 {2}LOST .*damaged: bad word at byte ${bad}`));
});

/**
 * The round-trip matrix (issue 13): every writer path (own lane, shared lane, typed events,
 * write(), nested reservations, discard mode with drops, overwrite mode with overrun) x every
 * reader (consumer, iterator, snapshot + trace reader, page hand-off file + trace reader, `urb
 * dump --json` of both files, tools/python/urb_read.py of both files) gives the same records,
 * times, fields and loss counts, lane by lane. Each reader gets its own ring, written the same
 * way by a deterministic program (a user clock), and reads it from the tail after the writing.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bytesSource, createRing, defineEvent, eventRegistry, openTrace, t, type RingBuffer, type RingRecord, type TraceFile } from '../src/index.js';
import { TracePipe } from '../src/node/index.js';
import { fieldsJson } from '../src/export/fields.js';
import { concatBytes } from '../src/tracefile/encode.js';
import type { EventRegistry } from '../src/schema/registry.js';
import { runCaptured } from './cli/run-captured.js';

const SCRIPT = fileURLToPath(new URL('../../tools/python/urb_read.py', import.meta.url));
const python = spawnSync('python3', ['--version']).status === 0;
const dir = mkdtempSync(join(tmpdir(), 'urb-matrix-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** One record or loss marker, in the shape `urb dump --json` prints (fields for typed events, hex for raw). */
type Row = Record<string, unknown>;

function tsRow(r: RingRecord, reg: EventRegistry | undefined): Row {
  const time = JSON.parse(JSON.stringify(r.timestamp)) as number;
  // Who wrote it, as dump prints it: every reader must agree on the writer of every record.
  const who = r.pid === 0 ? {} : { pid: r.pid, threadId: r.threadId, thread: r.threadName };
  if (r.kind === 'lost') return { t: time, lane: r.lane, ...who, lost: r.lost === r.lost ? r.lost : null, cause: r.cause };
  const v = reg?.view(r);
  if (v !== undefined && typeof v !== 'string' && v.schema !== undefined) {
    return { t: time, lane: r.lane, ...who, event: v.schema.name, id: r.type, fields: JSON.parse(fieldsJson(v, v.schema)) as unknown };
  }
  return { t: time, lane: r.lane, ...who, type: r.type, data: Buffer.from(r.bytes.subarray(r.offset, r.offset + r.length)).toString('hex') };
}

function jsonRows(text: string): Row[] {
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const e = JSON.parse(l) as Row;
      delete e['warning'];
      delete e['truncated'];
      return e;
    });
}

/** Rows grouped by lane, each lane in its order (readers merge lanes differently only on equal times). */
function byLane(rows: readonly Row[]): Row[][] {
  const out: Row[][] = [];
  for (const r of rows) (out[r['lane'] as number] ??= []).push(r);
  return out.map((l) => l ?? []);
}

interface Scenario {
  name: string;
  build(): RingBuffer;
}

function userClock(): () => number {
  let now = 0;
  let n = 0;
  return () => (now += ++n % 13 === 0 ? 2 ** 33 + 0.5 : 1000); // every 13th a TIME record
}

const scenarios: Scenario[] = [
  {
    name: 'own lane, write()',
    build() {
      const ring = createRing({ lanes: 2, sharedLanes: 0, pageSize: 512, pagesPerLane: 8, clock: userClock(), metadataBytes: 0 });
      const ws = [ring.writer({ lane: 0 }), ring.writer({ lane: 1 })];
      for (let i = 0; i < 150; i++) ws[i % 2]!.write(i % 100, new Uint8Array(i % 23).fill(i));
      return ring;
    },
  },
  {
    name: 'shared lane, two writers',
    build() {
      const ring = createRing({ lanes: 0, sharedLanes: 1, pageSize: 512, pagesPerLane: 8, clock: userClock(), metadataBytes: 0 });
      // Two producers of distinct identities (two processes' threads): every reader must tell them apart.
      const ws = [
        ring.writer({ lane: 'shared', identity: { pid: 4242, threadId: 3, name: 'worker "três"' } }),
        ring.writer({ lane: 'shared', identity: { pid: 77, threadId: 0, name: 'main' } }),
      ];
      for (let i = 0; i < 150; i++) ws[i % 2]!.write(1 + (i % 7), new Uint8Array(1 + (i % 17)).fill(i));
      return ring;
    },
  },
  {
    name: 'typed events, own and shared lanes',
    build() {
      const ring = createRing({ lanes: 1, sharedLanes: 1, pageSize: 1024, pagesPerLane: 8, clock: userClock(), metadataBytes: 2048 });
      const ev = defineEvent(ring, 'req', { m: t.enum(['GET', 'PUT']), st: t.u16, big: t.u64, x: t.f64, ok: t.bool, url: t.string(12), b: t.bytes(4) });
      const ws = [ring.writer({ lane: 0 }), ring.writer({ lane: 'shared' })];
      for (let i = 0; i < 120; i++) ev.write(ws[i % 2]!, { m: i % 2, st: 200 + i, big: 2n ** 60n + BigInt(i), x: i % 5 === 0 ? -0 : i / 3, ok: i % 3 === 0, url: `/p/${'x'.repeat(i % 20)}`, b: new Uint8Array(i % 6).fill(i) });
      return ring;
    },
  },
  {
    name: 'nested reservations and discards',
    build() {
      const ring = createRing({ lanes: 1, sharedLanes: 1, pageSize: 512, pagesPerLane: 8, clock: userClock(), metadataBytes: 0 });
      for (const w of [ring.writer({ lane: 0 }), ring.writer({ lane: 'shared' })]) {
        for (let i = 0; i < 40; i++) {
          const outer = w.reserve(10, 8);
          const inner = w.reserve(11, 4);
          assert.ok(outer >= 0 && inner >= 0);
          w.bytes.fill(i, outer, outer + 8);
          w.bytes.fill(i + 1, inner, inner + 4);
          w.commit(inner);
          if (i % 4 === 0) w.discard(outer);
          else w.commit(outer);
        }
      }
      return ring;
    },
  },
  {
    name: 'discard mode with drops (in-band LOST records)',
    build() {
      const ring = createRing({ lanes: 1, sharedLanes: 1, pageSize: 256, pagesPerLane: 4, mode: 'discard', clock: userClock(), metadataBytes: 0 });
      const ws = [ring.writer({ lane: 0 }), ring.writer({ lane: 'shared' })];
      for (let i = 0; i < 200; i++) ws[i % 2]!.write(3, new Uint8Array(12).fill(i));
      const c = ring.consumer();
      c.read(() => {}, 20); // room again: the next records carry the drop counts
      c.close();
      for (let i = 0; i < 10; i++) ws[i % 2]!.write(4, new Uint8Array([i]));
      return ring;
    },
  },
  {
    name: 'overwrite mode with overrun',
    build() {
      const ring = createRing({ lanes: 1, sharedLanes: 1, pageSize: 256, pagesPerLane: 4, mode: 'overwrite', clock: userClock(), metadataBytes: 0 });
      const ws = [ring.writer({ lane: 0 }), ring.writer({ lane: 'shared' })];
      for (let i = 0; i < 400; i++) ws[i % 2]!.write(5, new Uint8Array(i % 30).fill(i));
      return ring;
    },
  },
];

/** Lane by lane equality, failing with the first row that differs (a whole-structure diff would be huge). */
function same(got: Row[][], want: Row[][], what: string): void {
  assert.equal(got.length, want.length, `${what}: lanes`);
  for (let l = 0; l < want.length; l++) {
    const g = got[l]!;
    const w = want[l]!;
    for (let i = 0; i < Math.max(g.length, w.length); i++) {
      const a = JSON.stringify(g[i], (_k, v: unknown) => (typeof v === 'number' && Object.is(v, -0) ? '-0' : v));
      const b = JSON.stringify(w[i], (_k, v: unknown) => (typeof v === 'number' && Object.is(v, -0) ? '-0' : v));
      if (a !== b) assert.fail(`${what}: lane ${l}, row ${i} of ${w.length}: got ${a}, want ${b}`);
    }
  }
}

/** A trace file's whole content in one read (TraceFile.read starts over at every call). */
function fileRows(trace: TraceFile): Row[] {
  const rows: Row[] = [];
  trace.read((r) => rows.push(tsRow(r, trace.registry)));
  return rows;
}

/** A ring reader's records, read until it has nothing more. */
function readAll(read: (visit: (r: RingRecord) => void) => number, reg: EventRegistry | undefined): Row[] {
  const rows: Row[] = [];
  for (let i = 0; i < 10_000 && read((r) => rows.push(tsRow(r, reg))) > 0; i++);
  return rows;
}

function registryOf(ring: RingBuffer): EventRegistry | undefined {
  return ring.geometry.metadataBytes > 0 ? eventRegistry(ring) : undefined;
}

/** The pipe's rows without the overrun markers it may put before a lane's first record (records the ring overwrote before it attached). */
function withoutLeadingOverrun(rows: Row[][]): Row[][] {
  return rows.map((lane) => {
    let i = 0;
    while (i < lane.length && lane[i]!['cause'] === 'overrun') i++;
    return lane.slice(i);
  });
}

for (const s of scenarios) {
  test(`round trip: ${s.name}: every reader gives the same records, times, fields and losses`, { skip: !python && 'python3 not found' }, async () => {
    const a = s.build();
    const it = a.iterator();
    const iterator = byLane(readAll((v) => it.read(v), registryOf(a)));
    it.close();
    assert.ok(iterator.flat().filter((r) => !('lost' in r)).length > 20, `${s.name}: records to compare`);

    const b = s.build();
    const c = b.consumer();
    const consumer = byLane(readAll((v) => c.read(v), registryOf(b)));
    c.close();
    // A consumer is told first of the records overwritten before it attached (FORMAT.md 9.7.1); an
    // iterator is not: they must account for exactly the ring's overrun.
    const told = consumer.flat().filter((r) => r['cause'] === 'overrun').reduce((n, r) => n + (r['lost'] as number), 0);
    assert.equal(told, b.stats().total.overrun, `${s.name}: the consumer's overrun markers = the ring's overrun`);
    same(withoutLeadingOverrun(consumer), iterator, `${s.name}: consumer = iterator (past the overrun before it attached)`);

    const snap = s.build().snapshot();
    const st = openTrace(bytesSource(snap));
    same(byLane(fileRows(st)), iterator, `${s.name}: snapshot = iterator`);
    assert.deepEqual(st.warnings, []);

    const p = s.build();
    const parts: Uint8Array[] = [];
    const pipe = new TracePipe(p, (xs) => parts.push(...xs.map((x) => x.slice())), { batchPages: 3 });
    pipe.pump();
    pipe.close();
    const streamed = concatBytes(parts);
    const pt = openTrace(bytesSource(streamed));
    same(withoutLeadingOverrun(byLane(fileRows(pt))), iterator, `${s.name}: page hand-off file = iterator`);
    assert.deepEqual(pt.warnings, []);

    for (const [what, bytes] of [['snapshot', snap], ['hand-off', streamed]] as const) {
      const path = join(dir, `${s.name.replace(/\W+/g, '-')}-${what}.urb`);
      writeFileSync(path, bytes);
      const dump = await runCaptured(['dump', '--json', path]);
      assert.equal(dump.code, 0, dump.stderr.join('\n'));
      const dumped = byLane(jsonRows(dump.stdout));
      same(what === 'hand-off' ? withoutLeadingOverrun(dumped) : dumped, iterator, `${s.name}: urb dump --json of the ${what} = iterator`);
      const py = spawnSync('python3', [SCRIPT, path, '--json'], { encoding: 'utf8', maxBuffer: 64 << 20 });
      assert.equal(py.status, 0, py.stderr);
      same(byLane(jsonRows(py.stdout)), byLane(jsonRows(dump.stdout)), `${s.name}: urb_read.py of the ${what} = urb dump --json`);
    }
  });
}

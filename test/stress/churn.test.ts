/**
 * Producers that come and go, and die (issue 13 item 14). Worker threads take a writer, write a
 * burst and close it, over and over; or are terminated at random moments (reservations open),
 * reclaimed and replaced. Meanwhile a consumer reads. Nothing may refuse a new writer, stall, tear
 * or duplicate a record, and every record is read or reported lost, exactly, per lane.
 *
 * URB_CHURN_MS sets how long each run lasts (default 2500 ms: CI); run it for minutes locally.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { once } from 'node:events';
import { createRing, type RingBuffer, type RingRecord } from '../../src/index.js';
import { L_HEAD_PAGE, PG_COMMITTED, PG_PREPARER, PG_SEQ, laneOffset, slotOffset } from '../../src/layout.js';
import { PAYLOAD_HEADER, payloadChecksum, typeFor } from './protocol.js';
import type { ChurnReport, ChurnWorkerData } from './churn-worker.js';

const runMs = Number(process.env['URB_CHURN_MS'] ?? 2500);
const seed = Number(process.env['URB_CHURN_SEED'] ?? (Math.random() * 2 ** 32) >>> 0) >>> 0;
console.log(`churn seed ${seed} (URB_CHURN_SEED), ${runMs} ms per run (URB_CHURN_MS)`);
const workerUrl = new URL('./churn-worker.js', import.meta.url);

/** What the consumer saw, checked record by record. */
class Seen {
  readonly data: number[];
  readonly overrun: number[];
  readonly dropped: number[];
  readonly problems: string[] = [];
  readonly #last = new Map<string, number>();
  constructor(lanes: number) {
    this.data = new Array<number>(lanes).fill(0);
    this.overrun = new Array<number>(lanes).fill(0);
    this.dropped = new Array<number>(lanes).fill(0);
  }
  visit = (r: RingRecord): void => {
    if (r.kind === 'lost') {
      if (!Number.isFinite(r.lost)) this.problems.push(`lane ${r.lane}: a loss of unknown size`);
      (r.cause === 'dropped' ? this.dropped : this.overrun)[r.lane]! += r.lost;
      return;
    }
    this.data[r.lane]!++;
    const dv = new DataView(r.bytes.buffer, r.bytes.byteOffset + r.offset, r.length);
    if (r.length !== PAYLOAD_HEADER) return void this.problems.push(`lane ${r.lane}: a record of ${r.length} bytes`);
    const id = dv.getUint32(0, true);
    const seq = dv.getUint32(4, true);
    if (dv.getUint32(12, true) !== payloadChecksum(r.bytes, r.offset, r.length) || r.type !== typeFor(id, seq)) {
      return void this.problems.push(`lane ${r.lane}: torn record (writer ${id}, seq ${seq})`);
    }
    const key = `${id}:${r.lane}`;
    const last = this.#last.get(key) ?? -1;
    if (seq <= last) this.problems.push(`lane ${r.lane}: writer ${id} seq ${seq} after ${last} (duplicate or out of order)`);
    this.#last.set(key, seq);
  };
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Read until nothing is left. */
function drain(reader: ReturnType<RingBuffer['consumer']>, seen: Seen): void {
  for (let i = 0; i < 10_000 && reader.read(seen.visit) > 0; i++);
}

function checkBooks(ring: RingBuffer, seen: Seen, label: string): void {
  assert.deepEqual(seen.problems.slice(0, 10), [], label);
  const st = ring.stats();
  for (const l of st.lanes) {
    const at = `${label}, lane ${l.lane}`;
    assert.equal(l.inRing, 0, `${at}: drained`);
    assert.equal(l.read, seen.data[l.lane], `${at}: read`);
    assert.equal(l.overrun, seen.overrun[l.lane], `${at}: every overwritten record reported`);
    // Discard mode: every drop is reported (in-band, or by the consumer for retired writers). In
    // overwrite mode an in-band report can be overwritten with its page (counted in stats only).
    if (ring.mode === 'discard') assert.equal(l.dropped, seen.dropped[l.lane], `${at}: every dropped record reported`);
    else assert.ok(seen.dropped[l.lane]! <= l.dropped, `${at}: no drop reported twice`);
    assert.equal(l.written, l.read + l.overrun + l.cleared, `${at}: written = read + overrun + cleared`);
  }
}

for (const mode of ['discard', 'overwrite'] as const) {
  test(`churn (${mode}): 4 threads take a writer, write a burst, close it; no refusal, every record read or reported lost`, async () => {
    const ring = createRing({ lanes: 1, sharedLanes: 1, pageSize: 1024, pagesPerLane: 4, mode, maxProducers: 8, metadataBytes: 0 });
    const reader = ring.consumer();
    const seen = new Seen(ring.geometry.lanes);
    const deadline = Date.now() + runMs;
    const workers = Array.from({ length: 4 }, (_, i) => {
      const wd: ChurnWorkerData = { buffer: ring.buffer, kind: 'churn', writerId: i + 1, seed: seed + i, deadline, burstMax: 200 };
      return new Worker(workerUrl, { workerData: wd });
    });
    const exits = Promise.all(workers.map((w) => once(w, 'exit'))); // listened to now: a worker may exit right after its report
    const reports = Promise.all(workers.map(async (w) => (await once(w, 'message'))[0] as ChurnReport));
    let finished = false;
    void reports.finally(() => (finished = true));
    for (let round = 0; !finished; round++) {
      reader.read(seen.visit);
      if (round % 8 === 0) await sleep(1); // now and then let the lanes fill (drops in discard mode)
      else await tick();
    }
    const all = await reports;
    await exits;
    drain(reader, seen);
    const lanes = ring.geometry.lanes;
    const written = Array.from({ length: lanes }, (_, l) => all.reduce((s, r) => s + (r.written[l] ?? 0), 0));
    const dropped = Array.from({ length: lanes }, (_, l) => all.reduce((s, r) => s + (r.dropped[l] ?? 0), 0));
    const writers = all.reduce((s, r) => s + r.writers, 0);
    console.log(`churn ${mode}: ${writers} writers, written ${written.join('/')}, dropped ${dropped.join('/')}, read ${seen.data.join('/')}, overrun ${seen.overrun.join('/')} per lane`);
    assert.equal(all.reduce((s, r) => s + r.refused, 0), 0, 'no writer was refused');
    assert.ok(writers > 8, 'slots were reused');
    checkBooks(ring, seen, `churn ${mode}`);
    for (let l = 0; l < lanes; l++) {
      assert.equal(ring.stats().lanes[l]!.written, written[l], `lane ${l}: written as the threads counted`);
      assert.equal(ring.stats().lanes[l]!.dropped, dropped[l], `lane ${l}: dropped as the threads counted`);
      assert.equal(seen.data[l]! + seen.overrun[l]!, written[l], `lane ${l}: written = read + overrun`);
    }
  });

  test(`kill (${mode}): threads terminated at random moments are reclaimed and replaced; no refusal, no stall, no torn or duplicate record`, async () => {
    const ring = createRing({ lanes: 2, sharedLanes: 1, pageSize: 1024, pagesPerLane: 8, mode, maxProducers: 4, metadataBytes: 0 });
    const reader = ring.consumer();
    const seen = new Seen(ring.geometry.lanes);
    let nextId = 1;
    let abandoned = 0;
    let kills = 0;
    const problems: string[] = [];
    const spawn = async (): Promise<{ worker: Worker; id: number }> => {
      const id = nextId++;
      const wd: ChurnWorkerData = { buffer: ring.buffer, kind: 'kill', writerId: id, seed: seed + id, deadline: 0, burstMax: 0 };
      const worker = new Worker(workerUrl, { workerData: wd });
      worker.on('error', (e) => problems.push(`worker ${id}: ${String(e)}`));
      const [msg] = (await once(worker, 'message')) as [{ ready?: number; refused?: string }];
      if (msg.refused !== undefined) problems.push(`worker ${id} refused: ${msg.refused}`);
      return { worker, id };
    };
    const reap = async (victim: { worker: Worker; id: number }): Promise<void> => {
      await victim.worker.terminate();
      for (const p of ring.producersByTag(victim.id)) abandoned += Math.max(0, ring.reclaimProducer(p));
      kills++;
    };
    const alive = await Promise.all([spawn(), spawn(), spawn()]);
    const deadline = Date.now() + runMs;
    let reading = true;
    const consumer = (async () => {
      while (reading) {
        reader.read(seen.visit);
        await tick();
      }
    })();
    let rnd = seed;
    while ((Date.now() < deadline || kills < 8) && problems.length === 0) {
      rnd = (Math.imul(rnd, 1103515245) + 12345) >>> 0;
      await sleep(2 + (rnd % 40));
      const k = (rnd >>> 8) % alive.length;
      await reap(alive[k]!);
      alive[k] = await spawn();
    }
    for (const a of alive) await reap(a);
    reading = false;
    await consumer;
    drain(reader, seen);
    assert.deepEqual(problems, []);
    // No stall: a new writer on every lane gets through to the consumer.
    const before = seen.data.reduce((a, b) => a + b, 0);
    const last = Array.from({ length: ring.geometry.lanes }, (_, l) => ring.writer({ lane: l === ring.geometry.ownLanes ? 'shared' : l, tag: 0 }));
    const payload = new Uint8Array(PAYLOAD_HEADER);
    const dv = new DataView(payload.buffer);
    for (const [i, w] of last.entries()) {
      dv.setUint32(0, 1_000_000 + i, true);
      dv.setUint32(4, 0, true);
      dv.setUint32(8, PAYLOAD_HEADER, true);
      dv.setUint32(12, payloadChecksum(payload, 0, PAYLOAD_HEADER), true);
      if (!w.write(typeFor(1_000_000 + i, 0), payload)) {
        const g = ring.geometry;
        const lb = laneOffset(g, w.lane);
        const i32 = ring.core.i32;
        const slots = Array.from({ length: g.lanePages }, (_, k) => {
          const s = slotOffset(g, lb, k);
          const busy: string[] = [];
          for (let off = 48; off < g.pageSize; ) {
            const h = i32[(s + off) >> 2]!;
            if (h === 0) break;
            if (h >>> 30 === 1) busy.push(`${off}:${h & 0x3fff}`);
            off += (8 + ((h >>> 14) & 0xffff) + 7) & ~7;
          }
          return `slot ${k}: seq ${i32[(s + PG_SEQ) >> 2]} preparer ${i32[(s + PG_PREPARER) >> 2]} committed ${i32[(s + PG_COMMITTED) >> 2]} busy [${busy.join(' ')}]`;
        });
        assert.fail(`lane ${w.lane} refuses a record: head ${i32[(lb + L_HEAD_PAGE) >> 2]}\n${slots.join('\n')}`);
      }
      w.close();
    }
    drain(reader, seen);
    assert.equal(seen.data.reduce((a, b) => a + b, 0), before + last.length, 'every lane delivers again');
    console.log(`kill ${mode}: ${kills} kills, ${abandoned} reservations abandoned, read ${seen.data.join('/')}, overrun ${seen.overrun.join('/')}, dropped ${seen.dropped.join('/')} per lane`);
    assert.ok(kills >= 8, 'more kills than producer slots (4)');
    assert.equal(ring.stats().total.abandoned, abandoned);
    checkBooks(ring, seen, `kill ${mode}`);
  });
}

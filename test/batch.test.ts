import { test } from "node:test";
import assert from "node:assert/strict";
import { Worker } from "node:worker_threads";
import { createRing, RecordStateError, type RecordBatch, type RingBuffer, type RingWriter } from "../src/index.js";

const opts = { lanes: 2, sharedLanes: 1, pageSize: 1024, pagesPerLane: 4, maxProducers: 8, metadataBytes: 0 } as const;

function fillBatch(w: RingWriter, n: number, first: number): void {
  for (let k = 0; k < n; k++) w.i32[(w.batchAt + k * w.batchStride) >> 2] = first + k;
}

function readAll(batches: (cb: (b: RecordBatch) => void) => number): { values: number[]; times: number[]; lost: number } {
  const values: number[] = [];
  const times: number[] = [];
  let lost = 0;
  batches((b) => {
    if (b.kind === "lost") {
      lost += b.lost;
      return;
    }
    const i32 = new Int32Array(b.bytes.buffer, b.bytes.byteOffset, b.bytes.byteLength >> 2);
    for (let k = 0; k < b.count; k++) {
      values.push(i32[(b.offsets[k] as number) >> 2] as number);
      times.push(b.timestamps[k] as number);
    }
  });
  return { values, times, lost };
}

test("reserveBatch() reserves what fits in the page, commitBatch() publishes all of it at once with one time", () => {
  let now = 1000;
  const ring = createRing({ ...opts, clock: () => now, mode: "discard" });
  const w = ring.writer();
  const reader = ring.consumer({ lanes: [0] });
  const n = w.reserveBatch(5, 16, 10);
  assert.equal(n, 10);
  assert.equal(w.batchStride, 24);
  fillBatch(w, n, 100);
  now = 1005; // the rest of the batch was stamped when it was reserved
  assert.equal(reader.read(() => {}), 0, "nothing of an open batch is visible");
  w.commitBatch();
  const got = readAll((cb) => reader.readBatches(cb));
  assert.deepEqual(got.values, [100, 101, 102, 103, 104, 105, 106, 107, 108, 109]);
  assert.ok(got.times.every((t) => t === 1000));
  // A page of 1024 bytes holds (1024 - 48) / 24 = 40 records: a big batch stops at the page end.
  const m = w.reserveBatch(5, 16, 1000);
  assert.equal(m, 40 - 10);
  fillBatch(w, m, 0);
  w.commitBatch();
  assert.equal(w.reserveBatch(5, 16, 1000), 40, "the next batch starts on the next page");
  w.commitBatch();
  assert.equal(readAll((cb) => reader.readBatches(cb)).values.length, 70);
  assert.equal(ring.stats().total.written, 80);
});

test("reserveBatch() checks its count and refuses a second open batch; commitBatch() needs an open one", () => {
  const ring = createRing({ ...opts });
  const w = ring.writer();
  assert.throws(() => w.reserveBatch(1, 8, 0), /count must be an integer from 1/);
  assert.throws(() => w.reserveBatch(1, 8, 1.5), /count must be an integer from 1/);
  assert.throws(() => w.commitBatch(), RecordStateError);
  assert.equal(w.reserveBatch(1, 8, 3), 3);
  assert.throws(() => w.reserveBatch(1, 8, 3), /a batch is open on lane 0/);
  w.commitBatch();
  assert.throws(() => w.commitBatch(), /no batch is open/);
});

test("a shared lane's batch is one record (no batch path there), read back like any other", () => {
  const ring = createRing({ ...opts, mode: "discard" });
  const w = ring.writer({ lane: "shared" });
  let v = 0;
  for (let i = 0; i < 5; i++) {
    const n = w.reserveBatch(2, 12, 8);
    assert.equal(n, 1);
    fillBatch(w, n, v);
    v += n;
    w.commitBatch();
  }
  assert.deepEqual(readAll((cb) => ring.consumer().readBatches(cb)).values, [0, 1, 2, 3, 4]);
});

test("a full lane in discard mode: reserveBatch() returns 0, the drop is counted and reported before the next batch", () => {
  const ring = createRing({ ...opts, mode: "discard" });
  const w = ring.writer();
  let written = 0;
  let dropped = 0;
  for (let i = 0; i < 20; i++) {
    const n = w.reserveBatch(1, 16, 30);
    if (n === 0) {
      dropped++;
      continue;
    }
    fillBatch(w, n, written);
    written += n;
    w.commitBatch();
  }
  assert.ok(dropped > 0);
  const reader = ring.consumer();
  const first = readAll((cb) => reader.readBatches(cb));
  assert.equal(first.values.length, written);
  const n = w.reserveBatch(1, 16, 2);
  assert.ok(n > 0);
  fillBatch(w, n, written);
  w.commitBatch();
  const next = readAll((cb) => reader.readBatches(cb));
  assert.equal(next.lost, dropped, "the drops are reported in-band, exactly");
  assert.equal(w.dropped, dropped);
});

test("readBatches() max bounds the records handed out, and a batch never spans lanes", () => {
  let now = 0;
  const ring = createRing({ ...opts, clock: () => now, mode: "discard" });
  const [a, b] = [ring.writer(), ring.writer()] as [RingWriter, RingWriter];
  for (let i = 0; i < 10; i++) {
    now = i;
    a.write(1, new Uint8Array(4));
    b.write(1, new Uint8Array(4));
  }
  const reader = ring.consumer();
  const lanes: number[] = [];
  assert.equal(reader.readBatches((batch) => lanes.push(batch.lane, batch.count), 7), 7);
  // Equal times go to lane 0 first, then lane 1: runs of one record each alternate lanes here.
  assert.deepEqual(lanes, [0, 1, 1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 0, 1]);
  assert.equal(reader.readBatches(() => {}), 13);
});

type WriterDone = { type: "done"; seq: number; committed: number; dropped: number; batches: number };

/** A worker writing batches (fixtures/batch-writer.ts) into a small discard-mode ring, and the batch visitor checking its records. */
async function startBatchWriter(): Promise<{ ring: RingBuffer; check: SeqCheck; stop: () => Promise<WriterDone> }> {
  const ring = createRing({ lanes: 1, sharedLanes: 0, pageSize: 1024, pagesPerLane: 4, metadataBytes: 0, mode: "discard" });
  const stopFlag = new SharedArrayBuffer(4);
  const worker = new Worker(new URL("./fixtures/batch-writer.js", import.meta.url), { workerData: { buffer: ring.buffer, stop: stopFlag, lane: 0 } });
  const done = new Promise<WriterDone>((resolve, reject) => {
    worker.on("message", (m: { type: string }) => m.type === "done" && resolve(m as WriterDone));
    worker.once("error", reject);
  });
  await new Promise<void>((resolve) => worker.once("message", () => resolve()));
  return {
    ring,
    check: new SeqCheck(),
    async stop() {
      Atomics.store(new Int32Array(stopFlag), 0, 1); // publish the stop request; pairs with the worker's Atomics.load
      const d = await done;
      await worker.terminate();
      return d;
    },
  };
}

/** Checks the batch writer's records: seq in order, loss markers standing for the gaps. */
class SeqCheck {
  expect = 0;
  read = 0;
  lost = 0;
  bad = "";
  readonly visit = (b: RecordBatch): void => {
    if (b.kind === "lost") {
      this.lost += b.lost;
      this.expect += b.lost;
      return;
    }
    const i32 = new Int32Array(b.bytes.buffer, b.bytes.byteOffset, b.bytes.byteLength >> 2);
    for (let k = 0; k < b.count; k++) {
      const i = (b.offsets[k] as number) >> 2;
      const seq = i32[i] as number;
      if (this.bad === "" && (seq !== this.expect || i32[i + 1] !== ~seq || b.lengths[k] !== 16 || b.types[k] !== 3)) {
        this.bad = `record ${this.read}: seq ${seq}, expected ${this.expect}`;
      }
      this.expect = seq + 1;
      this.read++;
    }
  };

  /** After the writer stopped and the reader drained: every record once, in order, every drop counted. */
  verify(ring: RingBuffer, d: WriterDone): void {
    assert.equal(this.bad, "");
    assert.equal(this.read, d.committed, "every committed record read once");
    assert.equal(ring.stats().total.dropped, d.dropped, "every drop counted");
    // Drops after the writer's last batch are counted but reported with its next write (there is none).
    const unreported = d.dropped - this.lost;
    assert.ok(unreported >= 0, `more loss reported (${this.lost}) than dropped`);
    assert.equal(this.expect + unreported, d.seq, "sequence and loss markers add up to what the writer attempted");
    assert.ok(d.batches > 100 && d.committed > d.batches, `batches ${d.batches}, records ${d.committed}`);
  }
}

test("a writer thread with batches and a batch reader on this thread: every record once, in order, loss exact", { timeout: 30_000 }, async () => {
  const { ring, check, stop } = await startBatchWriter();
  const reader = ring.consumer();
  const until = Date.now() + 1500;
  let d: WriterDone;
  try {
    while (Date.now() < until) {
      if (reader.readBatches(check.visit) === 0) await new Promise((r) => setImmediate(r));
    }
  } finally {
    d = await stop();
  }
  while (reader.readBatches(check.visit) > 0);
  check.verify(ring, d);
});

test("batches(): for await hands out whole runs, ends on close() and on abort, and leaves nothing behind", async () => {
  const ring = createRing({ ...opts, mode: "discard" });
  const w = ring.writer();
  for (let i = 0; i < 100; i++) w.write(1, new Uint8Array([i, 0, 0, 0]));
  const reader = ring.consumer();
  const seen: number[] = [];
  let steps = 0;
  for await (const b of reader.batches()) {
    steps++;
    for (let k = 0; k < b.count; k++) seen.push(b.bytes[b.offsets[k] as number] as number);
    if (seen.length === 100) reader.close();
  }
  assert.deepEqual(seen, Array.from({ length: 100 }, (_, i) => i));
  assert.ok(steps <= 4, `a batch per page run, not per record: ${steps} steps for 100 records`);
  const again = ring.consumer();
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 50);
  let after = 0;
  for await (const b of again.batches({ signal: ac.signal })) after += b.count;
  assert.equal(after, 0, "ends on abort while waiting for records");
});

test("batches() against a writer thread writing batches: every record once, in order, drops reported", { timeout: 30_000 }, async () => {
  const { ring, check, stop } = await startBatchWriter();
  const reader = ring.consumer();
  let d: WriterDone;
  try {
    for await (const b of reader.batches({ signal: AbortSignal.timeout(1000) })) check.visit(b);
  } finally {
    d = await stop();
  }
  while (reader.readBatches(check.visit) > 0);
  check.verify(ring, d);
});

test("a writer that dies with a batch open: reclaim discards the batch whole (one abandoned reservation), readers skip it", () => {
  const ring = createRing({ ...opts, mode: "discard" });
  const dead = ring.writer({ lane: 0 });
  dead.write(1, new Uint8Array(4));
  assert.equal(dead.reserveBatch(2, 16, 5), 5);
  fillBatch(dead, 5, 0);
  assert.equal(ring.reclaimProducer(dead.producerId), 1);
  const next = ring.writer({ lane: 0 });
  assert.ok(next.write(3, new Uint8Array(4)));
  const got = ring.consumer().drain();
  assert.deepEqual(got.map((r) => [r.kind, r.type]), [["data", 1], ["data", 3]]);
  const s = ring.stats().total;
  assert.equal(s.abandoned, 1);
  assert.equal(s.written, 2, "the discarded batch is not counted as written");
});

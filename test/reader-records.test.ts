/**
 * RingReader.records(): the `for await` consumer. What it promises beyond read(): every yielded
 * record is its own and keeps its bytes; close() and an abort end the loop only after the records
 * already taken from the ring were delivered (none is lost); a steady stream from another thread
 * arrives whole, in order, with timers still running.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Worker } from "node:worker_threads";
import fc from "fast-check";
import { createRing, type RecordData, type RingWriter } from "../src/index.js";
import { PAYLOAD_HEADER, payloadChecksum } from "./stress/protocol.js";

const ringOptions = { lanes: 1, sharedLanes: 0, pageSize: 4096, pagesPerLane: 8, mode: "discard", metadataBytes: 0 } as const;

/** Payload of record `i`: `len` bytes that depend on i and on their position. */
function payloadOf(i: number, len: number): Uint8Array {
  const p = new Uint8Array(len);
  for (let k = 0; k < len; k++) p[k] = (i * 7 + k * 13 + 1) & 0xff;
  return p;
}

function writeSeq(w: RingWriter, from: number, count: number): void {
  for (let i = from; i < from + count; i++) assert.ok(w.write(i % 8000, new Uint8Array(new Uint32Array([i]).buffer)), `write ${i}`);
}

function seqOf(r: RecordData): number {
  return new DataView(r.payload.buffer, r.payload.byteOffset, r.payload.byteLength).getUint32(0, true);
}

test("each record records() yields keeps its own bytes after later records are read", async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(fc.integer({ min: 0, max: 600 }), { minLength: 1, maxLength: 300, size: "max" }), async (lengths) => {
      const ring = createRing(ringOptions);
      const w = ring.writer();
      const reader = ring.consumer();
      const it = reader.records();
      const kept: RecordData[] = [];
      // Write in chunks that fit the ring, and take exactly what was written (next() never waits).
      for (let i = 0; i < lengths.length; ) {
        let n = 0;
        while (i + n < lengths.length && n < 40 && w.write(1, payloadOf(i + n, lengths[i + n] ?? 0))) n++;
        for (let k = 0; k < n; k++) {
          const r = await it.next();
          assert.equal(r.done, false);
          kept.push(r.value as RecordData);
        }
        i += n;
      }
      // More records through the same reader: its page copy and the batch are rewritten many times.
      writeSeq(w, 0, 100);
      for (let k = 0; k < 100; k++) await it.next();
      assert.equal(kept.length, lengths.length);
      kept.forEach((r, i) => {
        assert.equal(r.kind, "data");
        assert.deepEqual(r.payload, payloadOf(i, lengths[i] ?? 0), `record ${i} (${lengths[i]} bytes) kept its bytes`);
      });
      reader.close();
    }),
    { numRuns: 25 },
  );
});

test("records() delivers the records it already took when the signal aborts, and leaves the rest in the ring", async () => {
  const ring = createRing({ ...ringOptions, pagesPerLane: 64 });
  const w = ring.writer();
  const total = 3000;
  writeSeq(w, 0, total);
  const reader = ring.consumer();
  const ac = new AbortController();
  const seen: number[] = [];
  for await (const r of reader.records({ signal: ac.signal })) {
    seen.push(seqOf(r));
    ac.abort(); // at the first record: the rest of its batch still comes
  }
  assert.ok(seen.length > 1 && seen.length < total, `delivered ${seen.length}: the taken batch, not the whole ring`);
  // The reader goes on where the loop stopped (an abort ends the loop, not the reader).
  const rest = reader.drain().map(seqOf);
  assert.deepEqual([...seen, ...rest], Array.from({ length: total }, (_, i) => i), "nothing lost, nothing twice, in order");
});

test("records() ends on close() after delivering the records it already took", async () => {
  const ring = createRing({ ...ringOptions, pagesPerLane: 64 });
  const w = ring.writer();
  const total = 3000;
  writeSeq(w, 0, total);
  const reader = ring.consumer();
  const seen: number[] = [];
  for await (const r of reader) {
    seen.push(seqOf(r));
    if (seen.length === 1) reader.close();
  }
  assert.ok(seen.length > 1 && seen.length < total, `delivered ${seen.length}: the taken batch, not the whole ring`);
  assert.deepEqual(seen, Array.from({ length: seen.length }, (_, i) => i), "the batch, in order");
  // What the closed consumer had not taken stays for the next one (a closed reader drops only the
  // rest of the page run it had copied, as read() does: at most a page here).
  const rest = ring.consumer().drain().map(seqOf);
  assert.ok(rest.length > 0 && (rest[0] ?? 0) >= seen.length && (rest[0] ?? 0) - seen.length < 4096 / 16);
  assert.deepEqual(rest, Array.from({ length: rest.length }, (_, i) => (rest[0] ?? 0) + i));
  assert.equal(rest.at(-1), total - 1);
});

test("a steady stream still lets timers run: an abort from a timer ends the loop", async () => {
  const ring = createRing(ringOptions);
  const w = ring.writer();
  writeSeq(w, 0, 1);
  const reader = ring.consumer();
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 50);
  let n = 0;
  const t0 = performance.now();
  // Every record read writes the next one: the loop always finds data and never waits for it.
  for await (const r of reader.records({ signal: ac.signal })) {
    // A watchdog, not a performance bound: without the yield no timer (not even the test
    // runner's timeout) would ever run again, and the loop would never end.
    if ((n & 1023) === 0 && performance.now() - t0 > 10_000) assert.fail("a 50 ms timer did not run in 10 s: records() does not yield to timers");
    assert.equal(seqOf(r), n);
    n++;
    writeSeq(w, n, 1);
  }
  assert.ok(n > 1);
  reader.close();
});

test("a worker writer's stream arrives whole through for await: checksums, sequence and drops add up, kept records intact", { timeout: 30_000 }, async () => {
  const ring = createRing({ ...ringOptions, pageSize: 8192, pagesPerLane: 16 });
  const stop = new SharedArrayBuffer(4);
  const worker = new Worker(new URL("./fixtures/checksum-writer.js", import.meta.url), { workerData: { buffer: ring.buffer, stop, writerId: 5, lane: 0, maxSize: 120 } });
  type Msg = { type: "ready" } | { type: "done"; attempted: number; dropped: number };
  const done = new Promise<Msg>((resolve, reject) => {
    worker.on("message", (m: Msg) => m.type === "done" && resolve(m));
    worker.once("error", reject);
  });
  // The writer is writing before the abort timer starts: on a loaded machine a worker can take
  // longer than the timer to start, and would then be stopped before its first record.
  await new Promise<void>((resolve, reject) => {
    worker.on("message", (m: Msg) => m.type === "ready" && resolve());
    worker.once("error", reject);
  });
  const reader = ring.consumer();
  let nextSeq = 0;
  let data = 0;
  let dropped = 0;
  const kept: RecordData[] = [];
  const check = (r: RecordData): void => {
    if (r.kind === "lost") {
      assert.equal(r.cause, "dropped");
      nextSeq += r.lost;
      dropped += r.lost;
      return;
    }
    const dv = new DataView(r.payload.buffer, r.payload.byteOffset, r.payload.byteLength);
    assert.ok(r.payload.length >= PAYLOAD_HEADER);
    assert.equal(dv.getUint32(0, true), 5, "writer id");
    assert.equal(dv.getUint32(4, true), nextSeq, "sequence: every record, or a loss marker counting the gap");
    assert.equal(dv.getUint32(8, true), r.payload.length);
    assert.equal(dv.getUint32(12, true), payloadChecksum(r.payload, 0, r.payload.length), `checksum of record ${nextSeq}`);
    nextSeq++;
    data++;
  };
  // The abort comes from a timer while records stream in.
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), 300);
  let report: Msg;
  try {
    for await (const r of reader.records({ signal: ac.signal })) {
      check(r);
      if (kept.length < 50_000) kept.push(r);
    }
    Atomics.store(new Int32Array(stop), 0, 1); // publish the stop request; pairs with the worker's Atomics.load
    report = await done;
    for (const r of reader.drain()) check(r);
  } finally {
    clearTimeout(timer);
    Atomics.store(new Int32Array(stop), 0, 1); // a failed check must not leave the writer spinning
    await worker.terminate();
    reader.close();
  }
  if (report.type !== "done") assert.fail(`the writer reported ${JSON.stringify(report)}`);
  assert.ok(data > 0, "records streamed before the abort");
  assert.equal(data, report.attempted - report.dropped, "every committed record arrived once");
  assert.ok(dropped <= report.dropped, "loss markers count only records the writer refused");
  // Checked once more long after: the kept records still hold their own bytes.
  let seq = -1;
  for (const r of kept) {
    if (r.kind !== "data") continue;
    const dv = new DataView(r.payload.buffer, r.payload.byteOffset, r.payload.byteLength);
    assert.ok(dv.getUint32(4, true) > seq);
    seq = dv.getUint32(4, true);
    assert.equal(dv.getUint32(12, true), payloadChecksum(r.payload, 0, r.payload.length));
  }
});

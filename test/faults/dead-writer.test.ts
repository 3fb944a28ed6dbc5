/**
 * Fault: a writer thread terminated in the middle of a reservation on a shared lane, with other
 * writers on the same lane and a consumer group reading it. What must hold (docs/RELIABILITY.md):
 * readers never pass the open record (what follows it in the lane waits: nothing is delivered out
 * of order or torn); the other writers never wait: the lane fills and they drop (discard mode), or
 * the page holding the open record cannot be recycled and they drop once the lane wraps to it
 * (overwrite mode), every drop counted; `reclaimProducer()` turns the reservation into a discarded
 * record (counted as abandoned), and from then on everything committed reaches exactly one member
 * of the group and the lane moves on. (Per-thread lanes and a single consumer: test/reclaim.test.ts.)
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Worker } from "node:worker_threads";
import { once } from "node:events";
import { createRing, type RingBuffer, type RingReader } from "../../src/index.js";

/** Read with each member in turn, a few records at a time; returns the records' types and ids (type:id). */
function readAll(members: RingReader[], into: string[][]): number {
  let total = 0;
  for (let round = 0, quiet = 0; quiet < members.length * 2 && round < 100_000; round++) {
    const m = round % members.length;
    const n = (members[m] as RingReader).read((r) => {
      // The dead writer's records are 1 byte long (stuck-writer.ts): "type:-1"; the live writer's carry an id.
      (into[m] as string[]).push(r.kind === "lost" ? `lost:${r.lost}` : `${r.type}:${r.length >= 4 ? new DataView(r.bytes.buffer, r.offset).getInt32(0, true) : -1}`);
    }, 1 + (round % 4));
    total += n;
    quiet = n === 0 ? quiet + 1 : 0;
  }
  return total;
}

for (const mode of ["discard", "overwrite"] as const) {
  test(`a writer thread terminated mid-reservation on a shared lane (${mode} mode), another writer on the lane, a consumer group reading`, async () => {
    const ring = createRing({ lanes: 0, sharedLanes: 1, pageSize: 256, pagesPerLane: 4, mode, clock: "counter", maxProducers: 4, metadataBytes: 0 });
    const stuck = new Worker(new URL("../fixtures/stuck-writer.js", import.meta.url), { workerData: { buffer: ring.buffer, lane: "shared" } });
    try {
      await scenario(mode, ring, stuck);
    } finally {
      await stuck.terminate();
    }
  });
}

async function scenario(mode: "discard" | "overwrite", ring: RingBuffer, stuck: Worker): Promise<void> {
  const [msg] = (await once(stuck, "message")) as [{ producerId: number }];
  const members = [ring.groupConsumer(), ring.groupConsumer()];
  const got: string[][] = [[], []];
  const live = ring.writer({ lane: "shared" });
  const payload = new Uint8Array(20);
  const pv = new DataView(payload.buffer);
  let id = 0;
  const committed: number[] = [];
  let dropped = 0;
  const writeSome = (n: number) => {
    for (let i = 0; i < n; i++, id++) {
      pv.setInt32(0, id, true);
      if (live.write(10, payload)) committed.push(id);
      else dropped++;
    }
  };

  // The dead writer's open record holds the lane: readers stop there, the other writer goes on until it must drop.
  writeSome(200);
  readAll(members, got);
  assert.deepEqual([...got[0]!, ...got[1]!], ["1:-1"], "only the record before the open one is delivered");
  assert.ok(dropped > 0 && committed.length > 0, `the live writer committed ${committed.length} and dropped ${dropped}, never waiting`);
  assert.equal(ring.stats().total.dropped, dropped);

  // Reclaim: the open record becomes a discarded one and everything behind it flows.
  await stuck.terminate();
  assert.equal(ring.reclaimProducer(msg.producerId), 1, "one reservation abandoned");
  readAll(members, got);
  const droppedBefore = dropped;
  writeSome(1); // the live writer's next record carries its drops in-band (when it fits)
  while (dropped > droppedBefore && readAll(members, got) > 0) writeSome(1);
  readAll(members, got);
  const delivered = [...got[0]!, ...got[1]!];
  const data = delivered.filter((r) => !r.startsWith("lost:"));
  assert.equal(new Set(data).size, data.length, "no record reached two members");
  assert.ok(!data.includes("2:-1") && data.every((r) => !r.startsWith("2:")), "the abandoned reservation is never delivered");
  assert.ok(data.includes("1:-1") && data.includes("3:-1"), "the dead writer's committed records are delivered");
  const lost = delivered.filter((r) => r.startsWith("lost:")).reduce((a, r) => a + Number(r.slice(5)), 0);
  const s = ring.stats().total;
  assert.equal(s.abandoned, 1);
  assert.equal(s.dropped, dropped, "stats count every drop");
  assert.equal(s.written, committed.length + 2, "written: the live writer's records and the dead writer's two");
  assert.equal(s.inRing, 0);
  const liveIds = data.filter((r) => r.startsWith("10:")).map((r) => Number(r.slice(3)));
  if (mode === "discard") {
    assert.deepEqual(liveIds.sort((a, b) => a - b), committed, "every committed record of the live writer reached exactly one member");
    assert.equal(lost, dropped, "the drops were reported in-band");
    assert.equal(s.read, s.written);
  } else {
    assert.equal(s.read + s.overrun, s.written, "written = read + overrun");
    assert.ok(lost <= dropped, "group members are told of drops (in-band), not of overruns");
  }
  // The lane moves on: more records are written and read.
  const before = committed.length;
  writeSome(50);
  readAll(members, got);
  assert.ok(committed.length > before, "the lane takes records again after the reclaim");
  for (const m of members) m.close();
}

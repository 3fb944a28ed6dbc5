/**
 * RecordDrainTarget's delivery (at-least-once in discard mode): the ring lets a page go only once
 * the sink accepted its records, so a target closed without letting go leaves them to the next,
 * which delivers them again (at most the last two pages); one that lets everything go leaves
 * nothing, and records taken undelivered in its last instant are reported lost, never silent.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createRing, type RingBuffer } from "../../src/index.js";
import { RecordDrainTarget, type RecordSink, type RecordSource } from "../../src/node/record-drain.js";

/** A sink that keeps the first u32 of every data record and the losses it is told of. */
class CollectSink implements RecordSink {
  readonly values: number[] = [];
  lost = 0;
  readonly failed = 0;
  async take(source: RecordSource): Promise<number> {
    return source.read((r) => {
      if (r.kind === "data") this.values.push(new DataView(r.bytes.buffer, r.bytes.byteOffset + r.offset, 4).getUint32(0, true));
    });
  }
  reportLost(_lane: number, count: number): void {
    this.lost += count;
  }
  async close(): Promise<void> {}
}

function write(ring: RingBuffer, from: number, count: number): void {
  const w = ring.writer();
  const payload = new Uint8Array(32);
  const dv = new DataView(payload.buffer);
  for (let i = from; i < from + count; i++) {
    dv.setUint32(0, i, true);
    assert.ok(w.write(1, payload));
  }
  w.close();
}

test("RecordDrainTarget: pages not let go are delivered again by the next target (at most two pages); letting go leaves nothing; a record taken undelivered is reported lost", async () => {
  const ring = createRing({ lanes: 1, sharedLanes: 0, pageSize: 4096, pagesPerLane: 16, mode: "discard" });
  const perPage = Math.floor((4096 - 48) / 40);
  write(ring, 0, 1000);

  // A drain that stops while writers may still come (e.g. killed, or interrupted): keeps its pages.
  const first = new CollectSink();
  await new RecordDrainTarget(ring, first).finish(() => false);
  assert.deepEqual(first.values, Array.from({ length: 1000 }, (_, i) => i));

  const second = new CollectSink();
  await new RecordDrainTarget(ring, second).finish(() => true);
  const again = second.values.length;
  assert.ok(again > 0 && again <= 2 * perPage, `delivered again: ${again} (two pages hold ${2 * perPage})`);
  assert.deepEqual(second.values, Array.from({ length: again }, (_, i) => 1000 - again + i), "the last ones, in order");

  // A writer commits in the instant between the last take and the tails' move: taken, not delivered, reported.
  const third = new CollectSink();
  const target = new RecordDrainTarget(ring, third);
  await target.finish(() => {
    write(ring, 1000, 3);
    return true;
  });
  assert.deepEqual([third.values.length, target.undelivered, third.lost], [0, 3, 3]);

  const fourth = new CollectSink();
  await new RecordDrainTarget(ring, fourth).finish(() => true);
  assert.deepEqual([fourth.values.length, fourth.lost], [0, 0], "nothing left, nothing twice");
});

import { test } from "node:test";
import assert from "node:assert/strict";
import { bytesSource, createRing, openTrace } from "../src/index.js";

test("a snapshot that leaves out a page holding no committed record states no loss (soak regression)", () => {
  // Found by the soak: a page recycled while a snapshot copied the lane became a LOST chunk even
  // when it held only discarded records, and readers got a loss marker of 0 records.
  const ring = createRing({ lanes: 1, sharedLanes: 0, pageSize: 256, pagesPerLane: 4, mode: "overwrite", clock: "counter", metadataBytes: 0, maxProducers: 2 });
  const w = ring.writer();
  const payload = new Uint8Array(40); // 48-byte records: 4 a page
  for (let i = 0; i < 4; i++) w.write(1, payload); // page 0
  for (let i = 0; i < 4; i++) w.discard(w.reserve(2, 40)); // page 1: discarded records only
  for (let i = 0; i < 4; i++) w.write(3, payload); // page 2
  w.write(4, payload); // page 3
  // What a recycler of page 1 leaves while the snapshot runs: page 1 claimed (the preparing marker),
  // the cumulatives of page 2 stored (4 records before it, none of them in page 1).
  const g = ring.geometry;
  const slot = (s: number) => g.lanesOffset + 192 + s * g.pageSize;
  ring.core.i32[slot(1) >> 2] = 2; // PG_SEQ of slot 1: page 1 + 1
  ring.core.f64[(slot(2) + 16) >> 3] = 4; // PG_RECORDS_BEFORE of page 2
  ring.core.i32[(slot(2) + 32) >> 2] = 1; // PG_CUM_READY of page 2
  const info = { pages: 0, records: 0, lost: 0 };
  const trace = openTrace(bytesSource(ring.snapshot(info)));
  const kinds: string[] = [];
  trace.read((r) => kinds.push(r.kind === "lost" ? `lost ${r.lost}` : `type ${r.type}`));
  assert.deepEqual(info, { pages: 3, records: 9, lost: 0 });
  assert.deepEqual(kinds, ["type 1", "type 1", "type 1", "type 1", "type 3", "type 3", "type 3", "type 3", "type 4"]);
});

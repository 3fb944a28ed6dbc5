/**
 * Inputs the fuzzer found trouble with, rebuilt by hand (so they stay meaningful when the format's
 * corpus changes) and made larger, so that the trouble is unmistakable: fuzz.test.ts runs them in
 * the watched worker, where a case that takes more than a few seconds fails as a hang.
 */
import { createRing } from "../../src/index.js";
import { PG_CUM_READY, PG_SEQ, PG_SEQ_HI, laneOffset, slotOffset, pos8Page } from "../../src/layout.js";

/**
 * A lane a reader can never get past, next to a lane full of records. Lane 0 lapped its 64 pages
 * many times; its tail's page has no cumulatives (the consumer moved the tail there) and the page
 * two before it is unreadable, so where the tail is cannot be counted; a page ahead of the tail
 * claims a high page-counter word, so an iterator reaching it finds it "moved past" with the tail
 * behind it. Each look at lane 0 used to retry 256 times, each retry walking the lane's pages for
 * cumulatives, and a merged read looked at lane 0 once for every record of lane 1: 16,000 records,
 * about 20 s. Now it looks again only when the tail has moved.
 */
export function stuckLaneImage(): Uint8Array {
  const ring = createRing({ lanes: 1, sharedLanes: 1, pageSize: 4096, pagesPerLane: 64, mode: "overwrite", clock: "counter", maxProducers: 2, metadataBytes: 0 });
  const g = ring.geometry;
  const a = ring.writer({ lane: 0 });
  const b = ring.writer({ lane: "shared" });
  const payload = new Uint8Array(40);
  for (let i = 0; i < 85 * 100; i++) a.write(1, payload); // lane 0: 85 records a page, 100 pages
  const c = ring.consumer({ lanes: [0] });
  c.read(() => {}, 85 * 3); // the tail moves three pages past the oldest
  c.close();
  for (let i = 0; i < 255 * 63; i++) b.write(2, new Uint8Array(8)); // lane 1: 63 full pages of 16-byte records
  const i32 = ring.core.i32;
  const lb = laneOffset(g, 0);
  const head = i32[(lb + 8) >> 2] as number;
  const tailPage = pos8Page(g, i32[(lb + 64) >> 2] as number, head);
  i32[(slotOffset(g, lb, tailPage - 2) + PG_SEQ) >> 2] = 0x7fff0001; // unreadable: not congruent to its slot
  i32[(slotOffset(g, lb, tailPage) + PG_CUM_READY) >> 2] = 0;
  i32[(slotOffset(g, lb, tailPage + 10) + PG_SEQ_HI) >> 2] = 0xffffff40 | 0; // "moved past" for a reader arriving there
  return new Uint8Array(ring.buffer).slice();
}

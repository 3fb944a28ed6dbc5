/**
 * Minimal reproduction, one thread, public API only: on a per-thread lane, a reservation still
 * open when its page is exactly full, and a nested reservation that therefore switches to the next
 * page. LaneWriter#switchPage only remembers a page to publish later (#pendingClose) when it had
 * to write a padding record; an exactly full page gets none, so its PG_COMMITTED is never set to
 * the page end: the records in it are never delivered, and once the lane wraps the page can never
 * be recycled (PREPARE_STALLED): every later write is dropped, in overwrite mode too.
 *
 *   node dist/test/stress/repro/own-lane-nested-full-page.js [overwrite|discard]
 *
 * Expected: the reader gets types 1, 2, 3, and the 50 writes after it succeed.
 * Guarded so that `node --test dist/test/` (which runs every file under test/) does nothing.
 */
import { createRing } from "../../../src/index.js";

if (process.env["NODE_TEST_CONTEXT"] === undefined) {
  const mode = process.argv[2] === "discard" ? "discard" : "overwrite";
  const ring = createRing({ lanes: 1, sharedLanes: 0, pageSize: 256, pagesPerLane: 4, mode, maxProducers: 2, metadataBytes: 0 });
  const w = ring.writer();
  const r = ring.consumer();
  const p = new Uint8Array(96);
  w.write(1, p); // page 0: 48 + 104 = 152 bytes used
  const a = w.reserve(2, 96); // 152 + 104 = 256: page 0 exactly full, A open
  const b = w.reserve(3, 16); // does not fit: the writer moves to page 1 while A is open
  w.commit(b);
  w.commit(a); // the outermost commit publishes only page 1
  const got = r.drain().map((x) => (x.kind === "lost" ? `lost ${x.lost}` : `type ${x.type}`));
  console.log(`${mode}: read after the nested group: ${JSON.stringify(got)} (expected type 1, 2, 3)`);
  let ok = 0;
  for (let i = 0; i < 50; i++) {
    if (w.write(4, p)) ok++;
    r.drain();
  }
  console.log(`then 50 writes with the reader draining: ${ok} succeeded, w.dropped ${w.dropped} (expected 50, 0)`);
  console.log(`stats ${JSON.stringify(ring.stats().total)}`);
}

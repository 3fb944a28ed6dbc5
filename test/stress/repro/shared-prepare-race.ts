/**
 * Minimal reproduction, public API only: a few threads doing nothing but w.write(1, 64 bytes) on
 * one shared lane of a tiny overwrite-mode ring (4 pages of 256 bytes), the main thread consuming.
 * Symptoms seen on a 2-core machine within 3 s:
 *  - a writer's reserve() throws RingFormatError "Invalid record header ... does not fit" from
 *    walkPage() <- preparePage() <- SharedLaneWriter#advance: a preparer that lost the race walks
 *    page `old` while the winner recycles the slot (zeroes it, new records are written), and reads
 *    a payload word as a header;
 *  - lost markers whose count is NaN (or negative / wrong stats.written, depending on where the
 *    cumulative counts are stored).
 *
 *   node dist/test/stress/repro/shared-prepare-race.js [writers=3] [seconds=3] [consume=1]
 *
 * Guarded so that `node --test dist/test/` (which runs every file under test/) does nothing.
 */
import { Worker, isMainThread, parentPort, workerData } from "node:worker_threads";
import { attachRing, createRing } from "../../../src/index.js";

interface Data {
  buffer: SharedArrayBuffer;
  stop: SharedArrayBuffer;
}

if (!isMainThread && parentPort !== null) {
  const d = workerData as Data;
  const stop = new Int32Array(d.stop);
  const w = attachRing(d.buffer).writer({ lane: "shared" });
  const payload = new Uint8Array(64).fill(7);
  let n = 0;
  let error = "";
  try {
    // Acquire main's stop flag (pairs with its Atomics.store); publishes nothing.
    while (Atomics.load(stop, 0) === 0) {
      w.write(1, payload);
      n++;
    }
  } catch (e) {
    error = e instanceof Error ? `${e.name}: ${e.message}\n${e.stack}` : String(e);
  }
  parentPort.postMessage({ n, dropped: w.dropped, error });
} else if (process.env["NODE_TEST_CONTEXT"] === undefined) {
  const writers = Number(process.argv[2] ?? 3);
  const seconds = Number(process.argv[3] ?? 3);
  const consume = (process.argv[4] ?? "1") === "1";
  const ring = createRing({ lanes: 0, sharedLanes: 1, pageSize: 256, pagesPerLane: 4, mode: "overwrite", maxProducers: 8, metadataBytes: 0 });
  const stop = new SharedArrayBuffer(4);
  const consumer = ring.consumer();
  let data = 0;
  let lost = 0;
  const badLost: number[] = [];
  const results = await new Promise<{ n: number; dropped: number; error: string }[]>((resolve) => {
    const out: { n: number; dropped: number; error: string }[] = [];
    for (let i = 0; i < writers; i++) {
      const wk = new Worker(new URL(import.meta.url), { workerData: { buffer: ring.buffer, stop } satisfies Data });
      wk.on("message", (m: { n: number; dropped: number; error: string }) => {
        out.push(m);
        if (out.length === writers) resolve(out);
      });
    }
    setTimeout(() => Atomics.store(new Int32Array(stop), 0, 1), seconds * 1000); // publish the stop flag; pairs with the writers' Atomics.load
    const tick = () => {
      if (consume) {
        consumer.read((r) => {
          if (r.kind === "lost") {
            if (!(r.lost > 0)) badLost.push(r.lost);
            lost += r.lost > 0 ? r.lost : 0;
          } else data++;
        }, 50);
      }
      if (out.length < writers) setTimeout(tick, 1);
    };
    tick();
  });
  consumer.read((r) => (r.kind === "lost" ? (lost += r.lost) : data++));
  const s = ring.stats().total;
  for (const [i, r] of results.entries()) console.log(`writer ${i}: ${r.n} writes, dropped ${r.dropped}${r.error ? `\n  THREW ${r.error}` : ""}`);
  console.log(`reader: data ${data}, lost ${lost}, non-positive lost markers: ${badLost.length} ${JSON.stringify(badLost.slice(0, 10))}`);
  console.log(`stats: ${JSON.stringify(s)}`);
  const committed = results.reduce((a, r) => a + r.n - r.dropped, 0);
  console.log(`committed by writers ${committed}; read + overrun = ${s.read + s.overrun}`);
}

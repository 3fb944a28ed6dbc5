/**
 * Resizing: a ring's capacity is fixed by its layout (lanes of P pages in one SharedArrayBuffer), so
 * a resize builds a new ring of the new size on the same timeline and copies the records over, as a
 * resized ftrace buffer keeps what fits. See docs/DESIGN.md, section 9e.
 */
import {
  FLAG_EPOCH_MONOTONIC,
  H_CLOCK,
  H_COUNTER,
  H_COUNTER_BASE,
  H_EPOCH_MONO_HI,
  H_EPOCH_MONO_LO,
  H_EPOCH_ORIGIN_MS,
  H_EPOCH_WALL_MS,
  H_FLAGS,
} from "./layout.js";
import { type RingBuffer, attachRing, createRing } from "./ring.js";
import type { RingRecord } from "./reader.js";
import type { RingWriter } from "./writer.js";

/** What {@link resizeRing} did. */
export interface ResizeResult {
  /** The new ring (a new SharedArrayBuffer): hand `ring.buffer` to the threads that write and read. */
  ring: RingBuffer;
  /** Data records copied. */
  copied: number;
  /** Records that did not fit (overwrite mode: the oldest, counted as overrun in the new ring's stats; discard mode: the newest, counted as dropped). */
  didNotFit: number;
}

/**
 * A copy of `ring` with `pagesPerLane` pages per lane: same lanes, page size, mode, clock and
 * timeline (timestamps continue where the old ring's are), same event schemas and ids, holding the
 * records the old ring holds now (those not yet consumed), in order, as many as fit.
 *
 * Writers and readers of the old ring are not moved: they go on with the old ring until they are
 * handed the new buffer (records they commit after the copy are not in the new ring). Resize while
 * they are quiet, or move them over and then copy the rest with a second call's records if needed.
 *
 * @example
 * ```ts
 * const { ring: bigger } = resizeRing(ring, { pagesPerLane: 256 });
 * for (const w of workers) w.postMessage({ ring: bigger.buffer }); // they attachRing() again
 * ```
 */
export function resizeRing(ring: RingBuffer, options: { pagesPerLane: number; clock?: () => number }): ResizeResult {
  const g = ring.geometry;
  let now = 0;
  // A user clock that stamps each copied record with its original time; the real clock is restored after.
  const copy = createRing({
    lanes: g.ownLanes,
    sharedLanes: g.sharedLanes,
    pageSize: g.pageSize,
    pagesPerLane: options.pagesPerLane,
    mode: g.overwrite ? "overwrite" : "discard",
    clock: () => now,
    maxProducers: g.maxProducers,
    metadataBytes: g.metadataBytes,
  });
  const src = ring.core;
  const dst = copy.core;
  // The schemas, byte for byte: the event ids in the copied records stay valid.
  dst.u8.set(src.u8.subarray(g.metadataOffset, g.metadataOffset + g.metadataBytes), copy.geometry.metadataOffset);
  let copied = 0;
  let didNotFit = 0;
  for (let lane = 0; lane < g.lanes; lane++) {
    // Each record is copied by a writer with the identity of the one that wrote it (FORMAT.md 8.5):
    // on a per-thread lane one writer at a time (a new one when the owner changes), on a shared
    // lane one per writer met.
    const writers = new Map<string, RingWriter>();
    const writerOf = (r: RingRecord): RingWriter => {
      const key = `${r.pid}/${r.threadId}/${r.threadName}`;
      let w = writers.get(key);
      if (w === undefined) {
        if (lane < g.ownLanes) {
          for (const old of writers.values()) old.close();
          writers.clear();
        }
        w = copy.writer({ lane, identity: { pid: r.pid, threadId: r.threadId, name: r.threadName } });
        writers.set(key, w);
      }
      return w;
    };
    const it = ring.iterator({ lanes: [lane] });
    try {
      it.read((r) => {
        if (r.kind !== "data") return;
        now = r.timestamp;
        if (writerOf(r).write(r.type, r.bytes.subarray(r.offset, r.offset + r.length))) copied++;
        else didNotFit++;
      });
    } finally {
      it.close();
      for (const w of writers.values()) w.close();
    }
  }
  if (g.overwrite) didNotFit = copy.stats().total.overrun;
  // The old ring's clock and timeline. Plain stores: nobody else has the new buffer yet, and
  // attachRing() below reads them after its acquire of the magic, stored long before.
  const si = src.i32;
  const di = dst.i32;
  di[H_FLAGS >> 2] = ((di[H_FLAGS >> 2] ?? 0) & ~FLAG_EPOCH_MONOTONIC) | ((si[H_FLAGS >> 2] ?? 0) & FLAG_EPOCH_MONOTONIC);
  di[H_EPOCH_MONO_LO >> 2] = si[H_EPOCH_MONO_LO >> 2] ?? 0;
  di[H_EPOCH_MONO_HI >> 2] = si[H_EPOCH_MONO_HI >> 2] ?? 0;
  dst.f64[H_EPOCH_WALL_MS >> 3] = src.f64[H_EPOCH_WALL_MS >> 3] ?? 0;
  dst.f64[H_EPOCH_ORIGIN_MS >> 3] = src.f64[H_EPOCH_ORIGIN_MS >> 3] ?? 0;
  // The counter clock goes on from the old ring's count (read atomically: writers may be counting).
  di[H_COUNTER >> 2] = Atomics.load(si, H_COUNTER >> 2);
  dst.f64[H_COUNTER_BASE >> 3] = src.f64[H_COUNTER_BASE >> 3] ?? 0;
  di[H_CLOCK >> 2] = si[H_CLOCK >> 2] ?? 0; // the old ring's clock kind (the copy was stamped with a user clock)
  const resized = attachRing(copy.buffer, options.clock === undefined ? {} : { clock: options.clock });
  return { ring: resized, copied, didNotFit };
}

/**
 * The producers of a file ring as processes: which live-looking producer slots belong to processes
 * that are gone. Writers of a file ring tag themselves with their pid
 * (`ring.writer({ tag: process.pid })`); a tag that names no running process is a dead producer.
 */
import { procStat } from "./process-tree.js";
import { P_LANE, P_STATE, P_TAG, PRODUCER_ALIVE, producerOffset } from "../layout.js";
import type { RingBuffer } from "../ring.js";

/** A producer slot in state ALIVE. */
export interface LiveProducer {
  /** Producer id (slot index). */
  readonly id: number;
  /** Its tag: the writer's pid for file-ring writers that follow the convention; 0 if untagged. */
  readonly tag: number;
  readonly lane: number;
}

/** Every producer slot of the ring that is ALIVE now. */
export function liveProducers(ring: RingBuffer): LiveProducer[] {
  const g = ring.geometry;
  const i32 = ring.core.i32;
  const out: LiveProducer[] = [];
  for (let id = 0; id < g.maxProducers; id++) {
    const base = producerOffset(g, id);
    // Acquire the slot's state; its tag and lane were stored before it became ALIVE (ring.ts#writer()).
    if (Atomics.load(i32, (base + P_STATE) >> 2) !== PRODUCER_ALIVE) continue;
    // Stored before P_STATE = ALIVE; ordered after the load above.
    const tag = Atomics.load(i32, (base + P_TAG) >> 2);
    // Stored before P_STATE = ALIVE; ordered after the load above.
    const lane = Atomics.load(i32, (base + P_LANE) >> 2);
    out.push({ id, tag, lane });
  }
  return out;
}

/**
 * Is process `pid` running? False when no such process exists or it is a zombie (killed, not yet
 * reaped by its parent: it writes nothing any more). Pids are reused, so a long-dead writer's pid
 * may name a new process: then it counts as alive (its producer is left alone, never wrongly
 * reclaimed).
 */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0); // signal 0: only checks that the process exists
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM"; // exists, owned by another user
  }
  const state = procStat(pid)?.fields[0];
  if (state === undefined) return true; // no /proc (not Linux): kill(pid, 0) said it exists
  return state !== "Z" && state !== "X";
}

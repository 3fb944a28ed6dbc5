/**
 * Small traces for the exporter tests: a ring with the events of each shape (shapes.ts), written by
 * a script of operations, read back from its snapshot image; with the writing thread's identity
 * (rows are threads) or without one (UNKNOWN_IDENTITY: rows are lanes, as in traces written before
 * identity).
 */
import { threadId } from 'node:worker_threads';
import { bytesSource, createRing, defineEvent, openTrace, t, type RingBuffer, type RingWriter, type ThreadIdentity, type TraceFile } from '../../src/index.js';
// Installs Node's identity provider (pid, threadId, "main"), as an application that records does.
import '../../src/node/index.js';

/** The tid of this thread's row in the exports: the pid for the main thread (as the OS numbers it), else Node's threadId. */
export const OWN_TID = threadId === 0 ? process.pid : threadId;

/** The events of every shape. */
export function defineShapes(ring: RingBuffer) {
  return {
    aStart: defineEvent(ring, 'a_start', { n: t.u32 }),
    aEnd: defineEvent(ring, 'a_end', { n: t.u32 }),
    bStart: defineEvent(ring, 'b_begin', { n: t.u32 }),
    bEnd: defineEvent(ring, 'b_end', { n: t.u32 }),
    req: defineEvent(ring, 'req', { status: t.u16, durationNs: t.u64, path: t.string(16) }),
    gauge: defineEvent(ring, 'gauge', { value: t.f64 }),
    note: defineEvent(ring, 'note', { big: t.u64, ok: t.bool, tag: t.enum(['x', 'y']), blob: t.bytes(8) }),
  };
}

export type Op =
  | { kind: 'aStart' | 'aEnd' | 'bStart' | 'bEnd'; lane: number }
  | { kind: 'req'; lane: number; duration: number }
  | { kind: 'gauge'; lane: number; value: number }
  | { kind: 'note'; lane: number }
  | { kind: 'raw'; lane: number; length: number };

/**
 * Write `ops` into a fresh ring (2 own lanes + 1 shared, lane 2) and return the trace of its
 * snapshot. The writers have `identity` (default: the calling thread's, so one thread writes all
 * three lanes).
 */
export function traceOf(ops: readonly Op[], clock: 'counter' | 'mono' = 'counter', identity?: Partial<ThreadIdentity>): { trace: TraceFile; ring: RingBuffer } {
  const ring = createRing({ lanes: 2, sharedLanes: 1, pageSize: 4096, pagesPerLane: 64, mode: 'discard', clock });
  const ev = defineShapes(ring);
  const writer = (lane: number | 'shared'): RingWriter => ring.writer(identity === undefined ? { lane } : { lane, identity });
  const writers: RingWriter[] = [writer(0), writer(1), writer('shared')];
  let n = 0;
  for (const op of ops) {
    const w = writers[op.lane] as RingWriter;
    n++;
    switch (op.kind) {
      case 'aStart': ev.aStart.write(w, { n }); break;
      case 'aEnd': ev.aEnd.write(w, { n }); break;
      case 'bStart': ev.bStart.write(w, { n }); break;
      case 'bEnd': ev.bEnd.write(w, { n }); break;
      case 'req': ev.req.write(w, { status: 200, durationNs: op.duration, path: `/p${n}` }); break;
      case 'gauge': ev.gauge.write(w, { value: op.value }); break;
      case 'note': ev.note.write(w, { big: 2n ** 60n + BigInt(n), ok: n % 2 === 0, tag: n % 2 ? 'x' : 'y', blob: new Uint8Array([1, 2, 255]) }); break;
      case 'raw': w.write(5, new Uint8Array(op.length).fill(9)); break;
    }
  }
  return { trace: openTrace(bytesSource(ring.snapshot())), ring };
}

/**
 * What the conventions make of `ops`, per row in order (the model the exporters are checked
 * against): `_start`/`_end` nest per lane when the trace has no identity, per thread when it has
 * (one thread wrote every lane: one stack).
 */
export function expectedShapes(ops: readonly Op[], rows: 'lanes' | 'one thread' = 'lanes'): { slices: number; begins: number; ends: number; unpaired: number; unfinished: number; counters: number; instants: number; raw: number } {
  const stacks: string[][] = [[], [], []];
  const r = { slices: 0, begins: 0, ends: 0, unpaired: 0, unfinished: 0, counters: 0, instants: 0, raw: 0 };
  for (const op of ops) {
    const stack = stacks[rows === 'lanes' ? op.lane : 0] as string[];
    switch (op.kind) {
      case 'aStart':
      case 'bStart':
        stack.push(op.kind[0] as string);
        r.begins++;
        break;
      case 'aEnd':
      case 'bEnd':
        if (stack[stack.length - 1] === op.kind[0]) {
          stack.pop();
          r.ends++;
        } else {
          r.unpaired++;
          r.instants++;
        }
        break;
      case 'req': r.slices++; break;
      case 'gauge':
        // An infinite sample cannot be plotted (nor written as a JSON number): it is an instant.
        if (Number.isFinite(op.value)) r.counters++;
        else r.instants++;
        break;
      case 'note': r.instants++; break;
      case 'raw':
        r.raw++;
        r.instants++;
        break;
    }
  }
  for (const s of stacks) {
    r.unfinished += s.length;
    r.ends += s.length;
  }
  return r;
}

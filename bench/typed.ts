/**
 * Typed events (issue 4) against writing the same record by hand, and against pino.
 *
 * | metric                  | ours                                                        | reference            |
 * | ----------------------- | ----------------------------------------------------------- | -------------------- |
 * | typed_event_ns          | `ev.writeArgs(w, status, durationNs, bytes, url)`, clock none | raw_reserve_commit_ns |
 * | typed_event_vs_pino_ns  | the same typed event on a ring with clock mono              | pino_ns              |
 * | typed_heap_growth_bytes | JS heap growth over 10 M typed writes, numeric fields only  | 1000000              |
 *
 * The event: 3 numeric fields (u16 status, f64 durationNs, u32 bytes) and a 16-character string.
 * raw_reserve_commit_ns writes the same bytes by hand: reserve, typed-array stores, encodeInto of
 * the string into a scratch buffer and a byte copy, commit. pino_ns logs the same fields and
 * message with pino to a no-op destination (an object whose write() does nothing).
 */
import { pino } from 'pino';
import { createRing, defineEvent, t, type RingWriter } from '../src/index.js';
import { heapGrowthBytes, measureNsPerOpInterleaved, metric, planFor, type OpLoop, type Scenario } from './harness.js';

const URL16 = '/api/v1/items/42';
const fields = { status: t.u16, durationNs: t.f64, bytes: t.u32, url: t.string(32) } as const;

function ring(clock: 'none' | 'mono') {
  return createRing({ lanes: 1, sharedLanes: 0, pageSize: 16384, pagesPerLane: 16, clock, metadataBytes: 4096 });
}

function typedLoop(clock: 'none' | 'mono'): OpLoop {
  const r = ring(clock);
  const ev = defineEvent(r, 'http.request', fields);
  const w = r.writer();
  return (n) => {
    for (let k = 0; k < n; k++) ev.writeArgs(w, 200, k * 0.5, k, URL16);
  };
}

/** The same record by hand, laid out as the codec does (FORMAT.md section 12): u16 @0, f64 @8, u32 @16, u16 length @20, bytes @22. */
function rawLoop(): OpLoop {
  const r = ring('none');
  const ev = defineEvent(r, 'http.request', fields);
  const w: RingWriter = r.writer();
  const enc = new TextEncoder();
  const scratch = new Uint8Array(32);
  const id = ev.id;
  return (n) => {
    const bytes = w.bytes;
    const f64 = w.f64;
    const view = w.view;
    for (let k = 0; k < n; k++) {
      const len = enc.encodeInto(URL16, scratch).written;
      const at = w.reserve(id, 22 + len);
      view.setUint16(at, 200, true);
      f64[(at + 8) >> 3] = k * 0.5;
      view.setUint32(at + 16, k, true);
      view.setUint16(at + 20, len, true);
      for (let i = 0; i < len; i++) bytes[at + 22 + i] = scratch[i] ?? 0;
      w.commit(at);
    }
  };
}

function pinoLoop(): OpLoop {
  const log = pino({}, { write() {} });
  return (n) => {
    for (let k = 0; k < n; k++) log.info({ status: 200, durationNs: k * 0.5, bytes: k }, URL16);
  };
}

export const typedScenario: Scenario = {
  name: 'typed_event',
  run(opts) {
    const plan = planFor(opts);
    const r = measureNsPerOpInterleaved({ typed: typedLoop('none'), raw: rawLoop() }, plan.opsPerRun, plan.nsReps);
    // pino is ~1 us a line: fewer operations per timed call keep the run short.
    const ops = Math.max(20_000, plan.opsPerRun / 10);
    const p = measureNsPerOpInterleaved({ typed: typedLoop('mono'), pino: pinoLoop() }, ops, plan.nsReps);
    return Promise.resolve([
      metric('typed_event_ns', r.typed, 'ns/op', { name: 'raw_reserve_commit_ns', value: r.raw }),
      metric('typed_event_vs_pino_ns', p.typed, 'ns/op', { name: 'pino_ns', value: p.pino }),
    ]);
  },
};

export const typedHeapScenario: Scenario = {
  name: 'typed_heap',
  run(opts) {
    const r = ring('mono');
    const ev = defineEvent(r, 'sample', { a: t.u32, b: t.f64, c: t.i16 });
    const w = r.writer();
    const loop = (n: number) => {
      for (let k = 0; k < n; k++) ev.writeArgs(w, k, k * 0.25, k & 0x7fff);
    };
    const growth = heapGrowthBytes(loop, opts.quick);
    return Promise.resolve([metric('typed_heap_growth_bytes', growth, 'bytes', { name: 'heap_budget_bytes', value: 1_000_000 })]);
  },
};

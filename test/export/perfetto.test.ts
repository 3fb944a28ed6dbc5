/**
 * The Perfetto export, decoded by a wire-format decoder written separately (proto-decode.ts) and
 * read by the field numbers of perfetto's protos (see PF in src/export/perfetto.ts for where each
 * comes from): packets, tracks defined before use, slices balanced per track, the same events as
 * the Chrome export.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { UNKNOWN_IDENTITY } from '../../src/index.js';
import { PF, exportPerfetto } from '../../src/export/perfetto.js';
import { ProtoWriter, varintSize } from '../../src/export/protobuf.js';
import { MemorySink } from '../../src/export/sink.js';
import { decodeMessage, double, get, text, type ProtoField } from './proto-decode.js';
import { decodeTrace } from './perfetto-decode.js';
import { OWN_TID, traceOf, type Op } from './trace-fixtures.js';
import { exportViolations, validateExports } from './validate.js';

type Value = { kind: 'uint'; field: number; n: number } | { kind: 'int'; field: number; n: number } | { kind: 'double'; field: number; x: number } | { kind: 'string'; field: number; s: string } | { kind: 'msg'; field: number; body: Value[] };

const field = fc.integer({ min: 1, max: 5000 });
const value: fc.Memo<Value> = fc.memo((depth) =>
  fc.oneof(
    fc.record({ kind: fc.constant('uint' as const), field, n: fc.maxSafeNat() }),
    fc.record({ kind: fc.constant('int' as const), field, n: fc.integer({ min: -(2 ** 31), max: -1 }) }),
    fc.record({ kind: fc.constant('double' as const), field, x: fc.double() }),
    fc.record({ kind: fc.constant('string' as const), field, s: fc.string({ unit: 'grapheme', maxLength: 300 }) }),
    ...(depth > 1 ? [fc.record({ kind: fc.constant('msg' as const), field, body: fc.array(value(depth - 1), { maxLength: 30 }) })] : []),
  ),
);

function write(w: ProtoWriter, vs: Value[]): void {
  for (const v of vs) {
    if (v.kind === 'uint') w.uint(v.field, v.n);
    else if (v.kind === 'int') w.int(v.field, v.n);
    else if (v.kind === 'double') w.double(v.field, v.x);
    else if (v.kind === 'string') w.string(v.field, v.s);
    else {
      w.begin(v.field);
      write(w, v.body);
      w.end();
    }
  }
}

function check(fields: ProtoField[], vs: Value[]): void {
  assert.equal(fields.length, vs.length);
  vs.forEach((v, i) => {
    const f = fields[i]!;
    assert.equal(f.field, v.field);
    if (v.kind === 'uint') assert.equal(f.varint, BigInt(v.n));
    else if (v.kind === 'int') assert.equal(BigInt.asIntN(64, f.varint), BigInt(v.n));
    else if (v.kind === 'double') assert.ok(Object.is(double(f), v.x));
    else if (v.kind === 'string') assert.equal(text(f), v.s);
    else check(decodeMessage(f.bytes), v.body);
  });
}

test('ProtoWriter: what it writes decodes to what was written (property: nested messages, long strings, 2^53 varints, negative ints)', () => {
  fc.assert(
    fc.property(fc.array(value(3), { maxLength: 20 }), (vs) => {
      const w = new ProtoWriter();
      write(w, vs);
      check(decodeMessage(w.view()), vs);
    }),
    { numRuns: 300 },
  );
  assert.deepEqual([0, 127, 128, 16383, 16384, 2 ** 53].map(varintSize), [1, 1, 2, 2, 3, 8]);
});

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constantFrom('aStart', 'aEnd', 'bStart', 'bEnd'), lane: fc.nat(2) }) as fc.Arbitrary<Op>,
  fc.record({ kind: fc.constant('req'), lane: fc.nat(2), duration: fc.nat(5000) }) as fc.Arbitrary<Op>,
  fc.record({ kind: fc.constant('gauge'), lane: fc.nat(2), value: fc.double({ noNaN: true }) }) as fc.Arbitrary<Op>,
  fc.record({ kind: fc.constant('note'), lane: fc.nat(2) }) as fc.Arbitrary<Op>,
  fc.record({ kind: fc.constant('raw'), lane: fc.nat(2), length: fc.nat(40) }) as fc.Arbitrary<Op>,
);

test('perfetto export: packets are well formed, tracks come before use, slices balance per track, same events as the Chrome export, with and without identity (property)', () => {
  fc.assert(
    fc.property(fc.array(op, { maxLength: 100 }), (ops) => {
      for (const identity of [UNKNOWN_IDENTITY, undefined]) {
        const { trace } = traceOf(ops, 'mono', identity);
        const v = validateExports(trace, { processName: 'p' });
        assert.deepEqual(exportViolations(v), []);
        const d = v.perfetto;
        const phases = v.rules.phases;
        const count = (type: number) => d.events.filter((e) => e.type === type).length;
        assert.equal(count(PF.TYPE_SLICE_BEGIN), (phases['b'] ?? 0) + (phases['B'] ?? 0));
        assert.equal(count(PF.TYPE_SLICE_END), (phases['e'] ?? 0) + (phases['E'] ?? 0));
        assert.equal(count(PF.TYPE_INSTANT), phases['i'] ?? 0);
        assert.equal(count(PF.TYPE_COUNTER), phases['C'] ?? 0);
        // Without identity: one process (pid 1, the given name), a thread track per lane with events
        // (tid lane + 1). With it: this process ("pid N"), one track for this thread ("main").
        const pid = identity === undefined ? process.pid : 1;
        const processes = [...d.tracks.values()].filter((t) => t.process !== undefined);
        assert.ok(processes.length <= 1);
        for (const p of processes) assert.deepEqual([get(p.process!, PF.PROCESS_PID)?.varint, text(get(p.process!, PF.PROCESS_NAME))], [BigInt(pid), identity === undefined ? `pid ${pid}` : 'p']);
        const threads = [...d.tracks.values()].filter((t) => t.thread !== undefined);
        if (identity === undefined) assert.ok(threads.length <= 1);
        for (const t of threads) {
          assert.equal(get(t.thread!, PF.THREAD_PID)?.varint, BigInt(pid));
          const tid = Number(get(t.thread!, PF.THREAD_TID)!.varint);
          const name = text(get(t.thread!, PF.THREAD_NAME))!;
          if (identity === undefined) assert.deepEqual([tid, name], [OWN_TID, 'main']);
          else assert.match(name, new RegExp(`^lane ${tid - 1}( \\(shared\\))?$`));
        }
      }
    }),
    { numRuns: 80 },
  );
});

test('perfetto export: fields become typed debug annotations (64-bit exact), counters carry their value', () => {
  const { trace } = traceOf([
    { kind: 'note', lane: 0 },
    { kind: 'gauge', lane: 1, value: -2.25 },
  ], 'mono');
  const sink = new MemorySink();
  exportPerfetto(trace, sink);
  const d = decodeTrace(sink.toBytes());
  const note = d.events.find((e) => e.name === 'note')!;
  const ann = Object.fromEntries(note.annotations.map((a) => [text(get(a, PF.DA_NAME)), a]));
  assert.equal(get(ann['big']!, PF.DA_UINT)?.varint, 2n ** 60n + 1n);
  assert.equal(get(ann['ok']!, PF.DA_BOOL)?.varint, 0n);
  assert.equal(text(get(ann['tag']!, PF.DA_STRING)), 'x');
  assert.equal(text(get(ann['blob']!, PF.DA_STRING)), '0102ff');
  const gauge = d.events.find((e) => e.type === PF.TYPE_COUNTER)!;
  assert.equal(gauge.value, -2.25);
  assert.equal(d.tracks.get(gauge.track)?.name, 'gauge');
});

test('the field numbers are those of perfetto.protos (copied from the .proto files, not from our code)', () => {
  assert.deepEqual(PF, {
    TRACE_PACKET: 1, // trace.proto: repeated TracePacket packet = 1
    PACKET_TIMESTAMP: 8, // trace_packet.proto: optional uint64 timestamp = 8
    PACKET_TRACK_EVENT: 11, // TrackEvent track_event = 11
    PACKET_TRACK_DESCRIPTOR: 60, // TrackDescriptor track_descriptor = 60
    PACKET_SEQUENCE_ID: 10, // uint32 trusted_packet_sequence_id = 10
    PACKET_SEQUENCE_FLAGS: 13, // optional uint32 sequence_flags = 13
    SEQ_INCREMENTAL_STATE_CLEARED: 1,
    TD_UUID: 1, // track_descriptor.proto: optional uint64 uuid = 1
    TD_NAME: 2, // optional string name = 2
    TD_PROCESS: 3, // optional ProcessDescriptor process = 3
    TD_THREAD: 4, // optional ThreadDescriptor thread = 4
    TD_PARENT_UUID: 5, // optional uint64 parent_uuid = 5
    TD_COUNTER: 8, // optional CounterDescriptor counter = 8
    PROCESS_PID: 1, // process_descriptor.proto: optional int32 pid = 1
    PROCESS_NAME: 6, // optional string process_name = 6
    THREAD_PID: 1, // thread_descriptor.proto: optional int32 pid = 1
    THREAD_TID: 2, // optional int32 tid = 2
    THREAD_NAME: 5, // optional string thread_name = 5
    TE_DEBUG_ANNOTATIONS: 4, // track_event.proto: repeated DebugAnnotation debug_annotations = 4
    TE_TYPE: 9, // optional Type type = 9
    TE_TRACK_UUID: 11, // optional uint64 track_uuid = 11
    TE_CATEGORIES: 22, // repeated string categories = 22
    TE_NAME: 23, // string name = 23
    TE_COUNTER_VALUE_DOUBLE: 44, // double double_counter_value = 44
    TYPE_SLICE_BEGIN: 1,
    TYPE_SLICE_END: 2,
    TYPE_INSTANT: 3,
    TYPE_COUNTER: 4,
    DA_BOOL: 2, // debug_annotation.proto: bool bool_value = 2
    DA_UINT: 3, // uint64 uint_value = 3
    DA_INT: 4, // int64 int_value = 4
    DA_DOUBLE: 5, // double double_value = 5
    DA_STRING: 6, // string string_value = 6
    DA_NAME: 10, // string name = 10
  });
});

test('an infinite counter sample is an instant in both exports (found by the property above, seed 200590255)', () => {
  for (const identity of [UNKNOWN_IDENTITY, undefined]) {
    const { trace } = traceOf([{ kind: 'gauge', lane: 0, value: Number.NEGATIVE_INFINITY }, { kind: 'gauge', lane: 0, value: Number.POSITIVE_INFINITY }, { kind: 'gauge', lane: 0, value: 2 }], 'mono', identity);
    const v = validateExports(trace, { processName: 'p' });
    assert.deepEqual(exportViolations(v), []);
    assert.equal(v.perfetto.events.filter((e) => e.type === PF.TYPE_COUNTER).length, 1);
    assert.equal(v.perfetto.events.filter((e) => e.type === PF.TYPE_INSTANT).length, 2);
    assert.equal(v.rules.phases['C'], 1);
    assert.equal(v.rules.phases['i'], 2);
  }
});

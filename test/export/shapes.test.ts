/**
 * The conventions of shapes.ts: which field places an interval, and what names an event (labels).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bytesSource, createRing, defineEvent, openTrace, t, type RingBuffer } from '../../src/index.js';
import { eventShape, labelOf, labelRule } from '../../src/export/shapes.js';
import type { FieldsSpec } from '../../src/schema/index.js';

/** The label of one event written with `fields`. */
function label(ring: RingBuffer, name: string, spec: FieldsSpec, fields: Record<string, unknown>): string {
  const ev = defineEvent(ring, name, spec);
  const w = ring.writer();
  ev.write(w, fields as never);
  w.close();
  const trace = openTrace(bytesSource(ring.snapshot()));
  let out = '';
  trace.read((r) => {
    if (r.type !== ev.id) return;
    const v = trace.registry!.view(r);
    assert.ok(typeof v !== 'string', String(v));
    out = labelOf(labelRule(v.schema!), v, v.schema!);
  });
  return out;
}

test('shapes: an interval starts at its startNs field when it has a numeric one', () => {
  const ring = createRing({ lanes: 1, sharedLanes: 0 });
  const s = (name: string, spec: FieldsSpec) => defineEvent(ring, name, spec).schema;
  assert.deepEqual(eventShape(s('gc', { startNs: t.f64, durationNs: t.f64 })), { kind: 'duration', field: 1, start: 0 });
  assert.deepEqual(eventShape(s('legacy', { status: t.u16, durationNs: t.u64 })), { kind: 'duration', field: 1, start: -1 });
  assert.deepEqual(eventShape(s('snake', { duration_ns: t.u32, start_ns: t.f64 })), { kind: 'duration', field: 0, start: 1 });
  assert.deepEqual(eventShape(s('text_start', { durationNs: t.u32, startNs: t.string(8) })), { kind: 'duration', field: 0, start: -1 }, 'a string startNs does not count');
});

test('shapes: labels name spans, log lines, requests and hosts; the event name otherwise', () => {
  const ring = createRing({ lanes: 1, sharedLanes: 0 });
  assert.equal(label(ring, 'otel.span', { name: t.string(32), kind: t.u8 }, { name: 'GET /items/:id', kind: 1 }), 'GET /items/:id');
  assert.equal(label(ring, 'log', { level: t.enum(['info', 'warn']), msg: t.string(32) }, { level: 'warn', msg: 'disk full' }), 'disk full');
  assert.equal(label(ring, 'pino.log', { level: t.u16, line: t.string(200) }, { level: 30, line: '{"level":30,"msg":"listening","port":80}' }), 'listening');
  assert.equal(label(ring, 'pino.cut', { level: t.u16, line: t.string(200) }, { level: 30, line: '{"level":30,"msg":"trunc' }), '{"level":30,"msg":"trunc', 'a line that is not JSON is its own label');
  assert.equal(label(ring, 'pino.nomsg', { level: t.u16, line: t.string(200) }, { level: 30, line: '{"level":30}' }), 'pino.nomsg');
  assert.equal(label(ring, 'srv', { method: t.string(8), url: t.string(32) }, { method: 'POST', url: '/a?b=1' }), 'POST /a?b=1');
  assert.equal(label(ring, 'fetch', { method: t.string(8), origin: t.string(32), path: t.string(32) }, { method: 'GET', origin: 'http://h:1', path: '/x' }), 'GET http://h:1/x');
  assert.equal(label(ring, 'dns', { host: t.string(32), family: t.u8 }, { host: 'example.com', family: 4 }), 'example.com');
  assert.equal(label(ring, 'plain', { n: t.u32 }, { n: 1 }), 'plain');
  assert.equal(label(ring, 'empty', { name: t.string(8) }, { name: '' }), 'empty', 'an empty field falls back to the event name');
  assert.equal(label(ring, 'long', { msg: t.string(400) }, { msg: 'x'.repeat(300) }), `${'x'.repeat(119)}…`);
});

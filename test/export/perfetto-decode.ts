/**
 * Decode a Perfetto trace written by exportPerfetto, checking the structure rules on the way:
 * only packets at the top, each a track descriptor or a track event on sequence 1, tracks described
 * once and before use, counters on counter tracks, slices and instants on thread tracks.
 */
import assert from 'node:assert/strict';
import { PF, PROCESS_UUID } from '../../src/export/perfetto.js';
import { all, decodeMessage, double, get, text, type ProtoField } from './proto-decode.js';

export interface Decoded {
  packets: ProtoField[][];
  tracks: Map<number, { thread?: ProtoField[]; counter: boolean; name?: string; process?: ProtoField[] }>;
  events: { ts: number; type: number; track: number; name: string | undefined; annotations: ProtoField[][]; value: number | undefined }[];
}

export function decodeTrace(bytes: Uint8Array): Decoded {
  const out: Decoded = { packets: [], tracks: new Map(), events: [] };
  for (const top of decodeMessage(bytes)) {
    assert.equal(top.field, PF.TRACE_PACKET, 'a Trace holds only packets');
    const p = decodeMessage(top.bytes);
    out.packets.push(p);
    assert.equal(get(p, PF.PACKET_SEQUENCE_ID)?.varint, 1n);
    const td = get(p, PF.PACKET_TRACK_DESCRIPTOR);
    const te = get(p, PF.PACKET_TRACK_EVENT);
    assert.ok((td === undefined) !== (te === undefined), 'each packet is a track descriptor or a track event');
    if (td !== undefined) {
      const d = decodeMessage(td.bytes);
      const uuid = Number(get(d, PF.TD_UUID)!.varint);
      assert.ok(!out.tracks.has(uuid), `track ${uuid} described twice`);
      const thread = get(d, PF.TD_THREAD);
      const process = get(d, PF.TD_PROCESS);
      if (uuid !== PROCESS_UUID) assert.equal(get(d, PF.TD_PARENT_UUID)?.varint, BigInt(PROCESS_UUID));
      const track: { thread?: ProtoField[]; counter: boolean; name?: string; process?: ProtoField[] } = { counter: get(d, PF.TD_COUNTER) !== undefined };
      if (thread !== undefined) track.thread = decodeMessage(thread.bytes);
      if (process !== undefined) track.process = decodeMessage(process.bytes);
      const name = text(get(d, PF.TD_NAME));
      if (name !== undefined) track.name = name;
      out.tracks.set(uuid, track);
      continue;
    }
    const e = decodeMessage(te!.bytes);
    const track = Number(get(e, PF.TE_TRACK_UUID)!.varint);
    const type = Number(get(e, PF.TE_TYPE)!.varint);
    const t = out.tracks.get(track);
    assert.ok(t !== undefined, `event on track ${track} before its descriptor`);
    if (type === PF.TYPE_COUNTER) assert.ok(t.counter, 'counter values go to counter tracks');
    else assert.ok(t.thread !== undefined, 'slices and instants go to thread tracks');
    out.events.push({
      ts: Number(get(p, PF.PACKET_TIMESTAMP)!.varint),
      type,
      track,
      name: text(get(e, PF.TE_NAME)),
      annotations: all(e, PF.TE_DEBUG_ANNOTATIONS).map((a) => decodeMessage(a.bytes)),
      value: double(get(e, PF.TE_COUNTER_VALUE_DOUBLE)),
    });
  }
  return out;
}


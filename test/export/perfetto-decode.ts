/**
 * Decode a Perfetto trace written by exportPerfetto and check it against the rules of Perfetto's
 * TrackEvent protos, as the trace processor applies them (the violations list is empty when the
 * file needs no repair):
 *
 * - only packets at the top, each a track descriptor or a track event, all on sequence 1, the first
 *   flagged SEQ_INCREMENTAL_STATE_CLEARED;
 * - tracks described once (a process track may be described again, same pid, to rename it) and
 *   before use, a parent described before its child; a process track
 *   has a pid and a name; a thread track a pid, tid and name, under the process track of its pid;
 *   an async track a name, under a process track or another async track (Perfetto's model of
 *   overlapping work); a counter track under a process;
 * - counter values on counter tracks, slices and instants on thread or async tracks;
 * - per track, in time order (the trace processor sorts by timestamp, keeping packet order at equal
 *   times), each SLICE_END closes an open SLICE_BEGIN and nothing stays open.
 *
 * `slices` are the slices the trace processor would make (begin paired with end by the stack of
 * each track), for comparison with what was meant.
 */
import { PF } from '../../src/export/perfetto.js';
import { all, decodeMessage, double, get, text, type ProtoField } from './proto-decode.js';

export interface Track {
  uuid: number;
  parent: number | undefined;
  thread?: ProtoField[];
  process?: ProtoField[];
  counter: boolean;
  name?: string;
}

export interface Decoded {
  packets: ProtoField[][];
  tracks: Map<number, Track>;
  events: { ts: number; type: number; track: number; name: string | undefined; category: string | undefined; annotations: ProtoField[][]; value: number | undefined; at: number }[];
  slices: { track: number; name: string; start: number; end: number }[];
  violations: string[];
}

const int = (f: ProtoField | undefined): number | undefined => (f?.varint === undefined ? undefined : Number(BigInt.asIntN(64, f.varint)));

export function decodeTrace(bytes: Uint8Array): Decoded {
  const out: Decoded = { packets: [], tracks: new Map(), events: [], slices: [], violations: [] };
  const bad = (what: string) => {
    if (out.violations.length < 50) out.violations.push(what);
  };
  let n = 0;
  for (const top of decodeMessage(bytes)) {
    const at = n++;
    if (top.field !== PF.TRACE_PACKET) {
      bad(`field ${top.field} at the top: a Trace holds only packets`);
      continue;
    }
    const p = decodeMessage(top.bytes);
    out.packets.push(p);
    if (get(p, PF.PACKET_SEQUENCE_ID)?.varint !== 1n) bad(`packet ${at}: not on sequence 1`);
    if (at === 0 && get(p, PF.PACKET_SEQUENCE_FLAGS)?.varint !== BigInt(PF.SEQ_INCREMENTAL_STATE_CLEARED)) bad('the first packet does not clear the incremental state');
    const td = get(p, PF.PACKET_TRACK_DESCRIPTOR);
    const te = get(p, PF.PACKET_TRACK_EVENT);
    if ((td === undefined) === (te === undefined)) {
      bad(`packet ${at}: not exactly one of a track descriptor and a track event`);
      continue;
    }
    if (td !== undefined) {
      const d = decodeMessage(td.bytes);
      const uuid = int(get(d, PF.TD_UUID));
      if (uuid === undefined) {
        bad(`packet ${at}: a track without a uuid`);
        continue;
      }
      const before = out.tracks.get(uuid);
      // A process track may be described again (a name learned later), as the same process.
      const renamed = before?.process !== undefined && get(d, PF.TD_PROCESS) !== undefined && int(get(before.process, PF.PROCESS_PID)) === int(get(decodeMessage(get(d, PF.TD_PROCESS)!.bytes), PF.PROCESS_PID));
      if (before !== undefined && !renamed) bad(`packet ${at}: track ${uuid} described twice`);
      const parent = int(get(d, PF.TD_PARENT_UUID));
      const track: Track = { uuid, parent, counter: get(d, PF.TD_COUNTER) !== undefined };
      const thread = get(d, PF.TD_THREAD);
      const process = get(d, PF.TD_PROCESS);
      if (thread !== undefined) track.thread = decodeMessage(thread.bytes);
      if (process !== undefined) track.process = decodeMessage(process.bytes);
      const name = text(get(d, PF.TD_NAME));
      if (name !== undefined) track.name = name;
      const up = parent === undefined ? undefined : out.tracks.get(parent);
      if (parent !== undefined && up === undefined) bad(`track ${uuid}: parent ${parent} not described before it`);
      if (track.process !== undefined) {
        if (int(get(track.process, PF.PROCESS_PID)) === undefined || text(get(track.process, PF.PROCESS_NAME)) === undefined) bad(`process track ${uuid} without pid or name`);
      } else if (track.thread !== undefined) {
        const pid = int(get(track.thread, PF.THREAD_PID));
        if (pid === undefined || int(get(track.thread, PF.THREAD_TID)) === undefined || !text(get(track.thread, PF.THREAD_NAME))) bad(`thread track ${uuid} without pid, tid or name`);
        if (up?.process === undefined || int(get(up.process, PF.PROCESS_PID)) !== pid) bad(`thread track ${uuid} is not under the process track of its pid ${pid}`);
      } else if (track.counter) {
        if (up?.process === undefined) bad(`counter track ${uuid} is not under a process track`);
      } else {
        if (!track.name) bad(`async track ${uuid} without a name`);
        if (up === undefined || (up.process === undefined && (up.thread !== undefined || up.counter))) bad(`async track ${uuid} is not under a process track or another async track`);
      }
      out.tracks.set(uuid, track);
      continue;
    }
    const e = decodeMessage(te!.bytes);
    const track = int(get(e, PF.TE_TRACK_UUID)) ?? -1;
    const type = int(get(e, PF.TE_TYPE)) ?? -1;
    const t = out.tracks.get(track);
    if (t === undefined) bad(`packet ${at}: event on track ${track} before its descriptor`);
    else if (type === PF.TYPE_COUNTER) {
      if (!t.counter) bad(`packet ${at}: a counter value on track ${track}, not a counter track`);
    } else if (t.counter || t.process !== undefined) bad(`packet ${at}: a slice or instant on track ${track}, not a thread or async track`);
    const ts = int(get(p, PF.PACKET_TIMESTAMP));
    if (ts === undefined) bad(`packet ${at}: an event without a timestamp`);
    out.events.push({
      ts: ts ?? 0,
      type,
      track,
      name: text(get(e, PF.TE_NAME)),
      category: text(get(e, PF.TE_CATEGORIES)),
      annotations: all(e, PF.TE_DEBUG_ANNOTATIONS).map((a) => decodeMessage(a.bytes)),
      value: double(get(e, PF.TE_COUNTER_VALUE_DOUBLE)),
      at,
    });
  }
  // Slices as the trace processor makes them: sorted by time (stable), a stack per track.
  const open = new Map<number, { name: string; start: number }[]>();
  for (const e of [...out.events].sort((a, b) => a.ts - b.ts || a.at - b.at)) {
    if (e.type !== PF.TYPE_SLICE_BEGIN && e.type !== PF.TYPE_SLICE_END) continue;
    let stack = open.get(e.track);
    if (stack === undefined) open.set(e.track, (stack = []));
    if (e.type === PF.TYPE_SLICE_BEGIN) stack.push({ name: e.name ?? '', start: e.ts });
    else {
      const b = stack.pop();
      if (b === undefined) bad(`packet ${e.at}: SLICE_END on track ${e.track} at ${e.ts} with no open slice`);
      else out.slices.push({ track: e.track, name: b.name, start: b.start, end: e.ts });
    }
  }
  for (const [track, stack] of open) if (stack.length > 0) bad(`track ${track}: ${stack.length} slices never end (${stack.map((s) => s.name).join(', ')})`);
  return out;
}

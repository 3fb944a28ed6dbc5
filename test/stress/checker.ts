/**
 * The per-record checks of the torture and the soak, for every way records leave or are seen in a
 * ring: the consumer (`consumer`), members of a consumer group (`group`, records arrive per member,
 * each member a separate stream), non-consuming iterators (`iterator`) and snapshots read back as
 * trace files (`snapshot`). One checker per reader (per iterator pass, per snapshot); the end-of-run
 * books of the torture use the consumer's or the group's tallies.
 *
 * Per record (the failure names are the `check` passed to `fail`):
 *  - `payload-length`: record.length equals the length the writer put in the payload;
 *  - `checksum`: the FNV-1a checksum matches (no torn, stale or corrupt record);
 *  - `writer-id`, `lane`, `type`: the writer exists, wrote to this lane, with this type;
 *  - `discarded-delivered`: a reservation that was discarded is never handed out;
 *  - `duplicate`: a (writerId, seq) is handed out at most once (across the members of a group);
 *  - `order`: per writer (per stream), seq strictly increases;
 *  - `own-lane-gap` (per-thread lanes, where the lane's lost markers all come from its one writer;
 *    not for groups, whose members each see part of the lane): the lost markers since the lane's
 *    previous record never exceed the seq gap, and equal it exactly for a consumer in discard mode
 *    (the difference is drops whose in-band LOST record was itself overwritten or skipped);
 *  - `time-order`: timestamps never go back per writer, nor per lane on per-thread lanes (and on
 *    shared lanes with the counter clock), per stream;
 *  - `lost-count`: a lost marker carries a positive integer count (not 0, not NaN). An iterator
 *    lapped while the tail's page is itself being recycled may not learn how many records it
 *    missed (FORMAT 9.4 step 11 retries a bounded number of times): for iterators and snapshots a
 *    NaN count ("unknown") is allowed and counted in `lostUnknown`, and the lane's next gap is not
 *    checked. A consumer's counts are always exact.
 */
import { DISCARD_SEQ, PAYLOAD_HEADER, payloadChecksum, typeFor } from "./protocol.js";

/** What the checks need of a record: RingRecord, a trace file's record, or a decoded copy. */
export interface RecordLike {
  kind: string;
  lane: number;
  type: number;
  timestamp: number;
  lost: number;
  bytes: Uint8Array;
  offset: number;
  length: number;
}

/** Who hands the records out; `resize`: an iterator over a resized copy of the ring (checked like a snapshot). */
export type CheckerRole = "consumer" | "group" | "iterator" | "snapshot" | "resize";

export interface RecordSnapshot {
  kind: string;
  lane: number;
  type: number;
  timestamp: number;
  length: number;
  lost: number;
  writerId?: number;
  seq?: number;
  lengthField?: number;
  checksum?: number;
  computedChecksum?: number;
  /** First bytes of the payload, hex. */
  head?: string;
  /** Records (data + lost) the reader had handed out before this one. */
  index: number;
  /** The group member (stream) that delivered it, for groups. */
  stream?: number;
}

export interface LaneTally {
  lane: number;
  kind: "own" | "shared";
  writers: number[];
  data: number;
  bytes: number;
  lostMarkers: number;
  lostTotal: number;
  /** Shared lanes with the mono clock: timestamps that went back in lane order (threads' clocks differ by ~100 ns; informational). */
  timeInversions: number;
}

export interface WriterTally {
  writerId: number;
  lane: number;
  seen: number;
  /** Highest seq seen (over all streams). */
  lastSeq: number;
  /** Sum over read records of (seq - previous seq - 1), per stream; meaningful for a single stream. */
  gaps: number;
  /** Per-thread lanes: seq gaps not covered by lost markers (overwrite mode: drops whose LOST record was overwritten). */
  unexplained: number;
}

export interface CheckerOptions {
  role: CheckerRole;
  nWriters: number;
  lanes: number;
  ownLanes: number;
  overwrite: boolean;
  /** Lane timestamps must not go back on shared lanes too (the counter clock gives a total order). */
  strictSharedTime: boolean;
  /** The lane of each writer (filled in as the writers report ready; -1 before). */
  writerLane: Int32Array;
  /** Called for each failed check; `record` describes the offending record. */
  fail: (check: string, message: string, record?: RecordSnapshot) => void;
}

function u32(b: Uint8Array, o: number): number {
  return ((b[o] as number) | ((b[o + 1] as number) << 8) | ((b[o + 2] as number) << 16) | ((b[o + 3] as number) << 24)) >>> 0;
}

function hex(b: Uint8Array, from: number, n: number): string {
  let s = "";
  for (let i = from; i < from + n && i < b.length; i++) s += (b[i] as number).toString(16).padStart(2, "0");
  return s;
}

/** Growable bitset of the seqs seen from one writer. */
class SeqSet {
  bits = new Uint8Array(1 << 12);
  has(seq: number): boolean {
    const i = seq >>> 3;
    return i < this.bits.length && ((this.bits[i] as number) & (1 << (seq & 7))) !== 0;
  }
  add(seq: number): void {
    const i = seq >>> 3;
    if (i >= this.bits.length) {
      let n = this.bits.length;
      while (n <= i) n *= 2;
      const next = new Uint8Array(n);
      next.set(this.bits);
      this.bits = next;
    }
    this.bits[i] = (this.bits[i] as number) | (1 << (seq & 7));
  }
}

/** Order state of one stream (a reader, or one member of a group). */
class StreamState {
  readonly lastSeq: Int32Array;
  readonly writerLastTime: Float64Array;
  readonly laneLastTime: Float64Array;
  /** Lost markers on the lane since its last data record (per-thread lanes: all from its one writer). */
  readonly laneLostSince: Float64Array;
  constructor(nWriters: number, lanes: number) {
    this.lastSeq = new Int32Array(nWriters).fill(-1);
    this.writerLastTime = new Float64Array(nWriters).fill(-Infinity);
    this.laneLastTime = new Float64Array(lanes).fill(-Infinity);
    this.laneLostSince = new Float64Array(lanes);
  }
}

export class RecordChecker {
  readonly role: CheckerRole;
  readonly lanes: LaneTally[] = [];
  readonly tallies: WriterTally[] = [];
  /** Data records, their payload bytes, lost markers and the records they stand for, over all lanes. */
  data = 0;
  bytes = 0;
  lostMarkers = 0;
  lost = 0;
  /** Lost markers whose count was NaN (unknown): iterators and snapshots only. */
  lostUnknown = 0;
  /** Records (data + lost) seen. */
  index = 0;
  readonly #o: CheckerOptions;
  readonly #sets: SeqSet[] = [];
  readonly #streams = new Map<number, StreamState>();

  constructor(o: CheckerOptions) {
    this.#o = o;
    this.role = o.role;
    for (let l = 0; l < o.lanes; l++) {
      this.lanes.push({ lane: l, kind: l < o.ownLanes ? "own" : "shared", writers: [], data: 0, bytes: 0, lostMarkers: 0, lostTotal: 0, timeInversions: 0 });
    }
    for (let w = 0; w < o.nWriters; w++) {
      this.tallies.push({ writerId: w, lane: -1, seen: 0, lastSeq: -1, gaps: 0, unexplained: 0 });
      this.#sets.push(new SeqSet());
    }
  }

  /** Record that writer `writerId` writes `lane` (for the tallies). */
  writerReady(writerId: number, lane: number): void {
    (this.tallies[writerId] as WriterTally).lane = lane;
    this.lanes[lane]?.writers.push(writerId);
  }

  #stream(id: number): StreamState {
    let s = this.#streams.get(id);
    if (s === undefined) {
      s = new StreamState(this.#o.nWriters, this.#o.lanes);
      this.#streams.set(id, s);
    }
    return s;
  }

  #fail(check: string, message: string, rec: RecordLike, stream: number): void {
    const snap = snapshotOf(rec, this.index);
    if (this.role === "group") snap.stream = stream;
    this.#o.fail(check, message, snap);
  }

  /** Check one record delivered by stream `stream` (0 unless a group member). */
  visit(rec: RecordLike, stream = 0): void {
    try {
      this.#visit(rec, stream);
    } finally {
      this.index++;
    }
  }

  #visit(rec: RecordLike, stream: number): void {
    const o = this.#o;
    const lane = rec.lane;
    const lt = this.lanes[lane];
    if (lt === undefined) return this.#fail("lane", `record on lane ${lane}, which does not exist`, rec, stream);
    const st = this.#stream(stream);
    if (rec.kind === "lost") {
      const n = rec.lost;
      lt.lostMarkers++;
      this.lostMarkers++;
      if (Number.isNaN(n) && this.role !== "consumer" && this.role !== "group") {
        this.lostUnknown++;
        st.laneLostSince[lane] = Number.NaN; // the next gap on this lane cannot be checked
        return;
      }
      if (!(Number.isInteger(n) && n > 0)) {
        return this.#fail("lost-count", `lost marker with count ${n} on lane ${lane} (expected a positive integer)`, rec, stream);
      }
      lt.lostTotal += n;
      this.lost += n;
      st.laneLostSince[lane] = (st.laneLostSince[lane] as number) + n;
      return;
    }
    if (rec.kind !== "data") return this.#fail("kind", `record kind ${String(rec.kind)}`, rec, stream);
    const b = rec.bytes;
    const at = rec.offset;
    const len = rec.length;
    if (len < PAYLOAD_HEADER || at + len > b.length) {
      return this.#fail("payload-length", `data record of ${len} bytes at ${at} of a ${b.length}-byte buffer (the torture header is ${PAYLOAD_HEADER} bytes)`, rec, stream);
    }
    const writerId = u32(b, at);
    const seq = u32(b, at + 4);
    const lenField = u32(b, at + 8);
    const sum = u32(b, at + 12);
    if (lenField !== len) return this.#fail("payload-length", `record.length ${len} but the writer reserved ${lenField} bytes`, rec, stream);
    const computed = payloadChecksum(b, at, len);
    if (computed !== sum) {
      return this.#fail("checksum", `checksum 0x${sum.toString(16)} but the payload hashes to 0x${computed.toString(16)} (torn or corrupt record)`, rec, stream);
    }
    if (writerId >= o.nWriters) return this.#fail("writer-id", `writerId ${writerId} but there are ${o.nWriters} writers`, rec, stream);
    if (seq === DISCARD_SEQ) return this.#fail("discarded-delivered", `writer ${writerId} discarded this reservation but it was handed out`, rec, stream);
    if (rec.lane !== o.writerLane[writerId]) {
      this.#fail("lane", `writer ${writerId} writes lane ${o.writerLane[writerId]} but its record came from lane ${rec.lane}`, rec, stream);
    }
    if (rec.type !== typeFor(writerId, seq)) this.#fail("type", `type ${rec.type}, expected ${typeFor(writerId, seq)} for writer ${writerId} seq ${seq}`, rec, stream);
    const t = this.tallies[writerId] as WriterTally;
    const set = this.#sets[writerId] as SeqSet;
    if (set.has(seq)) return this.#fail("duplicate", `writer ${writerId} seq ${seq} handed out twice`, rec, stream);
    set.add(seq);
    const last = st.lastSeq[writerId] as number;
    if (seq <= last) {
      this.#fail("order", `writer ${writerId} seq ${seq} after seq ${last}`, rec, stream);
    } else {
      const gap = seq - last - 1;
      t.gaps += gap;
      if (lt.kind === "own" && this.role !== "group") {
        const lost = st.laneLostSince[lane] as number;
        const exact = this.role === "consumer" && !o.overwrite;
        if (exact ? lost !== gap : lost > gap) {
          this.#fail(
            "own-lane-gap",
            `writer ${writerId} seq ${seq} follows seq ${last} (gap ${gap}) but the lane reported ${lost} lost in between` +
              (exact ? " (must be equal for a consumer in discard mode)" : " (lost markers may not exceed the gap)"),
            rec,
            stream,
          );
        }
        if (lost === lost) t.unexplained += gap - lost;
      }
      st.lastSeq[writerId] = seq;
      if (seq > t.lastSeq) t.lastSeq = seq;
    }
    st.laneLostSince[lane] = 0;
    const ts = rec.timestamp;
    if (ts < (st.writerLastTime[writerId] as number)) {
      this.#fail("time-order", `writer ${writerId} seq ${seq} has timestamp ${ts}, earlier than its previous record's ${st.writerLastTime[writerId]}`, rec, stream);
    }
    st.writerLastTime[writerId] = ts;
    if (ts < (st.laneLastTime[lane] as number)) {
      if (lt.kind === "own" || o.strictSharedTime) {
        this.#fail("time-order", `lane ${lane}: timestamp ${ts} is earlier than the lane's previous record's ${st.laneLastTime[lane]}`, rec, stream);
      } else {
        lt.timeInversions++;
      }
    }
    st.laneLastTime[lane] = ts;
    t.seen++;
    lt.data++;
    lt.bytes += len;
    this.data++;
    this.bytes += len;
  }
}

/** A description of a record for a failure report. */
export function snapshotOf(rec: RecordLike, index: number): RecordSnapshot {
  const s: RecordSnapshot = { kind: rec.kind, lane: rec.lane, type: rec.type, timestamp: rec.timestamp, length: rec.length, lost: rec.lost, index };
  if (rec.kind === "data" && rec.length >= PAYLOAD_HEADER && rec.offset + PAYLOAD_HEADER <= rec.bytes.length) {
    const b = rec.bytes;
    s.writerId = u32(b, rec.offset);
    s.seq = u32(b, rec.offset + 4);
    s.lengthField = u32(b, rec.offset + 8);
    s.checksum = u32(b, rec.offset + 12);
    s.computedChecksum = payloadChecksum(b, rec.offset, Math.min(rec.length, b.length - rec.offset));
    s.head = hex(b, rec.offset, Math.min(rec.length, 32));
  }
  return s;
}

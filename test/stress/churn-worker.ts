/**
 * Worker of the producer churn and kill tests (churn.test.ts). Records carry the torture payload
 * (protocol.ts): writerId, seq, length, checksum, so the reader can tell a torn, foreign or
 * duplicated record.
 *
 * - `churn`: until `deadline`, take a writer, write a burst of 1..burstMax records, close it;
 *   then report per lane what was written and dropped, and how many writers were refused.
 * - `kill`: take one writer, say `ready`, and write (sometimes with nested open reservations)
 *   until terminated.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { CapacityError, attachRing, type RingWriter } from '../../src/index.js';
import { PAYLOAD_HEADER, Prng, payloadChecksum, typeFor } from './protocol.js';

export interface ChurnWorkerData {
  buffer: SharedArrayBuffer;
  kind: 'churn' | 'kill';
  writerId: number;
  seed: number;
  deadline: number;
  burstMax: number;
}

export interface ChurnReport {
  written: number[];
  dropped: number[];
  refused: number;
  writers: number;
}

const data = workerData as ChurnWorkerData;
const ring = attachRing(data.buffer);
const prng = new Prng(data.seed);
const payload = new Uint8Array(PAYLOAD_HEADER);
const dv = new DataView(payload.buffer);
let seq = 0;

/** Fill the payload of attempt `seq` of this writer. */
function stamp(s: number): Uint8Array {
  dv.setUint32(0, data.writerId, true);
  dv.setUint32(4, s, true);
  dv.setUint32(8, PAYLOAD_HEADER, true);
  dv.setUint32(12, payloadChecksum(payload, 0, PAYLOAD_HEADER), true);
  return payload;
}

if (data.kind === 'churn') {
  const report: ChurnReport = { written: new Array<number>(ring.geometry.lanes).fill(0), dropped: new Array<number>(ring.geometry.lanes).fill(0), refused: 0, writers: 0 };
  while (Date.now() < data.deadline) {
    let w: RingWriter;
    try {
      w = ring.writer({ tag: data.writerId });
    } catch (e) {
      if (!(e instanceof CapacityError)) throw e;
      report.refused++;
      continue;
    }
    report.writers++;
    const n = 1 + (prng.u32() % data.burstMax);
    for (let i = 0; i < n; i++, seq++) {
      if (w.write(typeFor(data.writerId, seq), stamp(seq))) report.written[w.lane]!++;
      else report.dropped[w.lane]!++;
    }
    w.close();
  }
  parentPort?.postMessage(report);
} else {
  let w: RingWriter;
  try {
    w = ring.writer({ tag: data.writerId });
  } catch (e) {
    parentPort?.postMessage({ refused: String(e) });
    throw e;
  }
  parentPort?.postMessage({ ready: w.lane });
  for (;;) {
    const r = prng.u32();
    // Sometimes hold a reservation open across other writes, so that kills land with some open.
    const open = (r & 7) === 0 ? w.reserve(typeFor(data.writerId, seq), PAYLOAD_HEADER) : -1;
    const openSeq = seq;
    if (open >= 0) {
      w.bytes.set(stamp(seq), open);
      seq++;
    } else if ((r & 7) === 0) {
      seq++; // a dropped attempt
    }
    for (let i = 0, n = (r >>> 3) % 8; i < n; i++, seq++) w.write(typeFor(data.writerId, seq), stamp(seq));
    if (open >= 0) w.commit(open);
    void openSeq;
  }
}

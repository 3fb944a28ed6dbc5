/** What the round trip's page/main thread (round-trip.ts) and its writers (round-trip-writer.ts) agree on. */
import { t } from "../../src/index.js";

/** Raw record types: written while the reader races the writers, and after the merge gate opened. */
export const TYPE_RACE = 1;
export const TYPE_TAIL = 2;
/** Bytes of a raw record's payload: producer, seq and two check words, u32 little-endian each. */
export const RAW_PAYLOAD_BYTES = 16;

/** The typed event a writer emits at every seq that is a multiple of `eventEvery`. */
export const TICK_FIELDS = { producer: t.u8, seq: t.u32, label: t.string(16) } as const;

/** What a writer is posted. */
export interface WriterTask {
  buffer: SharedArrayBuffer;
  /** Int32 words: [0] race go, [1] merge go. */
  gate: SharedArrayBuffer;
  producer: number;
  records: number;
  eventEvery: number;
  tailRecords: number;
}

/** The two check words of record `seq` of `producer` (any torn or misplaced payload fails them). */
export function payloadWords(producer: number, seq: number): [number, number] {
  return [(Math.imul(seq + 1, 0x9e3779b1) ^ producer) >>> 0, (~seq ^ Math.imul(producer, 0x01010101)) >>> 0];
}

/** How many seqs in [0, n) carry an event. */
export function eventsBelow(n: number, eventEvery: number): number {
  return Math.ceil(n / eventEvery);
}

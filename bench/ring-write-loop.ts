/**
 * The writer loop of the cross-thread and cross-process scenarios (bench/ring-writer.ts in a worker
 * thread, bench/xprocess-writer.ts in a process): records `[recordBytes, seq, seq + 1, -seq]`
 * (the words the peers move), then, for records longer than 16 bytes, a copy of `filler` (a
 * zero-filled template, as a writer copying a payload would do), through the public API: reserve
 * (tryReserve when waiting on a full ring), stores, commit. Stops when the reader asks (checked
 * every 1024 records, and while the ring is full); returns the next seq.
 *
 * On a full ring (`spin`) a writer in the consumer's process sleeps in reserveWaiting() until the
 * consumer takes a page (issue 15 item 5: with more writers than cores, a writer spinning on
 * tryReserve() takes the core the consumer needs); a writer in another process (`sleepWhenFull`
 * false), which the consumer's notify cannot reach, spins on tryReserve().
 */
import type { RingWriter } from '../src/index.js';
import { CTRL_STOP_INDEX, RECORD_BYTES } from './peers/layout.js';

const STOP_CHECK_MASK = 1023;
/** Longest sleep of a writer on a full ring between looks at the stop request, ms. */
const FULL_WAIT_MS = 1;

export function writeUntilStopped(ctrl: Int32Array, w: RingWriter, startSeq: number, spin: boolean, filler: Uint8Array | null, sleepWhenFull = true): number {
  const i32 = w.i32;
  const bytes = w.bytes;
  const recordBytes = RECORD_BYTES + (filler === null ? 0 : filler.length);
  const stopIndex = CTRL_STOP_INDEX;
  let seq = startSeq;
  for (;;) {
    let at = spin ? w.tryReserve(1, recordBytes) : w.reserve(1, recordBytes);
    while (at < 0) {
      // Full (discard mode): wait for the reader, unless it asked us to stop; pairs with requestStop().
      if (Atomics.load(ctrl, stopIndex) !== 0) return seq;
      at = sleepWhenFull ? w.reserveWaiting(1, recordBytes, FULL_WAIT_MS) : w.tryReserve(1, recordBytes);
    }
    const i = at >> 2;
    i32[i] = recordBytes;
    i32[i + 1] = seq;
    i32[i + 2] = (seq + 1) | 0;
    i32[i + 3] = -seq | 0;
    if (filler !== null) bytes.set(filler, at + RECORD_BYTES);
    w.commit(at);
    seq = (seq + 1) | 0;
    // Every 1024 records, see whether the reader asked us to stop; pairs with layout.ts#requestStop().
    if ((seq & STOP_CHECK_MASK) === 0 && Atomics.load(ctrl, stopIndex) !== 0) return seq;
  }
}

/**
 * The wake channel of file rings: a shared futex on H_WAKE_SEQ, so that a reader sleeping in one
 * process is woken by commits in another. The wakeup protocol (src/wakeup.ts, FORMAT.md 10.6) is
 * unchanged: a writer that wakes sleepers moves H_WAKE_SEQ and notifies as always, then calls
 * {@link WakeChannel.wake} here, a FUTEX_WAKE; a reader takes H_WAKE_SEQ first, registers, looks
 * once more, and sleeps in a FUTEX_WAIT on that value, which the kernel refuses atomically if the
 * word moved meanwhile (no lost wakeup across processes, for the same reason as within one).
 *
 * `waitAsync` sleeps on a thread of the addon (the event loop stays free) and, at the same time, in
 * `Atomics.waitAsync`, so a writer thread of this process that attached without the channel
 * (plain `attachRing` in a worker) still wakes it. Whichever returns first cancels the other; a
 * stale in-process waiter left behind is flushed by a local `Atomics.notify` (a spurious wakeup,
 * which readers allow for).
 */
import { H_WAKE_SEQ } from "../layout.js";
import type { WakeChannel } from "../wakeup.js";
import { waitForSeqAsync } from "../wakeup.js";
import type { NativeAddon } from "./native.js";

const SEQ_INDEX = H_WAKE_SEQ >> 2;
/**
 * The reason of every abort of the in-process half of a wait: `abort()` without one builds a
 * DOMException (with its stack) per wait, and nobody reads it.
 */
const WAIT_ENDED = "wait ended";
/** Where the addon has no futex (not Linux): how often a waiting reader looks at the word. */
const POLL_MS = 1;

/** A {@link WakeChannel} for the ring in `buffer`, through the addon's futex calls. */
export function futexWakeChannel(addon: NativeAddon, buffer: SharedArrayBuffer): WakeChannel {
  const i32 = new Int32Array(buffer, 0, (H_WAKE_SEQ >> 2) + 1);
  if (!addon.futex) return pollingChannel(i32);
  return {
    wake(): void {
      // Wake sleepers in every process; the writer moved H_WAKE_SEQ before (wakeup.ts#wakeReaders()).
      addon.futexWake(buffer, H_WAKE_SEQ);
    },
    wait(seq: number, timeoutMs: number): boolean {
      // Sleep while H_WAKE_SEQ holds seq; woken by wake() above in any process.
      return addon.futexWait(buffer, H_WAKE_SEQ, seq | 0, timeoutMs) !== "timed-out";
    },
    waitAsync(seq: number, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
      return new Promise<boolean>((resolve) => {
        const local = new AbortController();
        let done = false;
        let id = 0;
        const finish = (woken: boolean, byFutex: boolean): void => {
          if (done) return;
          done = true;
          signal?.removeEventListener("abort", onAbort);
          local.abort(WAIT_ENDED); // ends the in-process wait (and its keep-alive timer)
          if (byFutex) {
            // Flush the in-process Atomics.waitAsync waiter we leave behind (no writer of this
            // process may ever notify it): a spurious wakeup for this process's other sleepers.
            Atomics.notify(i32, SEQ_INDEX);
          } else {
            addon.futexCancel(id);
          }
          resolve(woken);
        };
        const onAbort = (): void => finish(false, false);
        if (signal?.aborted) {
          resolve(false);
          return;
        }
        signal?.addEventListener("abort", onAbort);
        // Sleep on a thread of the addon while H_WAKE_SEQ holds seq; woken by wake() in any process.
        id = addon.futexWaitAsync(buffer, H_WAKE_SEQ, seq | 0, timeoutMs, (r) => {
          if (r !== "cancelled") finish(r !== "timed-out", true);
        });
        // And in this process (holds the timer that keeps the process alive while we wait).
        void waitForSeqAsync(i32, seq, timeoutMs, local.signal).then((woken) => finish(woken, false));
      });
    },
  };
}

/** No futex on this platform: readers poll the wake word (writers' wake() has nothing to do). */
function pollingChannel(i32: Int32Array): WakeChannel {
  return {
    wake(): void {},
    wait(seq: number, timeoutMs: number): boolean {
      const end = performance.now() + timeoutMs;
      const nap = new Int32Array(new SharedArrayBuffer(4));
      // Acquire the wake sequence; pairs with wakeup.ts#wakeReaders()'s Atomics.add.
      while (Atomics.load(i32, SEQ_INDEX) === (seq | 0)) {
        if (performance.now() >= end) return false;
        Atomics.wait(nap, 0, 0, POLL_MS); // a private word nobody notifies: a sleep, orders nothing
      }
      return true;
    },
    waitAsync(seq: number, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
      return new Promise<boolean>((resolve) => {
        const end = performance.now() + timeoutMs;
        const timer = setInterval(() => {
          // Acquire the wake sequence; pairs with wakeup.ts#wakeReaders()'s Atomics.add.
          const moved = Atomics.load(i32, SEQ_INDEX) !== (seq | 0);
          if (moved || signal?.aborted || performance.now() >= end) {
            clearInterval(timer);
            resolve(moved);
          }
        }, POLL_MS);
      });
    },
  };
}

/**
 * Wakeups: readers that found nothing can sleep until writers commit, and writers pay for it only
 * while someone sleeps.
 *
 * Three words on one cache line of the ring header: H_WAITERS (readers about to sleep), H_WAKE_SEQ
 * (the futex word) and H_WAKE_BUDGET (commits still to come before waking: the watermark).
 *
 *   writer, after each commit:         reader, before sleeping:
 *     store word0 (commit)               budget = min(budget, N); waiters += 1
 *     if load(waiters) != 0:             seq = load(wake_seq); look for data again
 *       if (budget -= 1) <= 0:           if none: wait(wake_seq, seq, timeout)
 *         wake_seq += 1; notify          waiters -= 1
 *
 * Every step is a sequentially consistent atomic, so the classic lost-wakeup race cannot happen:
 * either the writer's load of H_WAITERS comes after the reader's add (and the writer wakes it,
 * changing H_WAKE_SEQ, which makes the reader's wait return at once even if it has not started
 * yet), or the reader's second look for data comes after the commit (and finds it). A writer that
 * finds H_WAITERS at 0 does one load and nothing else: no `Atomics.notify` on the write path unless
 * a reader sleeps.
 *
 * `Atomics.wait` blocks the calling thread: use it in workers (browsers forbid it on their main
 * thread, and on Node's main thread it freezes the event loop). `Atomics.waitAsync` waits without
 * blocking; its promise does not keep Node's event loop alive, so {@link waitForSeqAsync} holds a
 * timer for as long as it waits (the process stays up while a reader waits, as for a socket read).
 *
 * Beyond one process. `Atomics.wait/notify` reach only the threads of one process: V8 keeps its
 * own list of waiters, so a notify never reaches a sleeper in another process, even on memory that
 * both map. A {@link WakeChannel}, installed on a RingBuffer object (never in shared memory) by code
 * that knows the memory is shared more widely (the file rings of `unified-ring-buffer/node`: a
 * futex on H_WAKE_SEQ), adds its own wake to the writer's wakeup and replaces the reader's wait.
 * The protocol above is unchanged, and the channel's wake runs only where the notify runs: a writer
 * still pays one load per commit while nobody waits.
 */
import { H_SPACE_SEQ, H_SPACE_WAITERS, H_WAITERS, H_WAKE_BUDGET, H_WAKE_SEQ } from "./layout.js";

/**
 * Sleeping and waking beyond `Atomics.wait/notify` (which reach only the threads of one process),
 * for one ring's H_WAKE_SEQ word. See {@link RingBuffer.setWakeChannel}.
 */
export interface WakeChannel {
  /** Wake every sleeper, in every process. Called after the writer moved H_WAKE_SEQ (and notified). */
  wake(): void;
  /** Block while H_WAKE_SEQ holds `seq`, at most `timeoutMs`. True unless it timed out. */
  wait(seq: number, timeoutMs: number): boolean;
  /** Wait without blocking while H_WAKE_SEQ holds `seq`; false on timeout or abort. Keeps the process alive meanwhile. */
  waitAsync(seq: number, timeoutMs: number, signal?: AbortSignal): Promise<boolean>;
}

const WAITERS = H_WAITERS >> 2;
const SEQ = H_WAKE_SEQ >> 2;
const BUDGET = H_WAKE_BUDGET >> 2;
const SPACE_WAITERS = H_SPACE_WAITERS >> 2;
const SPACE_SEQ = H_SPACE_SEQ >> 2;

/**
 * Writer side: count one commit against the watermark and wake the sleepers when it is reached
 * (or at once with `now`, e.g. when a reader closes). `channel` also wakes sleepers elsewhere.
 */
export function wakeReaders(i32: Int32Array, now = false, channel?: WakeChannel): void {
  // Take one commit from the budget; pairs with registerWaiter()'s store of it.
  if (now || Atomics.sub(i32, BUDGET, 1) <= 1) {
    // Publish the wakeup (the reader's wait compares against the old value); pairs with its load.
    Atomics.add(i32, SEQ, 1);
    // Wake every sleeper; pairs with Atomics.wait/waitAsync on H_WAKE_SEQ.
    Atomics.notify(i32, SEQ);
    // Sleepers in other processes (a futex wake after the add above); pairs with the channel's wait.
    if (channel !== undefined) channel.wake();
  }
}

/**
 * Reader side, step 1: announce a sleeper wanting `records` more commits, and return the wake
 * sequence to wait on. The caller must look for data once more after this, before waiting.
 */
export function registerWaiter(i32: Int32Array, records: number): number {
  // The sequence our wait compares against, taken FIRST; pairs with wakeReaders()'s Atomics.add. Any
  // wakeup after this point (one that a commit after our registration triggers, or one whose
  // budget another sleeper reset) moves the word and makes our wait return. Taken after the
  // budget or the waiter count, a wakeup between them would be missed (found by the model in
  // spec/wakeup.pml: a watermark sleeper slept through its watermark, and a wait() through a record).
  const seq = Atomics.load(i32, SEQ);
  // Lower the budget to our watermark (a smaller one set by another sleeper stays); pairs with wakeReaders().
  for (let i = 0; i < 64; i++) {
    // The current budget (writers are taking commits from it).
    const cur = Atomics.load(i32, BUDGET);
    if (cur > 0 && cur <= records) break;
    // Set ours unless a writer or another sleeper changed it meanwhile (then look again).
    if (Atomics.compareExchange(i32, BUDGET, cur, records) === cur) break;
  }
  // Announce ourselves before the last look for data; pairs with the writers' Atomics.load(H_WAITERS).
  Atomics.add(i32, WAITERS, 1);
  return seq;
}

/** Reader side, last step: no longer about to sleep. */
export function unregisterWaiter(i32: Int32Array): void {
  // Writers stop paying for wakeups when this reaches 0; pairs with their Atomics.load(H_WAITERS).
  Atomics.sub(i32, WAITERS, 1);
}

/** Block until H_WAKE_SEQ moves from `seq` or `timeoutMs` passes. True if woken. */
export function waitForSeq(i32: Int32Array, seq: number, timeoutMs: number): boolean {
  // Sleep while H_WAKE_SEQ still holds seq; woken by wakeReaders()'s notify.
  return Atomics.wait(i32, SEQ, seq, timeoutMs) !== "timed-out";
}

type WaitAsync = (a: Int32Array, i: number, v: number, t?: number) => { async: boolean; value: Promise<string> | string };

/**
 * Wait without blocking until H_WAKE_SEQ moves from `seq`, `timeoutMs` passes, or `signal` aborts.
 * Uses Atomics.waitAsync where it exists (and polls every millisecond where it does not); holds a
 * timer meanwhile so that Node does not exit under a waiting reader.
 */
export function waitForSeqAsync(i32: Int32Array, seq: number, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
  const waitAsync = (Atomics as unknown as { waitAsync?: WaitAsync }).waitAsync;
  return new Promise<boolean>((resolve) => {
    let done = false;
    const finish = (woken: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(keep);
      if (poll !== undefined) clearInterval(poll);
      signal?.removeEventListener("abort", onAbort);
      resolve(woken);
    };
    const onAbort = () => finish(false);
    signal?.addEventListener("abort", onAbort);
    // Keeps the event loop alive while we wait, and ends a finite wait.
    const keep = setTimeout(() => finish(false), Number.isFinite(timeoutMs) ? Math.max(0, timeoutMs) : 2 ** 31 - 1);
    let poll: ReturnType<typeof setInterval> | undefined;
    if (typeof waitAsync === "function") {
      // Sleep while H_WAKE_SEQ still holds seq; woken by wakeReaders()'s notify.
      const r = waitAsync(i32, SEQ, seq, Number.isFinite(timeoutMs) ? timeoutMs : undefined);
      if (!r.async) finish(r.value !== "timed-out");
      else (r.value as Promise<string>).then((v) => finish(v !== "timed-out"));
    } else {
      // Acquire the wake sequence; pairs with wakeReaders()'s Atomics.add.
      poll = setInterval(() => Atomics.load(i32, SEQ) !== seq && finish(true), 1);
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Writers waiting for room (docs/FORMAT.md section 10.7). The mirror image of the readers' protocol:
// a writer that found its lane full registers in H_SPACE_WAITERS, tries once more, and sleeps on
// H_SPACE_SEQ; a consumer loads H_SPACE_WAITERS after each take (the tail compare-exchange) and
// wakes only while someone waits. Sequentially consistent on both sides, so either the consumer's
// load follows the writer's add (it wakes the writer) or the writer's second try follows the take
// (it finds the room). Each sleep is at most SPACE_WAIT_SLICE_MS: what does not notify (a consumer
// in another process, a page recycler, another producer finishing a page preparation) is polled.

/** Longest single sleep of a writer waiting for room, in ms (the poll period of what does not notify). */
export const SPACE_WAIT_SLICE_MS = 1;

/** Writer side, step 1: announce a writer about to sleep for room; returns the sequence to wait on. Try once more after this. */
export function registerSpaceWaiter(i32: Int32Array): number {
  // The sequence our wait compares against, taken first (as registerWaiter()); pairs with wakeSpaceWaiters()'s add.
  const seq = Atomics.load(i32, SPACE_SEQ);
  // Announce ourselves before the last try; pairs with the consumer's Atomics.load in wakeSpaceWaiters().
  Atomics.add(i32, SPACE_WAITERS, 1);
  return seq;
}

/** Writer side, last step: no longer about to sleep. */
export function unregisterSpaceWaiter(i32: Int32Array): void {
  // Consumers stop paying for wakeups when this reaches 0; pairs with their Atomics.load.
  Atomics.sub(i32, SPACE_WAITERS, 1);
}

/** Writer side: sleep while H_SPACE_SEQ holds `seq`, at most `timeoutMs`. Blocks the thread (a worker's). */
export function waitForSpace(i32: Int32Array, seq: number, timeoutMs: number): void {
  // Sleep while H_SPACE_SEQ still holds seq; woken by wakeSpaceWaiters()'s notify.
  Atomics.wait(i32, SPACE_SEQ, seq, timeoutMs);
}

/** Consumer side, after a take that moved a lane's tail: wake the writers waiting for room, if any. */
export function wakeSpaceWaiters(i32: Int32Array): void {
  // Anyone waiting for room? Ordered after the take's compare-exchange: pairs with registerSpaceWaiter()'s add.
  if (Atomics.load(i32, SPACE_WAITERS) === 0) return;
  // Publish the wakeup (the writer's wait compares against the old value); pairs with its load.
  Atomics.add(i32, SPACE_SEQ, 1);
  // Wake every waiting writer; pairs with waitForSpace()'s Atomics.wait.
  Atomics.notify(i32, SPACE_SEQ);
}

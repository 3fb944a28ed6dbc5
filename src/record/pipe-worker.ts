/**
 * The pipe thread of a recorded program: moves the ring's pages to the trace file while the program
 * runs (pipe.run, sleeping between batches on the ring's wakeups), off the program's main thread.
 * On STOP it flushes the committed records of unfinished pages, writes the END chunk, closes the
 * file and sets DONE, which the main thread's exit handler is blocked on.
 */
import { closeSync } from "node:fs";
import { workerData } from "node:worker_threads";
import { pipeToFile } from "../node/pipe.js";
import { attachRing } from "../ring.js";
import { CONTROL_DONE, CONTROL_STOP, DONE_FAILED, DONE_OK, type PipeWorkerData } from "./control.js";

/**
 * Commits between wakeups of this thread. 1024 records of 16 to 64 bytes are a few pages: the
 * pipe still wakes long before a lane of a few hundred KiB fills, at a sixteenth of the wakeups
 * of pipe.run's default (64), each a futex wake paid by a writer.
 */
const WAKE_RECORDS = 1024;

const data = workerData as PipeWorkerData;
const control = new Int32Array(data.control);
let done = DONE_OK;
try {
  const ring = attachRing(data.buffer);
  const pipe = pipeToFile(ring, data.fd);
  const stop = new AbortController();
  // Sleep until main stores STOP (pairs with the Atomics.store + notify in preload.ts#stopRecording()).
  const waitAsync = (Atomics as unknown as { waitAsync: (a: Int32Array, i: number, v: number) => { async: boolean; value: Promise<string> | string } }).waitAsync;
  const asked = waitAsync(control, CONTROL_STOP, 0);
  if (asked.async) void (asked.value as Promise<string>).then(() => stop.abort());
  else stop.abort();
  // Wake every WAKE_RECORDS commits (or 100 ms): writers pay a futex wake per wakeup, so fewer is cheaper.
  await pipe.run({ signal: stop.signal, flushMs: data.flushMs, wakeRecords: WAKE_RECORDS });
} catch (e) {
  done = DONE_FAILED;
  process.stderr.write(`urb record: the recording stopped: ${e instanceof Error ? e.message : String(e)}\n`);
} finally {
  try {
    closeSync(data.fd);
  } catch {
    // already closed
  }
  // Publish that the file is complete; pairs with the Atomics.wait loop in preload.ts#stopRecording().
  Atomics.store(control, CONTROL_DONE, done);
  // Wake the main thread's Atomics.wait on CONTROL_DONE (it re-reads the word: orders nothing itself).
  Atomics.notify(control, CONTROL_DONE);
}

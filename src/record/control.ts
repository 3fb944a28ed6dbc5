/**
 * The words the recorded program's main thread and its pipe thread share to stop the recording:
 * main asks to stop (STOP) and waits, blocking, for the pipe thread to say the file is complete
 * (DONE) — blocking, because a process 'exit' handler cannot wait for anything asynchronous.
 */

/** Int32 index: 1 once main asked the pipe thread to flush and close. */
export const CONTROL_STOP = 0;
/** Int32 index: 1 once the file is flushed and closed (2: closed after an error). */
export const CONTROL_DONE = 1;
export const CONTROL_WORDS = 2;

export const DONE_OK = 1;
export const DONE_FAILED = 2;

/** What the pipe thread receives as workerData. */
export interface PipeWorkerData {
  readonly buffer: SharedArrayBuffer;
  readonly control: SharedArrayBuffer;
  /** The claimed output file, open for writing (file descriptors are per process, so the thread can use it). */
  readonly fd: number;
  readonly flushMs: number;
}

/**
 * The preload of `urb record` (`node --import`, passed in NODE_OPTIONS so that it reaches a Node
 * program however it is started: `node app.js`, `npm start`, a shell script). In the one process
 * that claims the output file it runs before the program's code and:
 *
 * 1. creates the ring (createRing) and shares it: `globalThis` and `recordingRing()` in this thread,
 *    `worker_threads` environment data for the program's workers (they attach on first use);
 * 2. starts the pipe thread (pipe-worker.ts), which streams pages to the file as they fill;
 * 3. on process exit, and on SIGINT/SIGTERM/SIGHUP when the program has no handler of its own,
 *    stops the pipe thread and waits (blocking, at most {@link STOP_WAIT_MS}) until the file is
 *    flushed and closed; a signal is then raised again so the program dies of it as it would have.
 *
 * Which process records: not package managers (npm, npx, yarn, pnpm, corepack: they only start the
 * program), and only the first to create the output file (O_CREAT|O_EXCL): a Node child of the
 * program finds it taken and does not record (several processes would share a ring in a file,
 * createFileRing; not used here yet). Failing to record never stops the program: one line on stderr, and it runs unrecorded.
 */
import { closeSync, openSync } from "node:fs";
import { basename } from "node:path";
import { Worker, isMainThread, setEnvironmentData } from "node:worker_threads";
import { createRing } from "../ring.js";
import { type RecordConfig, RECORD_ENV_DATA_KEY, RECORD_GLOBAL, readRecordConfig, ringOptions } from "./config.js";
import { CONTROL_DONE, CONTROL_STOP, CONTROL_WORDS, DONE_FAILED, type PipeWorkerData } from "./control.js";
import type { RecordingSlot } from "./index.js";
import { enableDefaultInstrumentation } from "./instrument-hook.js";

/** How long exit waits for the pipe thread to finish the file. */
export const STOP_WAIT_MS = 5000;

const PACKAGE_MANAGERS = /^(npm|npx|npm-cli\.js|npx-cli\.js|yarn|yarn\.js|yarn\.cjs|yarnpkg|pnpm|pnpm\.cjs|pnpx|corepack|corepack\.js)$/;

/** Is `script` (process.argv[1]) a package manager's own entry point? */
export function isPackageManager(script: string | undefined): boolean {
  return script !== undefined && PACKAGE_MANAGERS.test(basename(script));
}

function warn(message: string): void {
  process.stderr.write(`urb record: ${message}\n`);
}

function startRecording(config: RecordConfig): void {
  let fd: number;
  try {
    fd = openSync(config.out, "wx", 0o600);
  } catch (e) {
    // EEXIST: another process of the command records (this one is its child, or a sibling).
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") warn(`cannot create ${config.out} (${(e as NodeJS.ErrnoException).code ?? String(e)}); running without recording`);
    return;
  }
  let control: Int32Array;
  let instrumentation: { close(): void } | undefined;
  try {
    const ring = createRing(ringOptions(config));
    control = new Int32Array(new SharedArrayBuffer(CONTROL_WORDS * 4));
    const data: PipeWorkerData = { buffer: ring.buffer, control: control.buffer as SharedArrayBuffer, fd, flushMs: config.flushMs };
    const worker = new Worker(new URL("./pipe-worker.js", import.meta.url), { workerData: data });
    // The program's lifetime is its own: the pipe thread never keeps it alive.
    worker.unref();
    const ctl = control;
    worker.on("error", (e) => {
      warn(`the pipe thread failed: ${e.message}`);
      // Nobody will finish the file: do not make exit wait for it (pairs with the loads in stopRecording()).
      Atomics.store(ctl, CONTROL_DONE, DONE_FAILED);
    });
    setEnvironmentData(RECORD_ENV_DATA_KEY, ring.buffer);
    const slot: RecordingSlot = { buffer: ring.buffer, ring };
    (globalThis as { [RECORD_GLOBAL]?: RecordingSlot })[RECORD_GLOBAL] = slot;
    instrumentation = enableDefaultInstrumentation(ring, config);
  } catch (e) {
    closeSync(fd);
    warn(`cannot start recording (${e instanceof Error ? e.message : String(e)}); running without recording`);
    return;
  }

  let stopped = false;
  const stopRecording = (): void => {
    if (stopped) return;
    stopped = true;
    // The instrumentation's last words (the partial event-loop interval) go in before the last flush.
    instrumentation?.close();
    // Ask the pipe thread to flush and close; pairs with its Atomics.waitAsync on CONTROL_STOP.
    Atomics.store(control, CONTROL_STOP, 1);
    // Wake the pipe thread's waitAsync on CONTROL_STOP (it re-reads the word: orders nothing itself).
    Atomics.notify(control, CONTROL_STOP);
    const deadline = performance.now() + STOP_WAIT_MS;
    // Wait for the file to be complete; pairs with the Atomics.store of CONTROL_DONE in pipe-worker.ts.
    while (Atomics.load(control, CONTROL_DONE) === 0) {
      const left = deadline - performance.now();
      if (left <= 0) {
        warn(`the trace file was not finished within ${STOP_WAIT_MS} ms; it is readable up to its last whole chunk`);
        return;
      }
      // Sleep while CONTROL_DONE is 0; woken by the pipe thread's Atomics.notify after its store.
      Atomics.wait(control, CONTROL_DONE, 0, Math.min(left, 100));
    }
  };
  process.on("exit", stopRecording);
  // Stay the last 'exit' listener, so that the program's own exit handlers (a last "shutdown"
  // event) still reach the file: when the program adds one, move ours after it (in a microtask:
  // 'newListener' runs before the listener is added).
  let moving = false;
  const moveLast = (): void => {
    moving = true;
    process.off("exit", stopRecording);
    process.on("exit", stopRecording);
    moving = false;
  };
  process.on("newListener", (event) => {
    if (event === "exit" && !moving) queueMicrotask(moveLast);
  });
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    const onSignal = (): void => {
      // The program handles this signal itself: it decides whether to exit; 'exit' finishes the file.
      if (process.listenerCount(signal) > 1) return;
      stopRecording();
      // Die of the signal, as without us: remove our handler (the default action returns) and raise it.
      process.off(signal, onSignal);
      process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}

if (isMainThread && !isPackageManager(process.argv[1])) {
  let config: RecordConfig | undefined;
  try {
    config = readRecordConfig(process.env);
  } catch (e) {
    warn(`ignoring a malformed recording request (${e instanceof Error ? e.message : String(e)})`);
  }
  if (config !== undefined) startRecording(config);
}

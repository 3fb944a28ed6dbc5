/**
 * The preload of `urb record` (`node --import`, passed in NODE_OPTIONS, so that it reaches every
 * Node.js process of the command however it is started: `node app.js`, `npm start`, a shell
 * script, cluster workers, `child_process.fork`/`spawn` of node). In each such process, before
 * the program's code runs, it:
 *
 * 1. maps the file ring that urb created (openFileRing: its writers are tagged with this pid, so
 *    urb can tell when this process is gone and reclaim what it left open);
 * 2. shares it with `recordingRing()` in this thread (worker threads map it on first use);
 * 3. names the process in the ring's metadata ("node server.js", "node server.js (cluster
 *    worker 1)": a process entry, not a record, so the program's record counts stay its own);
 * 4. records Node's own events with `instrument()` (unless --no-instrument);
 * 5. at exit, closes that instrumentation (its last event-loop interval goes in), staying the
 *    last 'exit' listener so the program's own exit handlers are recorded too.
 *
 * Node runs it in every worker thread started from a file as well (not in `eval` workers): there
 * it does 1, 2, 4 and 5 for the thread (its GC pauses, event-loop delay, requests, on its own
 * lane), and with --no-instrument nothing (the thread maps the ring if it writes).
 *
 * There is nothing to flush and nothing to wait for: urb drains the ring from outside, so a
 * process that throws, exits or is killed loses nothing it committed. Package managers (npm,
 * npx, yarn, pnpm, corepack) only start the program and are not recorded. Failing to record never
 * stops the program: one line on stderr names the process, and it runs unrecorded.
 */
import { isMainThread, threadId } from "node:worker_threads";
import { openFileRing } from "../node/file-ring.js";
import type { RingBuffer } from "../ring.js";
import { eventRegistry } from "../schema/registry.js";
import { type RecordConfig, RECORD_GLOBAL, readRecordConfig } from "./config.js";
import type { RecordingSlot } from "./index.js";
import { enableDefaultInstrumentation } from "./instrument-hook.js";
import { isPackageManager } from "./package-managers.js";
import { processName } from "./process-name.js";

/** How urb and this process name a process on stderr. */
function thisProcess(): string {
  return `pid ${process.pid} (${processName()})`;
}

function warn(message: string): void {
  process.stderr.write(`urb record: ${message}\n`);
}

/** Name this process in the ring; a full metadata area costs the name only (rows say "pid N"), never the recording. */
function nameThisProcess(ring: RingBuffer): void {
  try {
    eventRegistry(ring).nameProcess(process.pid, processName());
  } catch (e) {
    warn(`${thisProcess()} is recorded unnamed: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function startRecording(config: RecordConfig): void {
  // A worker thread without instrumentation maps the ring only if it writes (recordingRing()).
  if (!isMainThread && !config.instrument) return;
  let instrumentation: { close(): void } | undefined;
  try {
    const ring = openFileRing(config.ring);
    const slot: RecordingSlot = { buffer: ring.buffer, ring };
    (globalThis as { [RECORD_GLOBAL]?: RecordingSlot })[RECORD_GLOBAL] = slot;
    if (isMainThread) nameThisProcess(ring);
    instrumentation = enableDefaultInstrumentation(ring, config);
  } catch (e) {
    warn(`not recording ${isMainThread ? "" : `worker thread ${threadId} of `}${thisProcess()}: ${e instanceof Error ? e.message : String(e)}`);
    return;
  }
  const inst = instrumentation;
  if (inst === undefined) return;
  const stop = (): void => inst.close();
  process.on("exit", stop);
  // Stay the last 'exit' listener, so that events of the program's own exit handlers (a last
  // request logged, a "shutdown" span) still go through the instrumentation: when the program adds
  // one, move ours after it (in a microtask: 'newListener' runs before the listener is added).
  let moving = false;
  const moveLast = (): void => {
    moving = true;
    process.off("exit", stop);
    process.on("exit", stop);
    moving = false;
  };
  process.on("newListener", (event) => {
    if (event === "exit" && !moving) queueMicrotask(moveLast);
  });
}

if (!isPackageManager(process.argv[1])) {
  let config: RecordConfig | undefined;
  try {
    config = readRecordConfig(process.env);
  } catch (e) {
    // Said once, by the main thread.
    if (isMainThread) warn(`not recording ${thisProcess()}: malformed recording request (${e instanceof Error ? e.message : String(e)})`);
  }
  if (config !== undefined) startRecording(config);
}

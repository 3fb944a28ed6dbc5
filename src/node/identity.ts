/**
 * The Node.js identity of a thread for the ring's IDENTITY records: `process.pid`,
 * `worker_threads.threadId` (0 on the main thread) and a name. Importing any of
 * `unified-ring-buffer/node` installs it as the core's identity provider, in each thread that
 * imports it (module instances are per thread).
 *
 * Names: "main" for the main thread; for a worker, what {@link setThreadName} set, else its `name`
 * option (Node 22.20 and 24.6 on read it as `worker_threads.threadName`), else the base name of its
 * script ("resize.js"), else "worker N" (N its threadId: an `eval` or `data:` worker on Node 20).
 */
import { basename } from "node:path";
import * as workerThreads from "node:worker_threads";
import { setIdentityProvider, type ThreadIdentity } from "../identity.js";

const { isMainThread, threadId } = workerThreads;

/** Node's name of a worker that was given none (Node 22.20+ and 24.6+). */
const UNNAMED_WORKER = "WorkerThread";

/** A worker thread's name: its `name` option, else its script's base name, else "worker N". */
function workerName(): string {
  // Not a named import: Node 20 has no threadName, and an ESM named import of it would not link.
  const given = (workerThreads as { threadName?: unknown }).threadName;
  if (typeof given === "string" && given !== "" && given !== UNNAMED_WORKER) return given;
  const script = process.argv[1]; // a worker's argv[1] is its script (Node sets it; "[worker eval]" for eval)
  if (script !== undefined && script !== "" && !script.startsWith("[")) return basename(script);
  return `worker ${threadId}`;
}

let name = isMainThread ? "main" : workerName();

/**
 * Name the calling thread in the records of writers it creates from now on (at most 40 UTF-8
 * bytes reach the ring).
 *
 * @example
 * ```ts
 * import { setThreadName } from "unified-ring-buffer/node";
 * setThreadName("resizer"); // in a worker: its rows are called "resizer"
 * ```
 */
export function setThreadName(threadName: string): void {
  if (typeof threadName !== "string") throw new TypeError(`Cannot set the thread name: expected a string, received ${typeof threadName}`);
  name = threadName;
}

/** This thread's identity as the ring records it. */
export function nodeIdentity(): ThreadIdentity {
  return { pid: process.pid, threadId, name };
}

setIdentityProvider(nodeIdentity);

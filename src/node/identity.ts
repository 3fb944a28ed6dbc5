/**
 * The Node.js identity of a thread for the ring's IDENTITY records: `process.pid`,
 * `worker_threads.threadId` (0 on the main thread) and a name. Importing any of
 * `unified-ring-buffer/node` installs it as the core's identity provider, in each thread that
 * imports it (module instances are per thread).
 *
 * Names: "main" for the main thread; for a worker, what {@link setThreadName} set, else
 * "worker N" (N its threadId): Node 20 gives a worker no way to read its own `name` option or
 * entry script, so a worker that wants its name in the trace says it.
 */
import { isMainThread, threadId } from "node:worker_threads";
import { setIdentityProvider, type ThreadIdentity } from "../identity.js";

let name = isMainThread ? "main" : `worker ${threadId}`;

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

/**
 * Worker threads, through the `worker_threads` channel (published by `new Worker()`): one event when
 * the worker is online (its start-up time) and one when it exits (its lifetime and exit code). Only
 * `online` and `exit` listeners are added: never `error`, which would swallow the worker's errors.
 */
import type { Worker } from "node:worker_threads";
import { defineEvent } from "../schema/index.js";
import { NODE_EVENTS, WORKER_EXIT_FIELDS, WORKER_ONLINE_FIELDS } from "./events.js";
import type { Sink } from "./sink.js";
import { subscribeAll } from "./channels.js";

/** Subscribe; returns the unsubscribe function. */
export function subscribeWorkers(sink: Sink): () => void {
  const online = defineEvent(sink.ring, NODE_EVENTS.workerOnline, WORKER_ONLINE_FIELDS);
  const exit = defineEvent(sink.ring, NODE_EVENTS.workerExit, WORKER_EXIT_FIELDS);
  const w = sink.writer;
  return subscribeAll([
    [
      "worker_threads",
      sink.guard((m: { worker: Worker }) => {
        const worker = m.worker;
        const start = sink.now();
        const threadId = worker.threadId;
        worker.once(
          "online",
          sink.guard(() => {
            const end = sink.now();
            online.writeArgs(w, start, end - start, threadId);
          }),
        );
        worker.once(
          "exit",
          sink.guard((code: unknown) => {
            const end = sink.now();
            exit.writeArgs(w, start, end - start, threadId, Number(code) | 0);
          }),
        );
      }),
    ],
  ]);
}

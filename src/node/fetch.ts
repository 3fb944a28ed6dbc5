/**
 * `fetch` (undici, bundled in Node) through its diagnostics channels: `undici:request:create`,
 * `:headers`, `:trailers` (the body has been received: the end) and `:error`. One event per request,
 * written at its end. A request whose body is never consumed has no end and writes nothing.
 * Start and head times and the status are stored on undici's request object under private symbols
 * (http.ts keeps its start times in a WeakMap since stamping Node's ServerResponse made Node's own
 * HTTP code polymorphic; undici's request object is internal to undici and this has not been
 * measured for it), and each handler has its own try/catch.
 */
import { defineEvent } from "../schema/index.js";
import { FETCH_FIELDS, NODE_EVENTS } from "./events.js";
import { type Sink, errorText, str } from "./sink.js";
import { subscribeAll } from "./channels.js";

/** The fields of undici's internal request object that are read (stable across Node 18..22). */
interface UndiciRequest {
  readonly origin?: unknown;
  readonly method?: unknown;
  readonly path?: unknown;
}

const kStart = Symbol("urb.fetch.start");
const kHeaders = Symbol("urb.fetch.headers");
const kStatus = Symbol("urb.fetch.status");
/** Ring times of the start and of the response head (-1: none yet), and the status, on undici's request. */
type Stamped = UndiciRequest & { [kStart]?: number; [kHeaders]?: number; [kStatus]?: number };

/** Subscribe; returns the unsubscribe function. */
export function subscribeFetch(sink: Sink): () => void {
  const ev = defineEvent(sink.ring, NODE_EVENTS.fetch, FETCH_FIELDS);

  const finish = (req: Stamped, error: string): void => {
    const start = req[kStart];
    if (start === undefined) return; // created before we subscribed
    const end = sink.now();
    const head = req[kHeaders] ?? -1;
    ev.writeArgs(sink.writer, start, end - start, head < 0 ? -1 : head - start, req[kStatus] ?? 0, str(req.method), str(req.origin), str(req.path), error);
  };
  return subscribeAll([
    [
      "undici:request:create",
      (m: { request: Stamped }): void => {
        if (sink.closed) return;
        try {
          const req = m.request;
          req[kStart] = sink.now();
          req[kHeaders] = -1;
          req[kStatus] = 0;
        } catch (e) {
          sink.fail(e);
        }
      },
    ],
    [
      "undici:request:headers",
      (m: { request: Stamped; response: { statusCode?: unknown } }): void => {
        if (sink.closed) return;
        try {
          const req = m.request;
          if (req[kStart] === undefined) return; // created before we subscribed
          req[kHeaders] = sink.now();
          req[kStatus] = Number(m.response.statusCode) | 0;
        } catch (e) {
          sink.fail(e);
        }
      },
    ],
    [
      "undici:request:trailers",
      (m: { request: Stamped }): void => {
        if (sink.closed) return;
        try {
          finish(m.request, "");
        } catch (e) {
          sink.fail(e);
        }
      },
    ],
    [
      "undici:request:error",
      (m: { request: Stamped; error: unknown }): void => {
        if (sink.closed) return;
        try {
          finish(m.request, errorText(m.error) || "error");
        } catch (e) {
          sink.fail(e);
        }
      },
    ],
  ]);
}

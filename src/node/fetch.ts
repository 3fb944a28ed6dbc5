/**
 * `fetch` (undici, bundled in Node) through its diagnostics channels: `undici:request:create`,
 * `:headers`, `:trailers` (the body has been received: the end) and `:error`. One event per request,
 * written at its end. A request whose body is never consumed has no end and writes nothing.
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

/** Per in-flight request: start and response-head times (ring ns) and the status. */
interface FetchState {
  start: number;
  headers: number;
  status: number;
}

/** Subscribe; returns the unsubscribe function. */
export function subscribeFetch(sink: Sink): () => void {
  const ev = defineEvent(sink.ring, NODE_EVENTS.fetch, FETCH_FIELDS);
  const w = sink.writer;
  const inFlight = new WeakMap<object, FetchState>();

  const finish = (req: UndiciRequest, error: string): void => {
    const end = sink.now();
    const s = inFlight.get(req);
    inFlight.delete(req);
    const start = s?.start ?? end;
    const headers = s === undefined || s.headers < 0 ? -1 : s.headers - start;
    ev.writeArgs(w, start, end - start, headers, s?.status ?? 0, str(req.method), str(req.origin), str(req.path), error);
  };
  return subscribeAll([
    [
      "undici:request:create",
      sink.guard((m: { request: UndiciRequest }) => {
        inFlight.set(m.request, { start: sink.now(), headers: -1, status: 0 });
      }),
    ],
    [
      "undici:request:headers",
      sink.guard((m: { request: UndiciRequest; response: { statusCode?: unknown } }) => {
        const s = inFlight.get(m.request);
        if (s === undefined) return;
        s.headers = sink.now();
        s.status = Number(m.response.statusCode) | 0;
      }),
    ],
    ["undici:request:trailers", sink.guard((m: { request: UndiciRequest }) => finish(m.request, ""))],
    ["undici:request:error", sink.guard((m: { request: UndiciRequest; error: unknown }) => finish(m.request, errorText(m.error) || "error"))],
  ]);
}

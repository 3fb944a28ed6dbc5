/**
 * `node:http` through Node's diagnostics channels (Node 20: `http.server.request.start`,
 * `http.server.response.finish`, `http.client.request.start`, `http.client.response.finish`,
 * `http.client.request.error`).
 *
 * Per request, the start time is kept in a WeakMap keyed by Node's own object (the ServerResponse,
 * the ClientRequest). It used to be a property under a private symbol, which is cheaper in
 * isolation, but adding a property to Node's objects after their construction changes their
 * hidden class: the HTTP code of Node that runs after the stamp (setHeader, writeHead, end, ...)
 * then sees two shapes of the same object and its inline caches go polymorphic. Measured with
 * `urb record` of a cluster of 2 HTTP workers (the record_tree scenario), app CPU per request
 * relative to the load generator's, 6 alternating pairs: 1.30 with the symbol, 1.20 with the
 * WeakMap (1.07 uninstrumented). Entries are deleted at the end (docs/INTEGRATIONS.md: a WeakMap
 * that only grows until a GC costs every scavenge). The handlers run once or twice per request, so each has its own
 * try/catch rather than the shared Sink.guard wrapper (see sink.ts).
 */
import type { ClientRequest, IncomingMessage, ServerResponse } from "node:http";
import { defineEvent } from "../schema/index.js";
import { HTTP_CLIENT_FIELDS, HTTP_SERVER_FIELDS, NODE_EVENTS } from "./events.js";
import { type Sink, errorText, str } from "./sink.js";
import { subscribeAll } from "./channels.js";

/** Subscribe; returns the unsubscribe function. */
export function subscribeHttp(sink: Sink): () => void {
  const server = defineEvent(sink.ring, NODE_EVENTS.httpServer, HTTP_SERVER_FIELDS);
  const client = defineEvent(sink.ring, NODE_EVENTS.httpClient, HTTP_CLIENT_FIELDS);
  /** Ring time of each request's start, by the object that carries the request. */
  const started = new WeakMap<object, number>();

  const onServerStart = (m: { response: ServerResponse }): void => {
    if (sink.closed) return;
    try {
      started.set(m.response, sink.now());
    } catch (e) {
      sink.fail(e);
    }
  };
  const onServerFinish = (m: { request: IncomingMessage; response: ServerResponse }): void => {
    if (sink.closed) return;
    try {
      const start = started.get(m.response);
      if (start === undefined) return; // started before we subscribed
      started.delete(m.response); // a table that stays small: less for every scavenge to walk (INTEGRATIONS.md)
      const end = sink.now();
      server.writeArgs(sink.writer, start, end - start, m.response.statusCode, str(m.request.method), str(m.request.url));
    } catch (e) {
      sink.fail(e);
    }
  };
  const onClientStart = (m: { request: ClientRequest }): void => {
    if (sink.closed) return;
    try {
      started.set(m.request, sink.now());
    } catch (e) {
      sink.fail(e);
    }
  };
  const onClientEnd = (req: ClientRequest, status: number, error: string): void => {
    const start = started.get(req);
    if (start === undefined) return; // started before we subscribed
    started.delete(req);
    const end = sink.now();
    client.writeArgs(sink.writer, start, end - start, status, str(req.method), str(req.host), str(req.path), error);
  };
  const onClientResponse = (m: { request: ClientRequest; response: IncomingMessage }): void => {
    if (sink.closed) return;
    try {
      onClientEnd(m.request, m.response.statusCode ?? 0, "");
    } catch (e) {
      sink.fail(e);
    }
  };
  const onClientError = (m: { request: ClientRequest; error: unknown }): void => {
    if (sink.closed) return;
    try {
      onClientEnd(m.request, 0, errorText(m.error));
    } catch (e) {
      sink.fail(e);
    }
  };

  return subscribeAll([
    ["http.server.request.start", onServerStart],
    ["http.server.response.finish", onServerFinish],
    ["http.client.request.start", onClientStart],
    ["http.client.response.finish", onClientResponse],
    ["http.client.request.error", onClientError],
  ]);
}

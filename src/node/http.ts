/**
 * `node:http` through Node's diagnostics channels (Node 20: `http.server.request.start`,
 * `http.server.response.finish`, `http.client.request.start`, `http.client.response.finish`,
 * `http.client.request.error`).
 *
 * Per request, the start time is stored on Node's own object (the ServerResponse, the
 * ClientRequest) under a private symbol: one property store and one load. A WeakMap costs several
 * times more per request (an identity hash, a table insert, and ephemeron work in every scavenge),
 * which showed in the profile of http_instrumented_rps. The handlers run once or twice per request,
 * so each has its own try/catch rather than the shared Sink.guard wrapper (see sink.ts).
 */
import type { ClientRequest, IncomingMessage, ServerResponse } from "node:http";
import { defineEvent } from "../schema/index.js";
import { HTTP_CLIENT_FIELDS, HTTP_SERVER_FIELDS, NODE_EVENTS } from "./events.js";
import { type Sink, errorText, str } from "./sink.js";
import { subscribeAll } from "./channels.js";

/** Ring time of the request's start, on the object that carries it. */
const kStart = Symbol("urb.http.start");
type Stamped = { [kStart]?: number };

/** Subscribe; returns the unsubscribe function. */
export function subscribeHttp(sink: Sink): () => void {
  const server = defineEvent(sink.ring, NODE_EVENTS.httpServer, HTTP_SERVER_FIELDS);
  const client = defineEvent(sink.ring, NODE_EVENTS.httpClient, HTTP_CLIENT_FIELDS);

  const onServerStart = (m: { response: ServerResponse }): void => {
    if (sink.closed) return;
    try {
      (m.response as Stamped)[kStart] = sink.now();
    } catch (e) {
      sink.fail(e);
    }
  };
  const onServerFinish = (m: { request: IncomingMessage; response: ServerResponse }): void => {
    if (sink.closed) return;
    try {
      const start = (m.response as Stamped)[kStart];
      if (start === undefined) return; // started before we subscribed
      const end = sink.now();
      server.writeArgs(sink.writer, start, end - start, m.response.statusCode, str(m.request.method), str(m.request.url));
    } catch (e) {
      sink.fail(e);
    }
  };
  const onClientStart = (m: { request: ClientRequest }): void => {
    if (sink.closed) return;
    try {
      (m.request as Stamped)[kStart] = sink.now();
    } catch (e) {
      sink.fail(e);
    }
  };
  const onClientEnd = (req: ClientRequest, status: number, error: string): void => {
    const start = (req as Stamped)[kStart];
    if (start === undefined) return; // started before we subscribed
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

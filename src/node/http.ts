/**
 * `node:http` through Node's diagnostics channels (Node 20: `http.server.request.start`,
 * `http.server.response.finish`, `http.client.request.start`, `http.client.response.finish`,
 * `http.client.request.error`). Start times wait in WeakMaps keyed by Node's own objects, so an
 * abandoned request leaves nothing behind.
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
  const w = sink.writer;
  const serverStarts = new WeakMap<object, number>();
  const clientStarts = new WeakMap<object, number>();

  const onServerStart = sink.guard((m: { response: ServerResponse }) => {
    serverStarts.set(m.response, sink.now());
  });
  const onServerFinish = sink.guard((m: { request: IncomingMessage; response: ServerResponse }) => {
    const end = sink.now();
    const start = serverStarts.get(m.response) ?? end;
    server.writeArgs(w, start, end - start, m.response.statusCode, str(m.request.method), str(m.request.url));
  });
  const onClientStart = sink.guard((m: { request: ClientRequest }) => {
    clientStarts.set(m.request, sink.now());
  });
  const onClientResponse = sink.guard((m: { request: ClientRequest; response: IncomingMessage }) => {
    const end = sink.now();
    const req = m.request;
    const start = clientStarts.get(req) ?? end;
    clientStarts.delete(req);
    client.writeArgs(w, start, end - start, m.response.statusCode ?? 0, str(req.method), str(req.host), str(req.path), "");
  });
  const onClientError = sink.guard((m: { request: ClientRequest; error: unknown }) => {
    const end = sink.now();
    const req = m.request;
    const start = clientStarts.get(req) ?? end;
    clientStarts.delete(req);
    client.writeArgs(w, start, end - start, 0, str(req.method), str(req.host), str(req.path), errorText(m.error));
  });

  return subscribeAll([
    ["http.server.request.start", onServerStart],
    ["http.server.response.finish", onServerFinish],
    ["http.client.request.start", onClientStart],
    ["http.client.response.finish", onClientResponse],
    ["http.client.request.error", onClientError],
  ]);
}

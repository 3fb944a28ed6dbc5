/**
 * TCP connections and host name lookups. Node 20 publishes `net.client.socket` when `net.connect()`
 * creates a socket (http and fetch connect through it) and `net.server.socket` when a server accepts
 * one. It has no DNS channel, so lookups are taken from the connecting socket's own `lookup` event
 * (emitted when it resolved a host name; not for IP addresses): that covers the lookups that http,
 * fetch and net do, not direct `dns.*` calls.
 *
 * Only `connect`, `close` and `lookup` listeners are added to a socket: never an `error` listener,
 * which would change what an unhandled socket error does.
 */
import type { Socket } from "node:net";
import { defineEvent } from "../schema/index.js";
import { DNS_LOOKUP_FIELDS, NET_ACCEPT_FIELDS, NET_CONNECT_FIELDS, NODE_EVENTS } from "./events.js";
import { type Sink, errorText, str } from "./sink.js";
import { subscribeAll, type Subscription } from "./channels.js";

/** A connect error carries the address it tried (libuv errno exceptions do). */
interface ConnectError {
  readonly address?: unknown;
  readonly port?: unknown;
}

/** Subscribe; returns the unsubscribe function. */
export function subscribeNet(sink: Sink, connections: boolean, lookups: boolean): () => void {
  const connect = connections ? defineEvent(sink.ring, NODE_EVENTS.netConnect, NET_CONNECT_FIELDS) : undefined;
  const accept = connections ? defineEvent(sink.ring, NODE_EVENTS.netAccept, NET_ACCEPT_FIELDS) : undefined;
  const lookup = lookups ? defineEvent(sink.ring, NODE_EVENTS.dnsLookup, DNS_LOOKUP_FIELDS) : undefined;

  const onClientSocket = sink.guard((m: { socket: Socket }) => {
    const socket = m.socket;
    const start = sink.now();
    if (lookup !== undefined) {
      socket.once(
        "lookup",
        sink.guard((err: unknown, address: unknown, family: unknown, host: unknown) => {
          const end = sink.now();
          lookup.writeArgs(sink.writer, start, end - start, Number(family) | 0, str(host), str(address), errorText(err));
        }),
      );
    }
    if (connect === undefined) return;
    const host = () => str((socket as unknown as { _host?: unknown })._host); // set by connect() when it looked a name up
    const onConnect = sink.guard(() => {
      socket.removeListener("close", onClose);
      const end = sink.now();
      connect.writeArgs(sink.writer, start, end - start, socket.remotePort ?? 0, host(), str(socket.remoteAddress), "");
    });
    const onClose = sink.guard(() => {
      socket.removeListener("connect", onConnect);
      const end = sink.now();
      const err = (socket as { errored?: unknown }).errored as ConnectError | null | undefined;
      const port = Number(err?.port) | 0;
      connect.writeArgs(sink.writer, start, end - start, port, host(), str(err?.address), errorText(err) || "closed before connecting");
    });
    socket.once("connect", onConnect);
    socket.once("close", onClose);
  });
  const subs: Subscription[] = [["net.client.socket", onClientSocket]];
  if (accept !== undefined) {
    subs.push([
      "net.server.socket",
      sink.guard((m: { socket: Socket }) => {
        const s = m.socket;
        accept.writeArgs(sink.writer, s.localPort ?? 0, s.remotePort ?? 0, str(s.remoteAddress));
      }),
    ]);
  }
  return subscribeAll(subs);
}

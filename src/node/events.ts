/**
 * The typed events that {@link instrument} writes: one schema per Node subsystem, registered in the
 * ring's metadata area under the names below so that any thread, process or tool decodes them
 * (`eventRegistry(ring).decode(record)`).
 *
 * Convention (shared with the OpenTelemetry span event): an interval is ONE event, written when it
 * ends, whose first two fields are `startNs` (ring time of its start, ns since ring creation on
 * the ring's `mono` clock) and `durationNs`. The record's own timestamp is the moment it was written
 * (the end, or a little later for GC entries, which Node delivers in batches). A Chrome-trace
 * exporter turns such an event into one complete event (`"ph": "X"`, `ts = startNs / 1000`,
 * `dur = durationNs / 1000`) without matching begin/end pairs, which concurrent requests on one
 * thread would not nest properly anyway. Events without those two fields are instants at the
 * record timestamp.
 */
import { t, type FieldsSpec } from "../schema/index.js";

/** GC kinds as Node reports them in `PerformanceEntry.detail.kind` (NODE_PERFORMANCE_GC_*), by enum index. */
export const GC_KINDS = ["unknown", "minor", "major", "incremental", "weakcb"] as const;

const interval = { startNs: t.f64, durationNs: t.f64 } as const;

/** An HTTP request served by this thread: from the parsed request head to the response's `finish`. */
export const HTTP_SERVER_FIELDS = { ...interval, status: t.u16, method: t.string(16), url: t.string(256) } as const satisfies FieldsSpec;
/**
 * An HTTP request made with `node:http`: from the request's creation to the response head (the
 * point Node publishes; the body may still be arriving). `status` is 0 and `error` set when it failed.
 */
export const HTTP_CLIENT_FIELDS = {
  ...interval,
  status: t.u16,
  method: t.string(16),
  host: t.string(128),
  path: t.string(256),
  error: t.string(128),
} as const satisfies FieldsSpec;
/**
 * A request made with `fetch` (undici): from its creation to the end of the response body
 * (trailers) or the error; `headersNs` is the time from the start to the response head (-1 if none).
 */
export const FETCH_FIELDS = {
  ...interval,
  headersNs: t.f64,
  status: t.u16,
  method: t.string(16),
  origin: t.string(128),
  path: t.string(256),
  error: t.string(128),
} as const satisfies FieldsSpec;
/** An outgoing TCP connection (`net.connect`, used by http and fetch): socket creation to `connect` or failure (lookup included). */
export const NET_CONNECT_FIELDS = { ...interval, port: t.u16, host: t.string(128), address: t.string(64), error: t.string(128) } as const satisfies FieldsSpec;
/** An accepted TCP connection (instant). */
export const NET_ACCEPT_FIELDS = { localPort: t.u16, remotePort: t.u16, remoteAddress: t.string(64) } as const satisfies FieldsSpec;
/** A host name lookup done by a connecting socket: socket creation to its `lookup` event. */
export const DNS_LOOKUP_FIELDS = { ...interval, family: t.u8, host: t.string(128), address: t.string(64), error: t.string(128) } as const satisfies FieldsSpec;
/** A worker thread started: `new Worker()` to its `online` event. */
export const WORKER_ONLINE_FIELDS = { ...interval, threadId: t.i32 } as const satisfies FieldsSpec;
/** A worker thread ended: `new Worker()` to its `exit` event (its lifetime). */
export const WORKER_EXIT_FIELDS = { ...interval, threadId: t.i32, exitCode: t.i32 } as const satisfies FieldsSpec;
/** A garbage collection pause of this thread's heap. */
export const GC_FIELDS = { ...interval, kind: t.enum(GC_KINDS), flags: t.u32 } as const satisfies FieldsSpec;
/**
 * Event-loop delay over one sampling interval: how late the loop ran a timer of period
 * `resolutionMs` (beyond that period), in ns; `samples` is how many delays were measured (see
 * event-loop.ts). An interval without samples writes nothing.
 */
export const EVENT_LOOP_FIELDS = {
  ...interval,
  minNs: t.f64,
  meanNs: t.f64,
  p50Ns: t.f64,
  p99Ns: t.f64,
  maxNs: t.f64,
  samples: t.u32,
} as const satisfies FieldsSpec;

/** Event names (as registered in the ring) of the Node integration. */
export const NODE_EVENTS = {
  httpServer: "node.http.server",
  httpClient: "node.http.client",
  fetch: "node.fetch",
  netConnect: "node.net.connect",
  netAccept: "node.net.accept",
  dnsLookup: "node.dns.lookup",
  workerOnline: "node.worker.online",
  workerExit: "node.worker.exit",
  gc: "node.gc",
  eventLoop: "node.event_loop",
} as const;

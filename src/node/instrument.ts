/**
 * `instrument(ring, options)`: one call that records Node's own subsystems (HTTP, fetch, TCP, DNS,
 * worker threads, GC, event-loop delay) into a ring as typed events (see events.ts for the schemas
 * and the interval convention). Per thread: diagnostics channels, GC observers and the event loop
 * belong to the thread that subscribes, so a worker calls `instrument(attachRing(buffer))` itself.
 */
import type { RingBuffer } from "../ring.js";
import type { RingWriter } from "../writer.js";
import { Sink } from "./sink.js";
import "./identity.js"; // the instrumented thread's records say which process and thread wrote them
import { subscribeHttp } from "./http.js";
import { subscribeFetch } from "./fetch.js";
import { subscribeNet } from "./net.js";
import { subscribeWorkers } from "./workers.js";
import { observeGc } from "./gc.js";
import { type EventLoopOptions, sampleEventLoop } from "./event-loop.js";
import { checkOptions, optionKeys } from "../options.js";
import { H_EPOCH_MONO_HI, H_EPOCH_MONO_LO, H_EPOCH_WALL_MS, H_TOTAL_BYTES } from "../layout.js";

/** What to record. Name none of the subsystems to record all of them; name some to record only those set to true. */
export interface InstrumentOptions {
  /** `node:http` server requests and client requests (`node.http.server`, `node.http.client`). */
  http?: boolean;
  /** `fetch` requests (`node.fetch`). */
  fetch?: boolean;
  /** Outgoing TCP connections and accepted ones (`node.net.connect`, `node.net.accept`). */
  net?: boolean;
  /** Host name lookups of connecting sockets (`node.dns.lookup`). */
  dns?: boolean;
  /** Worker threads started and exited (`node.worker.online`, `node.worker.exit`). */
  workers?: boolean;
  /** Garbage collection pauses (`node.gc`). */
  gc?: boolean;
  /** Event-loop delay per interval (`node.event_loop`); an object sets the interval and resolution. */
  eventLoop?: boolean | EventLoopOptions;
  /**
   * The writer to use (default: a new `ring.writer()` of this thread, closed by `close()`). If this
   * thread already records some subsystems into the same ring (e.g. `urb record`'s default
   * instrumentation), their events go through this writer too until this instrumentation's
   * `close()`: the writer you give is the one the events use.
   */
  writer?: RingWriter;
}

/** The handle of an {@link instrument} call. */
export interface Instrumentation {
  /** The subsystems being recorded. */
  readonly enabled: readonly string[];
  /** The writer the events go through. */
  readonly writer: RingWriter;
  /** Errors caught in handlers so far (instrumentation never throws into the application). */
  readonly errors: number;
  /** The last of those errors, if any. */
  readonly lastError: unknown;
  /** Unsubscribe everything, write the last event-loop interval, and close the writer if it was created here. Idempotent. */
  close(): void;
}

const SUBSYSTEMS = ["http", "fetch", "net", "dns", "workers", "gc", "eventLoop"] as const;

/** The subsystems this thread records into each ring, and the writer and sink of the first instrumentation. */
const activeByRing = new Map<string, { subsystems: Set<string>; writer: RingWriter; sink: Sink }>();

/**
 * Which ring this is, whatever object maps it: a worker attaching the SharedArrayBuffer it was sent,
 * or mapping a file ring again, holds another buffer object over the same memory (under `urb record`
 * the preload instruments each worker thread, then the worker's own `instrument()` must see it).
 * The creation stamp of the ring header (wall and monotonic clocks at creation) and its size.
 */
function ringKey(ring: RingBuffer): string {
  const { i32, f64 } = ring.core;
  return `${f64[H_EPOCH_WALL_MS >> 3]}/${i32[H_EPOCH_MONO_HI >> 2]}/${i32[H_EPOCH_MONO_LO >> 2]}/${i32[H_TOTAL_BYTES >> 2]}`;
}

/**
 * Record Node's subsystems into `ring` (which must use the `mono` clock) from this thread. A
 * subsystem this thread already records into the same ring is left as it is (a second call, e.g.
 * a program's own under `urb record`, which instruments by default, does not double events).
 * Throws RangeError for a ring with another clock or a bad event-loop option, and CapacityError
 * when no writer can be made or the metadata area cannot hold the schemas.
 *
 * @example
 * ```ts
 * import { createRing } from "unified-ring-buffer";
 * import { instrument } from "unified-ring-buffer/node";
 * const ring = createRing({ lanes: 4, pagesPerLane: 64 });
 * const rec = instrument(ring, { http: true, fetch: true, net: true, dns: true, workers: true, gc: true, eventLoop: true });
 * // ... serve requests ...
 * rec.close();
 * ```
 */
export function instrument(ring: RingBuffer, options: InstrumentOptions = {}): Instrumentation {
  checkOptions("Cannot instrument", options, INSTRUMENT_OPTIONS_KEYS);
  const named = SUBSYSTEMS.filter((k) => options[k] !== undefined);
  // A subsystem this thread already records into this ring (e.g. `urb record`'s default
  // instrumentation, then the program's own call) is not subscribed twice: its events would double.
  const key = ringKey(ring);
  const active = activeByRing.get(key);
  const on = (k: (typeof SUBSYSTEMS)[number]): boolean =>
    (named.length === 0 ? true : options[k] !== undefined && options[k] !== false) && active?.subsystems.has(k) !== true;
  const enabled = SUBSYSTEMS.filter(on);
  if (enabled.length === 0 && active !== undefined && options.writer === undefined) {
    return { enabled, writer: active.writer, errors: 0, lastError: undefined, close() {} };
  }
  const owned = options.writer === undefined;
  const writer = options.writer ?? ring.writer();
  const stops: (() => void)[] = [];
  let sink: Sink;
  try {
    sink = new Sink(ring, writer, "instrument ring");
    if (on("http")) stops.push(subscribeHttp(sink));
    if (on("fetch")) stops.push(subscribeFetch(sink));
    if (on("net") || on("dns")) stops.push(subscribeNet(sink, on("net"), on("dns")));
    if (on("workers")) stops.push(subscribeWorkers(sink));
    if (on("gc")) stops.push(observeGc(sink));
    if (on("eventLoop")) {
      const el = options.eventLoop;
      stops.push(sampleEventLoop(sink, typeof el === "object" ? el : {}));
    }
  } catch (e) {
    for (const stop of stops) stop();
    if (owned) writer.close();
    throw e;
  }
  const s = sink;
  // Subsystems already recorded by an earlier instrumentation of this thread: the writer given now
  // takes their events over (until close()), rather than being ignored for them.
  const earlier = active !== undefined && options.writer !== undefined && options.writer !== active.sink.writer ? active.sink : undefined;
  const earlierWriter = earlier?.writer;
  if (earlier !== undefined) earlier.writer = writer;
  const entry = activeByRing.get(key) ?? { subsystems: new Set<string>(), writer, sink: s };
  for (const k of enabled) entry.subsystems.add(k);
  activeByRing.set(key, entry);
  return {
    enabled,
    writer,
    get errors() {
      return s.errors;
    },
    get lastError() {
      return s.lastError;
    },
    close() {
      if (s.closed) return;
      for (const stop of stops) stop(); // the event-loop sampler writes its last interval here
      s.closed = true; // listeners still attached to live sockets and workers now do nothing
      if (earlier !== undefined && earlierWriter !== undefined && earlier.writer === writer) earlier.writer = earlierWriter;
      for (const k of enabled) entry.subsystems.delete(k);
      if (entry.subsystems.size === 0) activeByRing.delete(key);
      if (owned) writer.close();
    },
  };
}

const INSTRUMENT_OPTIONS_KEYS = optionKeys<InstrumentOptions>({ http: true, fetch: true, net: true, dns: true, workers: true, gc: true, eventLoop: true, writer: true });

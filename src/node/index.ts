/**
 * Node-only helpers (`unified-ring-buffer/node`): Node streams over a reader, trace files on disk,
 * page hand-off to files, dumps, and rings in files shared between processes (mmap'ed through the
 * optional native addon: see docs/DESIGN.md, "File rings"), and {@link instrument}, which records
 * Node's own subsystems (HTTP, fetch, TCP, DNS, workers, GC, event-loop delay) into a ring as typed
 * events (docs/INTEGRATIONS.md).
 *
 * @module
 */
import { Readable } from "node:stream";
import type { ReadableStream as NodeWebReadableStream } from "node:stream/web";
import { recordStream, type StreamOptions } from "../stream.js";
import type { RingReader } from "../reader.js";

export { setThreadName, nodeIdentity } from "./identity.js";
export { createFileRing, openFileRing, attachFileRing } from "./file-ring.js";
export type { FileRingOptions, OpenFileRingOptions } from "./file-ring.js";
export { recoverFileRing } from "./recover.js";
export { drainRing, reclaimDeadWriters, liveWriters } from "./drain.js";
export type { DrainTarget, DrainOptions, DrainReport } from "./drain.js";
export { RecordDrainTarget } from "./record-drain.js";
export type { RecordSink } from "./record-drain.js";
export { serveDrain } from "./drain-service.js";
export type { DrainConfig, ServeDrainOptions, ServeDrainReport } from "./drain-service.js";
export type { RecoverOptions, RecoveryReport, ReclaimedProducer } from "./recover.js";
export { followFileRing } from "./follow.js";
export type { FollowOptions, FollowSummary } from "./follow.js";
export type { LiveProducer } from "./producers.js";
export { nativeAddonAvailable } from "./native.js";
export { NativeAddonError, FileRingExistsError, FileRingOwnerError } from "../errors.js";
export { instrument } from "./instrument.js";
export type { InstrumentOptions, Instrumentation } from "./instrument.js";
export type { EventLoopOptions } from "./event-loop.js";
export {
  NODE_EVENTS,
  GC_KINDS,
  HTTP_SERVER_FIELDS,
  HTTP_CLIENT_FIELDS,
  FETCH_FIELDS,
  NET_CONNECT_FIELDS,
  NET_ACCEPT_FIELDS,
  DNS_LOOKUP_FIELDS,
  WORKER_ONLINE_FIELDS,
  WORKER_EXIT_FIELDS,
  GC_FIELDS,
  EVENT_LOOP_FIELDS,
} from "./events.js";

/**
 * An object-mode Node `Readable` of the reader's records, with real backpressure: records are
 * only taken from the ring while the readable's buffer is below its high-water mark.
 *
 * @example
 * ```ts
 * import { toNodeReadable } from "unified-ring-buffer/node";
 * toNodeReadable(ring.consumer()).on("data", (r) => console.log(r.type));
 * ```
 */
export function toNodeReadable(reader: RingReader, options: StreamOptions = {}): Readable {
  const web = recordStream(reader, options) as unknown as NodeWebReadableStream;
  return Readable.fromWeb(web, { objectMode: true, highWaterMark: options.highWaterMark ?? 1024 });
}

export { openTraceFile, dumpRing, fileSource, TraceFileOnDisk } from "./trace-file.js";
export { pipeToFile, TracePipe } from "./pipe.js";
export type { PipeOptions, PipeRunOptions, PipeStats } from "./pipe.js";
export type { PageSink } from "./pipe.js";
export { traceReadable } from "./trace-readable.js";
export type { TraceReadableOptions } from "./trace-readable.js";
export { flightRecorder } from "./flight-recorder.js";
export type { FlightRecorder, FlightRecorderOptions, DumpTrigger } from "./flight-recorder.js";

/**
 * unified-ring-buffer: one lock-free, page-based, multi-lane ring buffer in shared memory.
 *
 * @example
 * ```ts
 * import { createRing } from "unified-ring-buffer";
 * const ring = createRing({ lanes: 4, sharedLanes: 1, mode: "overwrite" });
 * const w = ring.writer();
 * w.write(1, new TextEncoder().encode("hello"));
 * for (const r of ring.consumer().drain()) console.log(r.type, r.timestamp, r.payload);
 * ```
 * @module
 */
export { createRing, attachRing, readGeometry, ringBytes, RingBuffer } from "./ring.js";
export type { RingOptions, AttachOptions, WriterOptions, ReaderOptions } from "./ring.js";
export { LaneWriter, SharedLaneWriter, MAX_OPEN_RESERVATIONS } from "./writer.js";
export type { RingWriter } from "./writer.js";
export { RingReader, RingRecord } from "./reader.js";
export { RecordBatch } from "./batch.js";
export { setIdentityProvider, currentIdentity, UNKNOWN_IDENTITY } from "./identity.js";
export type { ThreadIdentity } from "./identity.js";
export { recordStream, pageStream } from "./stream.js";
export type { StreamOptions, PageChunk } from "./stream.js";
export type { RecordData, PageHandoff } from "./reader.js";
export type { RingStats, LaneStats, LaneCounters } from "./stats.js";
export type { ClockKind } from "./clock.js";
export { RingFormatError, CapacityError, RecordStateError, ConsumerClaimError, RingClosedError, TraceFileError } from "./errors.js";
export { snapshotRing } from "./snapshot.js";
export type { SnapshotInfo, SnapshotOptions } from "./snapshot.js";
export { openTrace, TraceFile } from "./tracefile/trace.js";
export type { TraceReadOptions, TraceStats, TraceLaneStats, TraceTypeStats } from "./tracefile/trace.js";
export { bytesSource } from "./tracefile/source.js";
export type { ByteSource } from "./tracefile/source.js";
export { crc32, useNativeCrc32 } from "./tracefile/crc32.js";
export type { NativeCrc32 } from "./tracefile/crc32.js";
export type { WakeChannel } from "./wakeup.js";
export { FORMAT_VERSION, MAX_TYPE, MIN_PAGE_SIZE, MAX_PAGE_SIZE, MIN_LANE_PAGES } from "./layout.js";
export type { RingGeometry } from "./layout.js";
export { t, SchemaError, EventRegistry, eventRegistry, defineEvent, EventView, formatSchema, SCHEMA_ID_BASE, SCHEMA_ID_LAST, MAX_VAR_LENGTH } from "./schema/index.js";
export type {
  FieldType,
  FieldsSpec,
  FieldSchema,
  EventSchema,
  EventType,
  EventTypeOptions,
  FieldValue,
  WriteValues,
  ReadValues,
  Decoded,
  DecodedEvent,
  RawEvent,
  LostEvent,
  MetadataImage,
} from "./schema/index.js";
export { resizeRing } from "./resize.js";
export type { ResizeResult } from "./resize.js";

/**
 * The chunks that describe a ring rather than its records: its header and its metadata area, copied
 * as they are (docs/FORMAT.md section 13.3).
 */
import { RING_HEADER_BYTES } from "../layout.js";
import type { RingBuffer } from "../ring.js";
import { eventRegistry } from "../schema/registry.js";
import { encodeChunk } from "./encode.js";
import { CHUNK_METADATA, CHUNK_RING } from "./file-layout.js";

/** A RING chunk: the ring header as it is now. */
export function ringHeaderChunk(ring: RingBuffer): Uint8Array {
  return encodeChunk({ kind: CHUNK_RING, lane: 0, offset: 0, value: 0 }, ring.core.u8.slice(0, RING_HEADER_BYTES));
}

/**
 * Bytes of the metadata area in use (entries published or being written), as far as they parse:
 * a corrupt entry ends the copy there rather than failing a dump.
 */
export function metadataUsed(ring: RingBuffer): number {
  if (ring.geometry.metadataBytes === 0) return 0;
  const reg = eventRegistry(ring);
  try {
    reg.refresh();
  } catch {
    // keep the prefix that parsed
  }
  return reg.used;
}

/** Entries of the ring's metadata area claimed but not yet published, as of the last {@link metadataUsed}: a copy taken now holds them unfinished. */
export function metadataUnsettled(ring: RingBuffer): number {
  return ring.geometry.metadataBytes === 0 ? 0 : eventRegistry(ring).unsettled;
}

/** A METADATA chunk with the first `used` bytes of the metadata area, or null when there are none. */
export function metadataChunk(ring: RingBuffer, used = metadataUsed(ring)): Uint8Array | null {
  if (used === 0) return null;
  const at = ring.geometry.metadataOffset;
  return encodeChunk({ kind: CHUNK_METADATA, lane: 0, offset: 0, value: 0 }, ring.core.u8.slice(at, at + used));
}

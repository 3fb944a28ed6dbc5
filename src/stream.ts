/**
 * Streams over a reader, for code that speaks WHATWG streams (browsers, Deno, Bun, Node):
 * {@link recordStream} (one plain-object record per chunk) and {@link pageStream} (whole pages, the
 * bytes of the ring as they are). Both are pull streams: the reader is only read when the stream's
 * consumer asks for more, so a slow consumer leaves records in the ring (where the ring's mode
 * decides: overwrite or drop) instead of growing a queue in memory. Waiting uses the reader's
 * wakeups, so an idle stream costs no CPU.
 */
import type { PageHandoff, RecordData, RingReader } from "./reader.js";
import { checkOptions, optionKeys } from "./options.js";

/** Options of {@link recordStream} and {@link pageStream}. */
export interface StreamOptions {
  /** Ends the stream (and closes the reader). */
  signal?: AbortSignal;
  /** Chunks the stream may queue ahead of its consumer. Default 1024 records, or 4 pages. */
  highWaterMark?: number;
}

/**
 * A ReadableStream of the reader's records (kind `data` or `lost`), oldest first, merged across
 * its lanes. Cancelling the stream or aborting `signal` closes the reader.
 *
 * @example
 * ```ts
 * for await (const r of recordStream(ring.consumer())) console.log(r.type, r.payload);
 * ```
 */
export function recordStream(reader: RingReader, options: StreamOptions = {}): ReadableStream<RecordData> {
  checkOptions("Cannot create record stream", options, STREAM_OPTIONS_KEYS);
  const signal = options.signal;
  const hwm = options.highWaterMark ?? 1024;
  return new ReadableStream<RecordData>(
    {
      async pull(controller) {
        for (;;) {
          if (ended(reader, signal, controller)) return;
          const want = Math.max(1, controller.desiredSize ?? 1);
          const batch = reader.drain(want);
          if (batch.length > 0) {
            for (const r of batch) controller.enqueue(r);
            return;
          }
          await reader.waitAsync(signal === undefined ? {} : { signal });
        }
      },
      cancel() {
        reader.close();
      },
    },
    { highWaterMark: hwm },
  );
}

/** One page handed off by {@link pageStream}: where it came from and its bytes (a copy). */
export interface PageChunk extends PageHandoff {
  data: Uint8Array;
}

/**
 * A ReadableStream of whole, complete pages taken from a consumer (`readPage`): the page bytes as
 * they sit in the ring (FORMAT.md), ready to be written to a file or a socket. A page is handed off
 * once it is closed (full), so a lane that stops mid-page keeps its last page until more is written.
 */
export function pageStream(reader: RingReader, pageSize: number, options: StreamOptions = {}): ReadableStream<PageChunk> {
  checkOptions("Cannot create page stream", options, STREAM_OPTIONS_KEYS);
  const signal = options.signal;
  return new ReadableStream<PageChunk>(
    {
      async pull(controller) {
        for (;;) {
          if (ended(reader, signal, controller)) return;
          const data = new Uint8Array(pageSize);
          const page = reader.readPage(data);
          if (page !== null) {
            controller.enqueue({ ...page, data });
            return;
          }
          // A page completes with its last records: wait for a page's worth of commits, or a moment.
          await reader.waitAsync(signal === undefined ? { timeoutMs: 50 } : { timeoutMs: 50, signal });
        }
      },
      cancel() {
        reader.close();
      },
    },
    { highWaterMark: options.highWaterMark ?? 4 },
  );
}

/** Close the stream (and the reader) once the reader is closed or the signal aborted. */
function ended(reader: RingReader, signal: AbortSignal | undefined, controller: ReadableStreamDefaultController<unknown>): boolean {
  if (!signal?.aborted && !reader.closed) return false;
  reader.close();
  closeQuietly(controller);
  return true;
}

/** Close a stream controller that a cancel may have closed already. */
function closeQuietly(controller: ReadableStreamDefaultController<unknown>): void {
  try {
    controller.close();
  } catch {
    // already closed or cancelled
  }
}

const STREAM_OPTIONS_KEYS = optionKeys<StreamOptions>({ signal: true, highWaterMark: true });

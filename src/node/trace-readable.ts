/**
 * A byte-mode Node `Readable` of a ring's pages, framed as a `.urb` trace file: pipe it to a file,
 * a socket or any `Writable` (`stream.pipeline(traceReadable(ring), socket)`), and the other end
 * receives a trace file as it is written. Backpressure is real: pages are only taken from the ring
 * when the stream asks for more; until then they stay in the ring, whose mode decides their fate.
 */
import { Readable } from "node:stream";
import type { RingBuffer } from "../ring.js";
import { type PipeOptions, TracePipe } from "./pipe.js";
import { checkOptions, optionKeys } from "../options.js";

/** Options of {@link traceReadable}. */
export interface TraceReadableOptions extends PipeOptions {
  /** End the stream (after a final flush and the END chunk) when this aborts. */
  signal?: AbortSignal;
  /** Hand off unfinished pages at least this often, in ms. Default 1000. */
  flushMs?: number;
  /** Bytes the stream buffers before it stops taking pages. Default 1 MiB. */
  highWaterMark?: number;
}

/**
 * A `.urb` byte stream of `ring`'s pages (it takes the consumer role of the lanes it reads).
 *
 * @example
 * ```ts
 * import { pipeline } from "node:stream/promises";
 * const ac = new AbortController();
 * await pipeline(traceReadable(ring, { signal: ac.signal }), createWriteStream("app.urb"));
 * ```
 */
export function traceReadable(ring: RingBuffer, options: TraceReadableOptions = {}): Readable {
  checkOptions("Cannot create trace readable", options, TRACE_READABLE_OPTIONS_KEYS);
  const flushMs = options.flushMs ?? 1000;
  const signal = options.signal;
  let pipe: TracePipe | undefined;
  let busy = false;
  let lastFlush = performance.now();
  let ended = false;
  const finish = () => {
    if (ended || pipe === undefined) return;
    ended = true;
    pipe.close(); // flush + END chunk, through the sink
    readable.push(null);
  };
  const readable = new Readable({
    highWaterMark: options.highWaterMark ?? 1 << 20,
    read() {
      if (busy || ended || pipe === undefined) return;
      busy = true;
      void (async () => {
        try {
          const p = pipe as TracePipe;
          for (;;) {
            if (signal?.aborted === true) return finish();
            const now = performance.now();
            const moved = now - lastFlush >= flushMs ? ((lastFlush = now), p.flush()) : p.pump(64);
            if (moved > 0) return; // pushed: the stream calls read() again when it wants more
            await p.waitForPages({ timeoutMs: Math.min(100, flushMs), ...(signal ? { signal } : {}) });
          }
        } catch (e) {
          readable.destroy(e instanceof Error ? e : new Error(String(e)));
        } finally {
          busy = false;
        }
      })();
    },
    destroy(err, callback) {
      if (!ended && pipe !== undefined && !pipe.closed) {
        ended = true;
        try {
          pipe.close();
        } catch {
          // the stream is going away; the pipe's lanes are released either way
        }
      }
      callback(err);
    },
  });
  // The sink copies: the stream hands the bytes on later, after the pages left the ring.
  pipe = new TracePipe(ring, (parts, bytes) => {
    const out = Buffer.allocUnsafe(bytes);
    let at = 0;
    for (const part of parts) {
      out.set(part, at);
      at += part.length;
    }
    readable.push(out);
  }, pipeOptions(options));
  // An abort while nobody reads still ends the stream (a read in progress ends it itself).
  signal?.addEventListener("abort", () => busy || finish(), { once: true });
  return readable;
}

const TRACE_READABLE_OPTIONS_KEYS = optionKeys<TraceReadableOptions>({ signal: true, flushMs: true, highWaterMark: true, lanes: true, batchPages: true, checksumPages: true });

/** The options of the TracePipe under the stream (the stream's own ones are not the pipe's). */
function pipeOptions(options: TraceReadableOptions): PipeOptions {
  const { signal: _signal, flushMs: _flushMs, highWaterMark: _highWaterMark, ...pipe } = options;
  return pipe;
}

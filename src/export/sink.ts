/**
 * Where exporters write: text (Chrome JSON, HTML) or bytes (Perfetto protobuf), appended in order.
 * Exporters stream into a sink record by record and never hold the output, so a sink that writes
 * through to a file keeps memory bounded (the CLI's `FdOutput`); {@link MemorySink} collects it.
 */

export interface TextSink {
  text(s: string): void;
}

export interface ByteSink {
  bytes(b: Uint8Array): void;
}

/**
 * A sink that keeps everything in memory (tests, small traces, browsers).
 *
 * @example
 * ```ts
 * const sink = new MemorySink();
 * exportChrome(openTrace(bytesSource(ring.snapshot())), sink);
 * const json = JSON.parse(sink.toString());
 * ```
 */
export class MemorySink implements TextSink, ByteSink {
  readonly #parts: Uint8Array[] = [];
  readonly #enc = new TextEncoder();
  text(s: string): void {
    this.#parts.push(this.#enc.encode(s));
  }
  bytes(b: Uint8Array): void {
    this.#parts.push(b.slice());
  }
  /** Everything written, concatenated. */
  toBytes(): Uint8Array {
    const out = new Uint8Array(this.#parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of this.#parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
  toString(): string {
    return new TextDecoder().decode(this.toBytes());
  }
}

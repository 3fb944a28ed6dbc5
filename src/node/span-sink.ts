/**
 * The drain side of `ringSpanProcessor()`: ended spans read from the ring go to an OpenTelemetry
 * SpanExporter (OTLP over HTTP, Zipkin, a file, ...) built in the drain process from a module path
 * and options, in batches ({@link exportSpans}), each batch retried with backoff before it is
 * counted as failed.
 */
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { ReadableSpan, SpanExporter } from "@opentelemetry/sdk-trace-base";
import type { RingBuffer } from "../ring.js";
import { exportSpans, type SpanResource } from "../otel/export.js";
import type { RecordSink, RecordSource } from "./record-drain.js";

/** How the drain process makes its exporter and reports the spans (made by `ringSpanProcessor()`). */
export interface SpanDrainConfig {
  /** The exporter: `new (module[name ?? "default"])(options)`; `module` is an absolute path or a package name resolvable from `resolveFrom`. */
  exporter: { module: string; name?: string; options?: unknown };
  /** Where package names are resolved from (an absolute file path). Default: the current directory. */
  resolveFrom?: string;
  /** Resource attributes the spans are reported under (e.g. `{ "service.name": "api" }`). */
  resource?: Record<string, string | number | boolean>;
  /** Spans per export call. Default 512. */
  maxBatch?: number;
  /** Tries of a failed batch after the first. Default 5 (backoff 100 ms doubling, up to 5 s). */
  retries?: number;
}

type ExportResult = Parameters<Parameters<SpanExporter["export"]>[1]>[0];
const EXPORT_SUCCESS = 0;
const FIRST_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 5000;

/** Import `spec` (absolute path or package name) resolved from `from`. */
async function importFrom(spec: string, from: string): Promise<Record<string, unknown>> {
  const path = createRequire(from).resolve(spec);
  return (await import(pathToFileURL(path).href)) as Record<string, unknown>;
}

/**
 * An exporter that retries each failed batch up to `retries` times with exponential backoff
 * (100 ms doubling, at most 5 s), and reports the last failure after that.
 *
 * @example
 * ```ts
 * await exportSpans(ring, ring.consumer(), retryingExporter(otlpExporter, 5), { resource });
 * ```
 */
export function retryingExporter(exporter: SpanExporter, retries: number): SpanExporter {
  const once = (spans: ReadableSpan[]) => new Promise<ExportResult>((resolve) => exporter.export(spans, resolve));
  return {
    export(spans, done) {
      void (async () => {
        let result = await once(spans);
        for (let i = 0, wait = FIRST_BACKOFF_MS; i < retries && result.code !== EXPORT_SUCCESS; i++, wait = Math.min(wait * 2, MAX_BACKOFF_MS)) {
          await new Promise((r) => setTimeout(r, wait));
          result = await once(spans);
        }
        done(result);
      })();
    },
    shutdown: () => exporter.shutdown(),
    ...(exporter.forceFlush ? { forceFlush: () => (exporter.forceFlush as () => Promise<void>)() } : {}),
  };
}

/** Build the exporter and resource of `config` and a sink exporting the `otel.span` records of `ring`. */
export async function spanSink(ring: RingBuffer, config: SpanDrainConfig): Promise<SpanSink> {
  const from = config.resolveFrom ?? `${process.cwd()}/`;
  const mod = await importFrom(config.exporter.module, from);
  const name = config.exporter.name ?? "default";
  const Exporter = mod[name] as (new (options?: unknown) => SpanExporter) | undefined;
  if (typeof Exporter !== "function") {
    throw new TypeError(`Cannot build the span exporter: module ${config.exporter.module} has no export ${JSON.stringify(name)} that is a class`);
  }
  const exporter = new Exporter(config.exporter.options);
  // The resource type of the SDK: built by @opentelemetry/resources, which every exporter's SDK brings.
  const resources = await importFrom("@opentelemetry/resources", from).catch(() => importFrom("@opentelemetry/resources", fileURLToPath(import.meta.url)));
  const fromAttributes = resources.resourceFromAttributes as (a: Record<string, unknown>) => SpanResource;
  return new SpanSink(ring, retryingExporter(exporter, config.retries ?? 5), fromAttributes(config.resource ?? {}), config.maxBatch ?? 512);
}

/** Exports `otel.span` records (see {@link spanSink}). */
export class SpanSink implements RecordSink {
  /** Spans the exporter accepted. */
  exported = 0;
  /** Spans of batches that failed after every retry. */
  failed = 0;
  /** Spans lost before they reached the drain (dropped by writers of a full ring). */
  lost = 0;
  /** The error of the last failed batch. */
  error: Error | undefined;
  readonly #ring: RingBuffer;
  readonly #exporter: SpanExporter;
  readonly #resource: SpanResource;
  readonly #maxBatch: number;

  constructor(ring: RingBuffer, exporter: SpanExporter, resource: SpanResource, maxBatch: number) {
    this.#ring = ring;
    this.#exporter = exporter;
    this.#resource = resource;
    this.#maxBatch = maxBatch;
  }

  async take(reader: RecordSource): Promise<number> {
    const r = await exportSpans(this.#ring, reader, this.#exporter, { resource: this.#resource, maxBatch: this.#maxBatch });
    this.exported += r.exported;
    this.failed += r.failed;
    this.lost += r.lost;
    if (r.error !== undefined) this.error = r.error;
    return r.exported + r.failed + r.skipped;
  }

  reportLost(_lane: number, count: number): void {
    this.lost += count;
  }

  async close(): Promise<void> {
    await this.#exporter.shutdown();
  }
}

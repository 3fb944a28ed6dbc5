/**
 * Live attach: follow a file ring that other processes write, event by event, decoded with the
 * schemas in the ring's metadata area (what `urb attach FILE` prints). By default it neither
 * consumes (an iterator: the ring's own consumer is not disturbed; if the writers lap it, it
 * reports the loss) nor replays what was in the ring before it started.
 */
import { eventRegistry, type Decoded } from "../schema/registry.js";
import type { AttachOptions, RingBuffer } from "../ring.js";
import type { RingRecord } from "../reader.js";
import { openFileRing } from "./file-ring.js";
import { RECORD_HEADER_BYTES } from "../layout.js";

/** Options of {@link followFileRing}. */
export interface FollowOptions extends AttachOptions {
  /** Stop following when it aborts. */
  signal?: AbortSignal;
  /** `"now"` (default): only records committed from now on; `"start"`: first everything still in the ring. */
  from?: "now" | "start";
  /** Consume the records (the lanes must have no consumer): they leave the ring. Default false. */
  consume?: boolean;
}

/** What {@link followFileRing} saw. */
export interface FollowSummary {
  /** Data records (decoded events or raw records) delivered. */
  readonly records: number;
  /** Sum of the loss markers delivered. */
  readonly lost: number;
}

/**
 * Deliver the events of the file ring at `path` as other processes commit them, decoded (`event`
 * with named fields, `raw` for records without a schema, `lost` markers), until `signal` aborts.
 * Sleeps in the cross-process futex between bursts (no polling, the event loop stays free).
 *
 * @example
 * ```ts
 * import { followFileRing } from "unified-ring-buffer/node";
 * const ac = new AbortController();
 * process.on("SIGINT", () => ac.abort());
 * await followFileRing("/dev/shm/myapp.urb", (e, ring) => console.log(e.kind === "event" ? `${e.name} ${JSON.stringify(e.fields, (_, v) => typeof v === "bigint" ? String(v) : v)}` : e), { signal: ac.signal });
 * ```
 */
export async function followFileRing(
  path: string,
  onEvent: (event: Decoded, ring: RingBuffer) => void,
  options: FollowOptions = {},
): Promise<FollowSummary> {
  const { signal, from = "now", consume = false, ...attach } = options;
  const ring = openFileRing(path, attach);
  const reader = consume ? ring.consumer() : ring.iterator();
  const registry = eventRegistry(ring);
  let records = 0;
  let lost = 0;
  const visit = (r: RingRecord): void => {
    const e = registry.decode(r);
    if (e.kind === "lost") lost += Number.isFinite(e.lost) ? e.lost : 0;
    else records++;
    onEvent(e, ring);
  };
  try {
    if (from === "now") {
      // Skip what is in the ring already; bounded (at most twice what the ring can hold) even if
      // the writers keep it full.
      const g = ring.geometry;
      const limit = 2 * g.lanes * g.lanePages * Math.floor(g.pageSize / RECORD_HEADER_BYTES);
      const skip = (): void => {};
      for (let skipped = 0, n = reader.read(skip, 4096); n > 0 && skipped < limit; n = reader.read(skip, 4096)) skipped += n;
    }
    let lastYield = performance.now();
    while (!signal?.aborted) {
      const n = reader.read(visit, 4096);
      if (n === 0) {
        const waitOptions = signal === undefined ? {} : { signal };
        await reader.waitAsync(waitOptions);
        lastYield = performance.now();
      } else if (performance.now() - lastYield > 10) {
        await new Promise((resolve) => setImmediate(resolve)); // give timers and I/O (and the abort) a turn
        lastYield = performance.now();
      }
    }
  } finally {
    reader.close();
  }
  return { records, lost };
}

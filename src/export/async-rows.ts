/**
 * Async rows: where the exporters put a thread's intervals (asynchronous operations, shapes.ts
 * convention 1), which may overlap without nesting. Each (thread, event) has a pool of rows; an
 * interval goes to the first row it overlaps nothing on, or to a new row. So no row ever holds two
 * overlapping intervals (a row is a track that needs no nesting), and rows are as few as the
 * operations' concurrency.
 *
 * A row remembers only its earliest start and latest end (bounded memory): an interval fits when it
 * ends strictly before the first or starts strictly after the last. Intervals arrive roughly in end
 * order (each is written when it ends), so "after the last" is the usual fit. Strict, so that two
 * slices of one row never share a timestamp (the order of a begin and an end at the same time
 * would be up to a viewer's sort).
 */
import type { TimelineThread } from "./timeline.js";

/** One async row (a track of non-overlapping intervals) of a thread. */
export interface AsyncRow {
  /** 0, 1, 2... over the whole trace, in order of creation (an id for tracks and async events). */
  readonly id: number;
  readonly thread: TimelineThread;
  /** The event name of its intervals. */
  readonly kind: string;
  /** Its place among the rows of the same thread and kind: 0, 1, 2... */
  readonly n: number;
  /** The first row of the same thread and kind (undefined for the first itself). */
  readonly head: AsyncRow | undefined;
  /** Earliest start and latest end of its intervals. */
  first: number;
  last: number;
}

/**
 * The async rows of a pass.
 *
 * @example
 * ```ts
 * const rows = new AsyncRows();
 * const { row, fresh } = rows.place(thread, "node.http.server", startNs, endNs);
 * ```
 */
export class AsyncRows {
  readonly rows: AsyncRow[] = [];
  readonly #pools = new Map<TimelineThread, Map<string, AsyncRow[]>>();
  readonly #placed = { row: undefined as unknown as AsyncRow, fresh: false };

  /** The row of interval [start, end] of `thread`'s event `kind`; `fresh` when the row is new (describe it). Reused result object. */
  place(thread: TimelineThread, kind: string, start: number, end: number): { readonly row: AsyncRow; readonly fresh: boolean } {
    let byKind = this.#pools.get(thread);
    if (byKind === undefined) this.#pools.set(thread, (byKind = new Map()));
    let pool = byKind.get(kind);
    if (pool === undefined) byKind.set(kind, (pool = []));
    const out = this.#placed;
    for (const row of pool) {
      if (start > row.last) {
        row.last = end;
        out.row = row;
        out.fresh = false;
        return out;
      }
      if (end < row.first) {
        row.first = start;
        out.row = row;
        out.fresh = false;
        return out;
      }
    }
    const row: AsyncRow = { id: this.rows.length, thread, kind, n: pool.length, head: pool[0], first: start, last: end };
    pool.push(row);
    this.rows.push(row);
    out.row = row;
    out.fresh = true;
    return out;
  }
}

/** A row's name: its kind, numbered past the first (`node.http.server`, `node.http.server 2`). */
export function asyncRowName(row: AsyncRow): string {
  return row.n === 0 ? row.kind : `${row.kind} ${row.n + 1}`;
}

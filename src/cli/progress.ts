/**
 * A one-line progress bar on standard error for long operations (export, view), drawn only when
 * stderr is a terminal: piped or redirected, the command stays quiet. Redrawn at most every 100 ms,
 * so it costs nothing measurable per record.
 *
 * ```
 * exporting  [##########............]  45%  2.1M records  3.4 s
 * ```
 */

/** Where the bar is drawn: a terminal's write and width. */
export interface ProgressTerminal {
  write(s: string): void;
  readonly columns: number;
}

const REDRAW_MS = 100;

export class ProgressBar {
  readonly #term: ProgressTerminal | undefined;
  readonly #label: string;
  readonly #started = performance.now();
  #last = -Infinity;
  #drawn = false;

  /** `term` undefined: a bar that draws nothing (stderr is not a terminal). */
  constructor(term: ProgressTerminal | undefined, label: string) {
    this.#term = term;
    this.#label = label;
  }

  /** Report progress: `fraction` from 0 to 1, `records` done so far (if counted). Cheap when called often. */
  update(fraction: number, records?: number): void {
    if (this.#term === undefined) return;
    const now = performance.now();
    if (now - this.#last < REDRAW_MS) return;
    this.#last = now;
    this.#term.write(`\r${this.line(fraction, records, now - this.#started)}\x1b[K`);
    this.#drawn = true;
  }

  /** The bar's text for a given state (what update() draws). */
  line(fraction: number, records: number | undefined, elapsedMs: number): string {
    const f = Math.min(1, Math.max(0, fraction === fraction ? fraction : 0));
    const tail = `  ${String(Math.floor(f * 100)).padStart(3)}%${records === undefined ? "" : `  ${compact(records)} records`}  ${(elapsedMs / 1e3).toFixed(1)} s`;
    const cols = Math.max(40, this.#term?.columns ?? 80);
    const width = Math.max(10, Math.min(40, cols - this.#label.length - tail.length - 6));
    const full = Math.round(f * width);
    return `${this.#label}  [${"#".repeat(full)}${".".repeat(width - full)}]${tail}`;
  }

  /** Erase the bar (before the command prints its result). */
  done(): void {
    if (this.#term !== undefined && this.#drawn) this.#term.write("\r\x1b[K");
    this.#drawn = false;
  }
}

function compact(n: number): string {
  if (n < 1e4) return String(n);
  if (n < 1e6) return `${(n / 1e3).toFixed(1)}k`;
  return `${(n / 1e6).toFixed(1)}M`;
}

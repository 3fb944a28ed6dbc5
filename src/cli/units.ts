/**
 * Sizes, times and counts as people type and read them: `--size 4M`, `--from 1.5s`, `12.3 MB`.
 */
import { UsageError } from "./command.js";

const SIZE_UNITS: Record<string, number> = { "": 1, b: 1, k: 1024, kb: 1024, kib: 1024, m: 1 << 20, mb: 1 << 20, mib: 1 << 20, g: 1 << 30, gb: 1 << 30, gib: 1 << 30 };

/** Parse a byte size: `65536`, `64k`, `4M`, `1G` (binary units). */
export function parseSize(option: string, text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([a-zA-Z]*)$/.exec(text.trim());
  const unit = m === null ? undefined : SIZE_UNITS[(m[2] ?? "").toLowerCase()];
  if (m === null || unit === undefined) throw new UsageError(`option ${option}: expected a size such as 65536, 64k or 4M, received ${JSON.stringify(text)}`);
  const bytes = Math.round(Number(m[1]) * unit);
  if (!Number.isSafeInteger(bytes) || bytes <= 0) throw new UsageError(`option ${option}: size must be positive, received ${JSON.stringify(text)}`);
  return bytes;
}

const TIME_UNITS: Record<string, number> = { ns: 1, us: 1e3, "µs": 1e3, ms: 1e6, s: 1e9, "": 1e9, m: 60e9, min: 60e9 };

/**
 * Parse a time in the trace as ring time in ns: `1.5` and `1.5s` are seconds, or `250ms`, `40us`,
 * `1200ns`. (For a file whose clock is not `mono` the result is in its clock's units, 1 ns each.)
 */
export function parseTime(option: string, text: string): number {
  const m = /^(-?\d+(?:\.\d+)?(?:e[+-]?\d+)?)\s*([a-zµ]*)$/i.exec(text.trim());
  const unit = m === null ? undefined : TIME_UNITS[(m[2] ?? "").toLowerCase()];
  if (m === null || unit === undefined) throw new UsageError(`option ${option}: expected a time such as 1.5s, 250ms, 40us or 1200ns, received ${JSON.stringify(text)}`);
  return Number(m[1]) * unit;
}

/** Parse a non-negative integer option. */
export function parseCount(option: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`option ${option}: expected an integer from ${min} to ${max}, received ${JSON.stringify(text)}`);
  }
  return n;
}

/** Ring time (ns) as seconds with 9 decimals, right-aligned: `    1.234567890`. */
export function formatSeconds(ns: number, width = 0): string {
  const s = ns === ns ? (ns / 1e9).toFixed(9) : "-";
  return width > 0 ? s.padStart(width) : s;
}

/** A duration in ns in the largest unit that keeps it readable: `850 ns`, `12.4 µs`, `3.20 ms`, `1.50 s`. */
export function formatDuration(ns: number): string {
  if (!(ns === ns)) return "-";
  const a = Math.abs(ns);
  if (a < 1e3) return `${Math.round(ns)} ns`;
  if (a < 1e6) return `${(ns / 1e3).toPrecision(3)} µs`;
  if (a < 1e9) return `${(ns / 1e6).toPrecision(3)} ms`;
  return `${(ns / 1e9).toFixed(2)} s`;
}

/** Bytes in binary units: `512 B`, `4.0 KiB`, `12.3 MiB`. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1 << 20) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1 << 30) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  return `${(n / (1 << 30)).toFixed(2)} GiB`;
}

/** A rate per second with a metric suffix: `950/s`, `12.3k/s`, `4.56M/s`. */
export function formatRate(perSecond: number): string {
  if (!(perSecond === perSecond) || !Number.isFinite(perSecond)) return "-";
  if (perSecond < 1e3) return `${perSecond.toPrecision(3)}/s`;
  if (perSecond < 1e6) return `${(perSecond / 1e3).toPrecision(3)}k/s`;
  return `${(perSecond / 1e6).toPrecision(3)}M/s`;
}

/** Wall-clock ms since the Unix epoch as ISO 8601 (UTC). */
export function formatWall(ms: number): string {
  return Number.isFinite(ms) ? new Date(ms).toISOString() : "-";
}

/** Plain-text tables with aligned columns (numbers right-aligned). */

/** Format rows (the first is the header) as aligned text lines. */
export function table(rows: readonly (readonly string[])[], rightAligned: readonly boolean[]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows
    .map((row) => row.map((cell, i) => (rightAligned[i] === true ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0))).join("  ").trimEnd())
    .join("\n") + "\n";
}

/** An integer with thousands separators: `1,234,567`. */
export function count(n: number): string {
  return n === n ? Math.round(n).toLocaleString("en-US") : "-";
}

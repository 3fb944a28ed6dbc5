/**
 * Command-line options of the on-demand runners (torture-cli, soak-cli, fuzz-cli): `--name value`,
 * or `--name` alone for a flag. An option the runner does not know, or a stray argument, is a usage
 * error (thrown; the runners exit 2 on it).
 */
export interface CliOptions {
  /** The option's value ("true" for a flag), or undefined when absent. */
  get(name: string): string | undefined;
  /** A non-negative number option, or `fallback` when absent. */
  num(name: string, fallback: number): number;
}

export function parseCliOptions(argv: readonly string[], known: readonly string[]): CliOptions {
  const values = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (!a.startsWith("--")) throw new Error(`unexpected argument ${a}`);
    const name = a.slice(2);
    if (!known.includes(name)) throw new Error(`unknown option --${name} (known: ${known.map((k) => `--${k}`).join(", ")})`);
    const next = argv[i + 1];
    if (next === undefined || next.startsWith("--")) values.set(name, "true");
    else {
      values.set(name, next);
      i++;
    }
  }
  return {
    get: (name) => values.get(name),
    num(name, fallback) {
      const v = values.get(name);
      if (v === undefined) return fallback;
      const n = Number(v);
      if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a non-negative number, received ${v}`);
      return n;
    },
  };
}

/**
 * Command-line options of the on-demand runners (torture-cli, soak-cli, fuzz-cli): `--name value`,
 * or `--name` alone for a flag. An option the runner does not know, or a stray argument, is a
 * {@link UsageError}; {@link runMain} prints it as one line and exits 2.
 */

/** A bad command line: printed without a stack. */
export class UsageError extends Error {}

/**
 * Run a runner's `main` as the program, unless `node --test` loads the file (then it does nothing
 * without arguments): exit with its code; on a throw, exit 2 after printing a usage error's message
 * or any other error's stack.
 */
export function runMain(main: () => Promise<number>): void {
  if (process.env["NODE_TEST_CONTEXT"] !== undefined && process.argv.length <= 2) return;
  main().then(
    (code) => process.exit(code),
    (e: unknown) => {
      console.error(e instanceof UsageError ? e.message : e instanceof Error ? e.stack : e);
      process.exit(2);
    },
  );
}
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
    if (!a.startsWith("--")) throw new UsageError(`unexpected argument ${a}`);
    const name = a.slice(2);
    if (!known.includes(name)) throw new UsageError(`unknown option --${name} (known: ${known.map((k) => `--${k}`).join(", ")})`);
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
      if (!Number.isFinite(n) || n < 0) throw new UsageError(`--${name} must be a non-negative number, received ${v}`);
      return n;
    },
  };
}

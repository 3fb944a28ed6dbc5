/**
 * What every `urb` subcommand is: a name, its help text (with an example), its options for
 * `node:util` `parseArgs`, and a `run` that returns the exit code. User errors are thrown as
 * {@link UsageError} (bad arguments, exit 2) or {@link InputError} (a file that cannot be used,
 * exit 1); the runner prints them as one line, never with a stack trace.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import type { FdOutput } from "./output.js";

/** Bad command line: unknown option, missing argument, a value that does not parse. Exit code 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** The input cannot be used: a missing file, not a trace file, an output that cannot be written. Exit code 1. */
export class InputError extends Error {
  override readonly name = "InputError";
}

/** Where a command writes. */
export interface CliIo {
  /** Buffered standard output (flushed by the runner). */
  readonly stdout: FdOutput;
  /** One message to standard error (a line; the newline is added). */
  error(line: string): void;
  /** Standard error, for the progress bar: undefined when it is not a terminal (then stay quiet). */
  readonly tty: { write(s: string): void; readonly columns: number } | undefined;
  /** Environment (for the child of `urb record`). */
  readonly env: NodeJS.ProcessEnv;
}

export type OptionSpec = NonNullable<ParseArgsConfig["options"]>;

/** Parsed option values, by option name. */
export type OptionValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

export interface Command {
  readonly name: string;
  /** The full `--help` text: usage, options, an example. */
  readonly help: string;
  readonly options: OptionSpec;
  /**
   * Split the arguments into the command's own (parsed with {@link options}) and a tail passed on as
   * positionals untouched. Default: the tail is what follows `--`.
   */
  splitArgs?(argv: readonly string[]): { own: string[]; tail: string[] };
  /** Run with the parsed values and positionals; returns the exit code. */
  run(values: OptionValues, positionals: string[], io: CliIo): Promise<number>;
}

/**
 * Parse `argv` with `parseArgs` (strict), turning its errors into one-line {@link UsageError}s.
 * `--` ends the options; the rest are positionals (e.g. `urb record -- node app.js --port 1`).
 */
export function parseCommand(cmd: Command, argv: readonly string[]): { values: OptionValues; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({ args: [...argv], options: cmd.options, strict: true, allowPositionals: true });
    return { values, positionals };
  } catch (e) {
    const code = (e as { code?: string }).code ?? "";
    const message = e instanceof Error ? e.message : String(e);
    if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
      const name = /'([^']+)'/.exec(message)?.[1] ?? "";
      throw new UsageError(`unknown option ${name}`);
    }
    if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
      // "Option '-o, --output <value>' argument missing" / "Option '--json' does not take an argument"
      const spelled = /'(-[^']*)'/.exec(message)?.[1] ?? "";
      const name = spelled.split(/[, ]/)[0] ?? spelled;
      throw new UsageError(/argument missing/.test(message) ? `option ${name} needs a value` : `option ${name} does not take a value`);
    }
    throw new UsageError(message.split("\n")[0] ?? message);
  }
}

/** The default {@link Command.splitArgs}: what follows `--` is the tail. */
export function splitAtDashes(argv: readonly string[]): { own: string[]; tail: string[] } {
  const i = argv.indexOf("--");
  return i < 0 ? { own: [...argv], tail: [] } : { own: argv.slice(0, i), tail: argv.slice(i + 1) };
}

/** A string option's value (the last one given), or undefined. */
export function stringOption(values: Record<string, unknown>, name: string): string | undefined {
  const v = values[name];
  if (Array.isArray(v)) return v.length ? String(v[v.length - 1]) : undefined;
  return typeof v === "string" ? v : undefined;
}

/** A repeatable string option's values, each split at commas (`--lane 0,2 --lane 3`). */
export function listOption(values: Record<string, unknown>, name: string): string[] {
  const v = values[name];
  const all = Array.isArray(v) ? v.map(String) : typeof v === "string" ? [v] : [];
  return all.flatMap((s) => s.split(",")).map((s) => s.trim()).filter((s) => s.length > 0);
}

/** The single FILE positional of a reading command. */
export function oneFile(positionals: readonly string[]): string {
  if (positionals.length === 0) throw new UsageError("missing FILE (a .urb trace file)");
  if (positionals.length > 1) throw new UsageError(`expected one FILE, received ${positionals.length}: ${positionals.join(" ")}`);
  return positionals[0] as string;
}

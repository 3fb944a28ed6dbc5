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
    const { values, positionals } = parseArgs({ args: joinNegativeValues(cmd.options, argv), options: cmd.options, strict: true, allowPositionals: true });
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
      if (/argument missing/.test(message)) throw new UsageError(`option ${name} needs a value`);
      if (/ambiguous/.test(message)) {
        // "-n -x": the next argument looks like an option. Show how to pass it as the value.
        const long = /use '(--[^=']+)=/.exec(message)?.[1] ?? name;
        throw new UsageError(`option ${name} needs a value (the next argument starts with a dash; to give it as the value, write ${long}=VALUE)`);
      }
      throw new UsageError(`option ${name} does not take a value`);
    }
    throw new UsageError(message.split("\n")[0] ?? message);
  }
}

/**
 * `-n -5` as `--count=-5`: parseArgs takes a value that starts with a dash for an option (and then
 * complains about the wrong thing); a negative number after an option that takes a value is that
 * option's value, which its own parser then judges ("expected an integer from 1 to ...").
 */
function joinNegativeValues(options: OptionSpec, argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === "--") {
      out.push(...argv.slice(i));
      break;
    }
    const long = arg.startsWith("--") ? arg.slice(2) : arg.length === 2 && arg.startsWith("-") ? Object.keys(options).find((k) => options[k]?.short === arg[1]) : undefined;
    const next = argv[i + 1];
    if (long !== undefined && options[long]?.type === "string" && next !== undefined && /^-(\d|\.\d)/.test(next)) {
      out.push(`--${long}=${next}`);
      i++;
      continue;
    }
    out.push(arg);
  }
  return out;
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

/** The single FILE positional of a reading command (RING, a ring file, for the commands on live rings). */
export function oneFile(positionals: readonly string[], what: "FILE" | "RING" = "FILE"): string {
  const described = what === "FILE" ? "FILE (a .urb trace file)" : "RING (a ring file, made by createFileRing)";
  if (positionals.length === 0) throw new UsageError(`missing ${described}`);
  if (positionals.length > 1) throw new UsageError(`expected one ${what}, received ${positionals.length}: ${positionals.join(" ")}`);
  return positionals[0] as string;
}

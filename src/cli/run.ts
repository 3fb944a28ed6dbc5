/**
 * The `urb` command line: dispatch to a subcommand, and turn user errors into one line on stderr
 * and an exit code (never a stack trace): 2 for a bad command line, 1 for input that cannot be
 * used. An unexpected error is a bug: it is printed with its stack, exit code 70 (EX_SOFTWARE).
 */
import { readFileSync } from "node:fs";
import { NativeAddonError, RingFormatError, TraceFileError } from "../errors.js";
import { type CliIo, type Command, InputError, UsageError, parseCommand, splitAtDashes } from "./command.js";
import { describeFsError } from "./open-trace.js";
import { FdOutput, OutputClosedError } from "./output.js";

/**
 * The commands, each loaded when it runs: a process that exports does not load what records or
 * draws (every module loaded is resident memory, and `urb export` is measured on that).
 */
export const COMMANDS: readonly { readonly name: string; readonly summary: string; load(): Promise<Command> }[] = [
  { name: "record", summary: "run a Node.js program and record its ring buffer to a .urb file", load: async () => (await import("./record.js")).recordCommand },
  { name: "dump", summary: "print the records, one per line (or JSON lines)", load: async () => (await import("./dump.js")).dumpCommand },
  { name: "stats", summary: "counts, bytes, losses, time span and rate per lane and per event", load: async () => (await import("./stats.js")).statsCommand },
  { name: "info", summary: "the file's header, ring geometry, clock, epoch and event schemas", load: async () => (await import("./info.js")).infoCommand },
  { name: "export", summary: "convert to Chrome Trace Event JSON or Perfetto protobuf (Perfetto UI, chrome://tracing)", load: async () => (await import("./export.js")).exportCommand },
  { name: "attach", summary: "print events live as other processes commit them to a file ring", load: async () => (await import("./attach.js")).attachCommand },
  { name: "recover", summary: "extract every committed record of a crashed process's file ring into a .urb file", load: async () => (await import("./recover.js")).recoverCommand },
  { name: "clear", summary: "empty a file ring while its writers go on (a reset; the records count as cleared)", load: async () => (await import("./clear.js")).clearCommand },
  { name: "drain", summary: "serve a file ring of log lines or spans: deliver them to pino targets or a span exporter", load: async () => (await import("./drain.js")).drainCommand },
  { name: "view", summary: "write a self-contained HTML timeline (zoomable, one row per lane, event rates)", load: async () => (await import("./view.js")).viewCommand },
];

const FS_CODES = new Set(["ENOENT", "EACCES", "EPERM", "EISDIR", "ENOTDIR", "ENOSPC", "EROFS", "EMFILE", "EEXIST", "ENAMETOOLONG", "EFBIG", "EIO"]);

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as { version?: string };
    return pkg.version ?? "unknown";
  } catch {
    return "unknown";
  }
}

export function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return `Usage: urb <command> [options]

Record a Node.js program into a ring buffer trace, then read, convert or view the trace.

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join("\n")}

Run "urb <command> --help" for a command's options and an example.

Example:
  urb record -o app.urb -- node app.js
  urb view app.urb -o app.html`;
}

/** The process's standard streams as a {@link CliIo}. */
export function processIo(): CliIo {
  const stderr = process.stderr;
  return {
    stdout: new FdOutput(1, false),
    error: (line) => {
      stderr.write(`urb: ${line}\n`);
    },
    tty: stderr.isTTY ? { write: (s) => void stderr.write(s), get columns() { return stderr.columns ?? 80; } } : undefined,
    env: process.env,
  };
}

/** Run `urb` with `argv` (the arguments after `urb`); returns the exit code. */
export async function runCli(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "-h" || name === "--help" || name === "help") {
    const topic = name === "help" ? COMMANDS.find((c) => c.name === rest[0]) : undefined;
    io.stdout.text((topic !== undefined ? (await topic.load()).help : mainHelp()) + "\n");
    io.stdout.flush();
    return name === undefined ? 2 : 0;
  }
  if (name === "-v" || name === "--version") {
    io.stdout.text(`urb ${version()}\n`);
    io.stdout.flush();
    return 0;
  }
  const entry = COMMANDS.find((c) => c.name === name);
  if (entry === undefined) {
    io.error(`unknown command ${JSON.stringify(name)} (commands: ${COMMANDS.map((c) => c.name).join(", ")}; see urb --help)`);
    return 2;
  }
  const cmd = await entry.load();
  try {
    const { own, tail } = cmd.splitArgs?.(rest) ?? splitAtDashes(rest);
    // `--help` among the command's own arguments asks for help, whatever else is on the line.
    if (own.includes("--help") || own.includes("-h")) {
      io.stdout.text(cmd.help + "\n");
      io.stdout.flush();
      return 0;
    }
    const { values, positionals } = parseCommand(cmd, own);
    const code = await cmd.run(values, [...positionals, ...tail], io);
    io.stdout.flush();
    return code;
  } catch (e) {
    return reportError(cmd, e, io);
  }
}

/** One line for a user error, the stack for a bug; returns the exit code. */
function reportError(cmd: Command, e: unknown, io: CliIo): number {
  if (e instanceof OutputClosedError) return 0;
  if (e instanceof UsageError) {
    io.error(`${cmd.name}: ${e.message} (see urb ${cmd.name} --help)`);
    return 2;
  }
  if (e instanceof InputError) {
    io.error(`${cmd.name}: ${e.message}`);
    return 1;
  }
  if (e instanceof TraceFileError || e instanceof RingFormatError || e instanceof NativeAddonError) {
    io.error(`${cmd.name}: ${e.message}`);
    return 1;
  }
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code === "string" && FS_CODES.has(code)) {
    const path = (e as NodeJS.ErrnoException).path;
    io.error(`${cmd.name}: ${path !== undefined ? `${path}: ` : ""}${describeFsError(e)}`);
    return 1;
  }
  io.error(`${cmd.name}: internal error (please report it): ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  return 70;
}

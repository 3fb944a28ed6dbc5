/**
 * `urb record [options] -- COMMAND [ARGS...]`: record every Node.js process of a command into one
 * file ring that they all map (src/record/preload.ts attaches each process), drained to a `.urb`
 * file by this process (src/node/drain.ts) while they run and after they die. This side creates
 * the ring and the file, starts the command with the preload in NODE_OPTIONS, forwards
 * SIGINT/SIGTERM/SIGHUP to it, names the processes it cannot record, and reports the file.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, existsSync, lstatSync, openSync, unlinkSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { constants, tmpdir } from "node:os";
import { NativeAddonError } from "../errors.js";
import { drainRing, liveWriters } from "../node/drain.js";
import { createFileRing } from "../node/file-ring.js";
import { type TracePipe, pipeToFile } from "../node/pipe.js";
import { descendantPids, processInfo } from "../node/process-tree.js";
import { processAlive } from "../node/producers.js";
import { openTraceFile } from "../node/trace-file.js";
import { isPackageManager } from "../record/package-managers.js";
import { type RingBuffer, ringBytes } from "../ring.js";
import { type RecordConfig, RECORD_ENV, ringOptions } from "../record/config.js";
import { type CliIo, type Command, type OptionSpec, InputError, UsageError, stringOption } from "./command.js";
import { describeFsError } from "./open-trace.js";
import { formatBytes, parseCount, parseSize } from "./units.js";

const DEFAULTS = { out: "trace.urb", size: 1 << 20, pageSize: 16384, lanes: 8, mode: "discard", flushMs: 1000 } as const;

const OPTIONS: OptionSpec = {
  output: { type: "string", short: "o" },
  size: { type: "string" },
  "page-size": { type: "string" },
  lanes: { type: "string" },
  mode: { type: "string" },
  "flush-ms": { type: "string" },
  "no-instrument": { type: "boolean" },
};

export const recordCommand: Command = {
  name: "record",
  help: `Usage: urb record [options] -- COMMAND [ARGS...]

Run COMMAND and record every Node.js process it starts (the program, cluster workers, forked or
spawned node processes, npm scripts, several node processes of a shell) into one ring in a file
they all map, on one clock; urb drains it to the trace file itself, so a process that exits,
throws or is killed (SIGKILL too) loses nothing it committed. Programs and their worker threads
write with recordingRing() from "unified-ring-buffer/record"; every record says which process and
thread wrote it. Processes that cannot be recorded (not Node.js, no free producer slot) are named
on stderr. Ctrl-C stops the program and leaves a complete, readable file. The exit code is the
program's. Needs the native addon (file rings).

Options:
  -o, --output FILE   the trace file (default ${DEFAULTS.out}); replaced if it exists
  --size BYTES        ring bytes per lane, e.g. 256k, 4M (default 1M)
  --page-size BYTES   page size, a power of two from 256 to 64k (default 16k)
  --lanes N           per-thread lanes, shared by all processes: threads that write without
                      contention (default ${DEFAULTS.lanes}; one shared lane takes the rest)
  --mode MODE         discard (default: when the file cannot keep up, new records are dropped
                      and counted) or overwrite (the oldest unsaved pages are, and counted)
  --flush-ms MS       write the committed part of unfinished pages at least this often (default ${DEFAULTS.flushMs})
  --no-instrument     do not record Node's own events (by default HTTP, fetch, net, DNS, worker
                      threads, GC pauses and event-loop delay are recorded in every process,
                      docs/INTEGRATIONS.md)
  -h, --help          show this help

urb keeps recording until COMMAND has exited and no recorded process of it is left.

Example:
  urb record -o app.urb -- node app.js --port 8080
  urb record -o app.urb -- npm start
  urb record -o cluster.urb -- sh -c 'node api.js & node worker.js; wait'`,
  options: OPTIONS,
  splitArgs(argv) {
    const { options, command } = splitCommand(argv);
    return { own: options, tail: command };
  },
  async run(values, positionals, io) {
    if (positionals.length === 0) throw new UsageError("missing the command to run, e.g. urb record -- node app.js");
    const config = recordConfig(values);
    prepareOutput(config.out);
    return runRecorded(config, positionals, io);
  },
};

/**
 * Split `urb record` arguments into its options and the command: everything after `--`, or from
 * the first argument that is not an option (or an option's value).
 */
export function splitCommand(argv: readonly string[]): { options: string[]; command: string[] } {
  const dashes = argv.indexOf("--");
  if (dashes >= 0) {
    const before = splitCommand(argv.slice(0, dashes));
    if (before.command.length > 0) throw new UsageError(`unexpected ${JSON.stringify(before.command[0])} before -- (the command goes after --)`);
    return { options: before.options, command: argv.slice(dashes + 1) };
  }
  const takesValue = new Set<string>();
  for (const [name, spec] of Object.entries(OPTIONS)) {
    if (spec.type !== "string") continue;
    takesValue.add(`--${name}`);
    if (spec.short !== undefined) takesValue.add(`-${spec.short}`);
  }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (!a.startsWith("-")) return { options: argv.slice(0, i), command: argv.slice(i) };
    if (takesValue.has(a)) i++;
  }
  return { options: [...argv], command: [] };
}

function recordConfig(values: Record<string, unknown>): RecordConfig {
  const sizeText = stringOption(values, "size");
  const pageText = stringOption(values, "page-size");
  const lanesText = stringOption(values, "lanes");
  const flushText = stringOption(values, "flush-ms");
  const mode = stringOption(values, "mode") ?? DEFAULTS.mode;
  if (mode !== "discard" && mode !== "overwrite") throw new UsageError(`option --mode: expected discard or overwrite, received ${JSON.stringify(mode)}`);
  const pageSize = pageText === undefined ? DEFAULTS.pageSize : parseSize("--page-size", pageText);
  const size = sizeText === undefined ? DEFAULTS.size : parseSize("--size", sizeText);
  // Pages per lane: the size rounded up to a power of two pages, at least 4.
  const pagesPerLane = Math.max(4, 2 ** Math.ceil(Math.log2(Math.max(1, size / pageSize))));
  const config: RecordConfig = {
    ring: join(existsSync("/dev/shm") ? "/dev/shm" : tmpdir(), `urb-record-${process.pid}-${randomBytes(4).toString("hex")}.ring`),
    out: resolve(stringOption(values, "output") ?? DEFAULTS.out),
    lanes: lanesText === undefined ? DEFAULTS.lanes : parseCount("--lanes", lanesText, 1, 256),
    sharedLanes: 1,
    pageSize,
    pagesPerLane,
    mode,
    flushMs: flushText === undefined ? DEFAULTS.flushMs : parseCount("--flush-ms", flushText, 10, 3_600_000),
    instrument: values["no-instrument"] !== true,
  };
  try {
    ringBytes(ringOptions(config));
  } catch (e) {
    throw new UsageError(e instanceof Error ? e.message.replace(/^Cannot create ring: /, "ring size: ") : String(e));
  }
  return config;
}

/** Remove a previous trace at `out` and check that the file can be created there. */
function prepareOutput(out: string): void {
  try {
    if (lstatSync(out, { throwIfNoEntry: false })?.isDirectory() === true) throw new InputError(`cannot write ${out}: it is a directory`);
    unlinkSync(out);
  } catch (e) {
    if (e instanceof InputError) throw e;
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw new InputError(`cannot replace ${out}: ${describeFsError(e)}`);
  }
  try {
    closeSync(openSync(out, "wx", 0o600));
    unlinkSync(out);
  } catch (e) {
    throw new InputError(`cannot write ${out}: ${describeFsError(e)}`);
  }
}

/** NODE_OPTIONS with our preload appended (a file: URL, so a path with spaces needs no quoting). */
export function nodeOptionsWithPreload(existing: string | undefined): string {
  // A file: URL is percent-encoded: no space or quote for NODE_OPTIONS's word splitting to trip on.
  const preload = new URL("../record/preload.js", import.meta.url).href;
  return `${existing ? `${existing} ` : ""}--import=${preload}`;
}

const FORWARDED = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

/**
 * How often the process tree is looked at for processes that are not recorded (a look reads
 * /proc/<pid>/stat of every process of the machine: a few ms, kept off the recorded program's cores).
 */
const TREE_CHECK_MS = 1000;
/** A Node.js process of the tree that has no writer after this long is named as not recording. */
const ATTACH_GRACE_MS = 2000;

async function runRecorded(config: RecordConfig, command: string[], io: CliIo): Promise<number> {
  let ring: RingBuffer;
  try {
    ring = createFileRing(config.ring, ringOptions(config));
  } catch (e) {
    if (e instanceof NativeAddonError) throw new InputError(`urb record maps one ring into every process of the command and needs the native addon: ${e.message}`);
    throw new InputError(`cannot create the ring file ${config.ring}: ${describeFsError(e)}`);
  }
  let pipe: TracePipe;
  try {
    pipe = pipeToFile(ring, config.out);
  } catch (e) {
    removeFile(config.ring);
    throw new InputError(`cannot write ${config.out}: ${describeFsError(e)}`);
  }
  const env = { ...io.env, NODE_OPTIONS: nodeOptionsWithPreload(io.env["NODE_OPTIONS"]), [RECORD_ENV]: JSON.stringify(config) };
  const [file, ...args] = command as [string, ...string[]];
  let commandDone = false;
  let tree: ReturnType<typeof watchTree> | undefined;
  const stopDrain = new AbortController();
  // urb drains the ring to the file while the command runs, and until every recorded process of it
  // is gone (a cluster's workers may outlive its primary): what they committed is in the file even
  // if they are killed.
  const drained = drainRing(ring, pipe, {
    signal: stopDrain.signal,
    flushMs: config.flushMs,
    // The pipe moves whole pages between flushes: short sleeps after a wake would find nothing to
    // move, and cost the recorded tree a wakeup every few ms of a steady stream (bench/notes/record-tree.md).
    tailWaitMs: 0,
    // Writers that did not tag themselves with their pid cannot be told dead: also wait for every
    // process of the tree that was seen.
    stopWhenNoWriters: () => commandDone && tree?.anyAlive() !== true,
    onReclaimed: (p) => {
      if (p.abandoned > 0) io.error(`record: pid ${p.tag} ended with ${p.abandoned} reservation(s) never committed (skipped; everything it committed is in the file)`);
    },
  });
  const child = spawn(file, args, { stdio: "inherit", env });
  if (child.pid !== undefined) tree = watchTree(child.pid, ring, config, io);
  const forward = (signal: NodeJS.Signals): void => {
    // On a terminal Ctrl-C reaches the program too; it stops on the first and ignores a repeat.
    // Once the command is gone, a signal stops waiting for its remaining processes.
    if (commandDone) stopDrain.abort();
    else child.kill(signal);
  };
  for (const s of FORWARDED) process.on(s, forward);
  let outcome: { code: number | null; signal: NodeJS.Signals | null } | Error;
  try {
    outcome = await new Promise((ok) => {
      child.once("error", (e) => ok(e));
      child.once("exit", (code, signal) => ok({ code, signal }));
    });
    commandDone = true;
    if (outcome instanceof Error) stopDrain.abort();
    const waiting = setTimeout(() => {
      const pids = [...new Set([...liveWriters(ring).map((p) => p.tag), ...(tree?.alive() ?? [])])];
      if (pids.length > 0) io.error(`record: ${file} exited; recording until its other processes end too (pid ${pids.join(", ")}; Ctrl-C to stop now)`);
    }, 1000);
    try {
      await drained;
    } finally {
      clearTimeout(waiting);
    }
  } finally {
    for (const s of FORWARDED) process.off(s, forward);
    tree?.stop();
    removeFile(config.ring);
  }
  if (outcome instanceof Error) {
    const code = (outcome as NodeJS.ErrnoException).code;
    removeFile(config.out);
    throw new InputError(`cannot run ${file}: ${code === "ENOENT" ? "command not found" : describeFsError(outcome)}`);
  }
  const exitCode = outcome.code ?? 128 + (outcome.signal !== null ? (constants.signals[outcome.signal] ?? 0) : 0);
  if (tree !== undefined && tree.recorded.size === 0 && ring.stats().total.written === 0) {
    removeFile(config.out);
    io.error(`record: no trace was written: ${file} started no Node.js process that recorded (is it a Node.js program?)`);
    return exitCode !== 0 ? exitCode : 1;
  }
  io.error(`record: ${describeRecording(config.out) ?? `no trace at ${config.out}`}`);
  return exitCode;
}

/**
 * Watch the command's process tree: name on stderr, once each, the processes that are not
 * recorded (not Node.js; or Node.js without a writer after a grace period while the default
 * instrumentation is on, e.g. started with an environment that dropped NODE_OPTIONS, or refused by
 * a full ring). Linux only (/proc); elsewhere it says nothing.
 */
function watchTree(root: number, ring: RingBuffer, config: RecordConfig, io: CliIo): { stop(): void; recorded: Set<number>; alive(): number[]; anyAlive(): boolean } {
  const seen = new Map<number, number>(); // pid -> first seen (ms)
  const members = new Set<number>([root]); // every process of the tree seen so far
  const named = new Set<number>();
  const recorded = new Set<number>();
  const look = (): void => {
    const now = performance.now();
    for (const p of liveWriters(ring)) recorded.add(p.tag);
    for (const pid of [root, ...descendantPids(root)]) {
      members.add(pid);
      if (named.has(pid) || recorded.has(pid)) continue;
      // Command line and executable only for a process still to classify (not every second for all).
      const p = processInfo(pid);
      if (p === undefined) continue;
      const first = seen.get(p.pid) ?? now;
      seen.set(p.pid, first);
      const what = `pid ${p.pid} (${p.cmdline.join(" ").slice(0, 120) || p.comm})`;
      const node = p.exe !== "" ? basename(p.exe).startsWith("node") || p.exe === process.execPath : p.comm === "node";
      if (!node) {
        named.add(p.pid);
        io.error(`record: not recorded: ${what}: not a Node.js process`);
      } else if (config.instrument && now - first >= ATTACH_GRACE_MS && !isPackageManager(p.cmdline[1])) {
        named.add(p.pid);
        io.error(`record: not recorded: ${what}: a Node.js process that did not attach to the ring (NODE_OPTIONS removed from its environment?)`);
      }
    }
  };
  look();
  const timer = setInterval(look, TREE_CHECK_MS);
  timer.unref();
  const alive = (): number[] => [...members].filter((pid) => processAlive(pid));
  return {
    recorded,
    alive,
    anyAlive: () => alive().length > 0,
    stop() {
      clearInterval(timer);
    },
  };
}

function removeFile(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}

/** One line about the recorded file, or undefined when there is none. */
function describeRecording(out: string): string | undefined {
  let trace;
  try {
    trace = openTraceFile(out);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    return `${out} was written but cannot be read: ${e instanceof Error ? e.message : String(e)}`;
  }
  try {
    const end = trace.end as { pages?: number; fragments?: number; lost?: number } | undefined;
    const state = end !== undefined ? `closed cleanly${end.lost ? `, ${end.lost} records lost before hand-off` : ""}` : "not closed cleanly (the program was killed?); readable up to its last whole chunk";
    return `wrote ${out} (${formatBytes(trace.size)}, ${state})`;
  } finally {
    trace.close();
  }
}

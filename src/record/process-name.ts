/**
 * What a recorded process is called in the trace (a process entry, docs/FORMAT.md 12.6): the
 * command that started it, as `ps` shows it but with base names ("node server.js --port 8080"),
 * and for a cluster worker which one ("node server.js (cluster worker 2)": the workers of a
 * cluster run the primary's command line). Cluster workers are told apart by `cluster.worker.id`,
 * as Node deletes NODE_UNIQUE_ID from the environment before preloads run.
 */
import cluster from "node:cluster";
import { basename } from "node:path";

/** Characters of the command kept (the arguments are cut with "…"): with " (cluster worker NN)" an ASCII name fits the 64-byte process entry. */
const COMMAND_MAX = 44;

/** The name of this process, e.g. "node server.js" or "node server.js (cluster worker 1)". */
export function processName(): string {
  const [exe, script, ...args] = process.argv;
  let command = basename(process.argv0 || exe || "node");
  if (script !== undefined && script !== "") command += ` ${basename(script)}`;
  if (args.length > 0) command += ` ${args.join(" ")}`;
  if (command.length > COMMAND_MAX) command = `${command.slice(0, COMMAND_MAX - 1)}…`;
  const worker = cluster.isWorker ? cluster.worker?.id : undefined;
  return worker !== undefined ? `${command} (cluster worker ${worker})` : command;
}

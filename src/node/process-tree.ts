/**
 * The processes a command started: its descendants, read from /proc (Linux). Elsewhere the list
 * is empty (the caller then cannot name unrecorded processes, and says nothing).
 *
 * Cost: `urb record` looks at the tree every second for as long as it records, beside the program.
 * Finding the descendants reads one small file per process of the machine (its `stat`, for the
 * parent id) where the kernel has no `/proc/PID/task/TID/children` lists, and only the tree's own
 * files where it has; the command line and executable ({@link processInfo}) are read only for the
 * processes the caller still has to classify, not for every process of the machine every second.
 */
import { readdirSync, readFileSync, readlinkSync } from "node:fs";

/** One process of a tree. */
export interface TreeProcess {
  readonly pid: number;
  readonly ppid: number;
  /** Short name of the executable (the kernel's `comm`, at most 15 characters). */
  readonly comm: string;
  /** The command line ("" if unreadable). */
  readonly cmdline: readonly string[];
  /** The executable's path ("" if unreadable). */
  readonly exe: string;
}

/**
 * /proc/PID/stat of `pid` (or "self"): `comm`, and the fields after it (`fields[0]` is field 3 of
 * proc(5), the state; `fields[1]` the ppid; `fields[11]` and `fields[12]` utime and stime, in clock
 * ticks); undefined when the process is gone or there is no /proc. The comm may hold spaces and
 * parentheses: the fields start after the last ")".
 */
export function procStat(pid: number | "self"): { comm: string; fields: string[] } | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  const close = stat.lastIndexOf(")");
  return { comm: stat.slice(stat.indexOf("(") + 1, close), fields: stat.slice(close + 2).split(" ") };
}

/** `comm` and the parent id from /proc/PID/stat, or undefined when the process is gone. */
function readStat(pid: number): { comm: string; ppid: number } | undefined {
  const s = procStat(pid);
  return s === undefined ? undefined : { comm: s.comm, ppid: Number(s.fields[1]) };
}

/** The children of `pid` from the kernel's per-thread lists, or undefined where the kernel keeps none. */
function childrenOf(pid: number): number[] | undefined {
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const task of tasks) {
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/task/${task}/children`, "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT" && task === String(pid)) return undefined; // no such lists (CONFIG_PROC_CHILDREN off)
      continue; // the thread ended meanwhile
    }
    for (const word of text.split(" ")) {
      const child = Number(word);
      if (Number.isInteger(child) && child > 0) out.push(child);
    }
  }
  return out;
}

/** Every live process's parent, from one pass over /proc. */
function parents(): Map<number, number[]> {
  const byParent = new Map<number, number[]>();
  let names: string[];
  try {
    names = readdirSync("/proc");
  } catch {
    return byParent;
  }
  for (const name of names) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid <= 0) continue;
    const s = readStat(pid);
    if (s === undefined) continue;
    const list = byParent.get(s.ppid);
    if (list === undefined) byParent.set(s.ppid, [pid]);
    else list.push(pid);
  }
  return byParent;
}

/** The live descendants of `root` (not `root` itself), parents before children. Empty where /proc is missing. */
export function descendantPids(root: number): number[] {
  const out: number[] = [];
  const queue = [root];
  let byParent: Map<number, number[]> | undefined;
  for (let i = 0; i < queue.length && out.length < 100_000; i++) {
    const pid = queue[i] as number;
    let children = byParent === undefined ? childrenOf(pid) : undefined;
    if (children === undefined) children = (byParent ??= parents()).get(pid) ?? [];
    for (const child of children) {
      out.push(child);
      queue.push(child);
    }
  }
  return out;
}

/** The process with id `pid`, or undefined when it is gone (or there is no /proc). */
export function processInfo(pid: number): TreeProcess | undefined {
  const s = readStat(pid);
  if (s === undefined) return undefined;
  let cmdline: string[] = [];
  let exe = "";
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter((a) => a !== "");
    exe = readlinkSync(`/proc/${pid}/exe`);
  } catch {
    // gone meanwhile, or not ours to read
  }
  return { pid, ppid: s.ppid, comm: s.comm, cmdline, exe };
}

/**
 * The processes a command started: its descendants, read from /proc (Linux). Elsewhere the list
 * is empty (the caller then cannot name unrecorded processes, and says nothing).
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

function readProcess(pid: number): TreeProcess | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const close = stat.lastIndexOf(")");
    const comm = stat.slice(stat.indexOf("(") + 1, close);
    const fields = stat.slice(close + 2).split(" ");
    const ppid = Number(fields[1]);
    let cmdline: string[] = [];
    let exe = "";
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter((a) => a !== "");
      exe = readlinkSync(`/proc/${pid}/exe`);
    } catch {
      // gone meanwhile, or not ours to read
    }
    return { pid, ppid, comm, cmdline, exe };
  } catch {
    return undefined;
  }
}

/** The live descendants of `root` (not `root` itself), parents before children. Empty where /proc is missing. */
export function descendants(root: number): TreeProcess[] {
  let names: string[];
  try {
    names = readdirSync("/proc");
  } catch {
    return [];
  }
  const byParent = new Map<number, TreeProcess[]>();
  for (const name of names) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid <= 0) continue;
    const p = readProcess(pid);
    if (p === undefined) continue;
    const list = byParent.get(p.ppid);
    if (list === undefined) byParent.set(p.ppid, [p]);
    else list.push(p);
  }
  const out: TreeProcess[] = [];
  const queue = [root];
  for (let i = 0; i < queue.length && out.length < 100_000; i++) {
    for (const child of byParent.get(queue[i] as number) ?? []) {
      out.push(child);
      queue.push(child.pid);
    }
  }
  return out;
}

/** The process with id `pid`, or undefined when it is gone (or there is no /proc). */
export function processInfo(pid: number): TreeProcess | undefined {
  return readProcess(pid);
}

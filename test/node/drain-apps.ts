/**
 * Helpers of the crash-safe logging and span tests: run a fixture program that ends by exit, throw
 * or its parent's SIGKILL right after its LOGGED marker, wait for the ring's drain process to
 * finish, and read what arrived.
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { LOGGED_MARKER, type Ending } from "./fixtures/crash-protocol-log.js";

/** How a fixture run ended: its stderr (marker line included) and exit code or signal. */
export interface AppRun {
  stderr: string;
  exit: number | string;
  /** Lines the program's destination dropped (its marker says), or 0. */
  dropped: number;
}

/** Run `test/node/fixtures/<name>.js` with `config`; SIGKILL it as soon as its marker is on stderr when `end` is "kill". */
export function runApp<C extends { end: Ending }>(name: string, config: C, timeoutMs = 120_000): Promise<AppRun> {
  const url = new URL(`./fixtures/${name}.js`, import.meta.url);
  const cp = spawn(process.execPath, [url.pathname, JSON.stringify(config)], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  let killed = false;
  cp.stderr.setEncoding("utf8");
  cp.stderr.on("data", (s: string) => {
    stderr += s;
    if (!killed && config.end === "kill" && stderr.includes(LOGGED_MARKER)) {
      killed = true;
      cp.kill("SIGKILL");
    }
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cp.kill("SIGKILL");
      reject(new Error(`fixture ${name} did not end within ${timeoutMs} ms; stderr: ${stderr}`));
    }, timeoutMs);
    cp.on("exit", (code, signal) => {
      clearTimeout(timer);
      const m = /dropped=(\d+)/.exec(stderr);
      resolve({ stderr, exit: code ?? signal ?? "unknown", dropped: m ? Number(m[1]) : 0 });
    });
  });
}

/**
 * Wait until the drain of `ring` has finished: its lock file is gone (for 300 ms in a row, so a
 * hand-over to a new drain is not mistaken for the end) and its log has at least `summaries`
 * summary lines. Returns the drain log.
 */
export async function drainFinished(ring: string, summaries = 1, timeoutMs = 60_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let freeSince: number | undefined;
  for (;;) {
    const log = existsSync(`${ring}.drain.log`) ? readFileSync(`${ring}.drain.log`, "utf8") : "";
    const done = (log.match(/records delivered/g) ?? []).length >= summaries;
    if (done && !existsSync(`${ring}.drain`)) {
      freeSince ??= Date.now();
      if (Date.now() - freeSince >= 300) return log;
    } else freeSince = undefined;
    if (Date.now() > deadline) throw new Error(`the drain of ${ring} did not finish within ${timeoutMs} ms; its log: ${log}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The JSON lines of a file ([] if there is none); a line that does not parse is kept as { unparsed }. */
export function jsonLines(path: string): Record<string, unknown>[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, "utf8")
    .split("\n")
    .filter((l) => l.length > 0)
    .map((l) => {
      try {
        return JSON.parse(l) as Record<string, unknown>;
      } catch {
        return { unparsed: l };
      }
    });
}

/** What arrived of a writer's lines `i` = 0..n-1 (and n, the exit handler's): count, in order, exactly 0..count-1 without gap or repeat. */
export interface Arrival {
  arrived: number;
  inOrder: boolean;
  /** The lines form a prefix 0..k-1 (nothing missing in the middle, nothing twice). */
  prefix: boolean;
  exitHandler: boolean;
}

export function arrival(lines: readonly Record<string, unknown>[], n: number, w = 0, key = "i"): Arrival {
  const is = lines.filter((l) => (l.w ?? 0) === w && typeof l[key] === "number").map((l) => l[key] as number);
  const body = is.filter((i) => i < n);
  let inOrder = true;
  for (let k = 1; k < body.length; k++) if ((body[k] as number) <= (body[k - 1] as number)) inOrder = false;
  const prefix = body.every((i, k) => i === k);
  return { arrived: body.length, inOrder, prefix, exitHandler: is.includes(n) };
}

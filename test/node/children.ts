/**
 * Helpers of the file-ring tests: temporary ring paths in /dev/shm and child processes (fork, with
 * an IPC channel) that run the fixtures in test/node/fixtures/.
 */
import { fork, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, unlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A fresh path for a ring file: in /dev/shm where it exists (memory), else the temp directory. */
export function ringPath(name: string): string {
  const dir = existsSync("/dev/shm") ? "/dev/shm" : tmpdir();
  return join(dir, `urb-test-${name}-${process.pid}-${randomBytes(4).toString("hex")}`);
}

/** Remove a ring file and the files a drain keeps beside it (pid file, its log, the steal and start claims). */
export function removeRingFiles(ring: string): void {
  for (const s of ["", ".drain", ".drain.log", ".drain.steal", ".drain.starting"]) removeFile(ring + s);
}

/** Remove a file if it is there. */
export function removeFile(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // not there
  }
}

/** A forked fixture process and the messages it sent. */
export interface Child {
  readonly process: ChildProcess;
  /** Resolves with the first message (from now on) that satisfies `pred`; rejects if the child exits first. */
  next<T = Record<string, unknown>>(pred?: (m: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<T>;
  send(message: unknown): void;
  /** Resolves with the exit code (or signal name) once the process has exited. */
  readonly exited: Promise<number | string>;
  kill(signal?: NodeJS.Signals): void;
}

/** Fork `test/node/fixtures/<name>.js` (compiled) with `config` as its JSON argument. */
export function startChild(name: string, config: unknown, env: NodeJS.ProcessEnv = {}, execArgv: string[] = []): Child {
  const url = new URL(`./fixtures/${name}.js`, import.meta.url);
  const cp = fork(url, [JSON.stringify(config)], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
    env: { ...process.env, ...env },
    execArgv,
  });
  const inbox: Record<string, unknown>[] = [];
  const waiting: { pred: (m: Record<string, unknown>) => boolean; resolve: (m: Record<string, unknown>) => void }[] = [];
  let exitInfo: number | string | undefined;
  const exitListeners: (() => void)[] = [];
  cp.on("message", (m: Record<string, unknown>) => {
    const k = waiting.findIndex((w) => w.pred(m));
    if (k >= 0) waiting.splice(k, 1)[0]?.resolve(m);
    else inbox.push(m);
  });
  const exited = new Promise<number | string>((resolve) => {
    cp.on("exit", (code, signal) => {
      exitInfo = code ?? signal ?? "unknown";
      for (const l of exitListeners.splice(0)) l();
      resolve(exitInfo);
    });
  });
  return {
    process: cp,
    next<T>(pred: (m: Record<string, unknown>) => boolean = () => true, timeoutMs = 30_000): Promise<T> {
      const k = inbox.findIndex(pred);
      if (k >= 0) return Promise.resolve(inbox.splice(k, 1)[0] as T);
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`fixture ${name}: no matching message within ${timeoutMs} ms`)), timeoutMs);
        const entry = {
          pred,
          resolve: (m: Record<string, unknown>) => {
            clearTimeout(timer);
            resolve(m as T);
          },
        };
        waiting.push(entry);
        const onExit = () => {
          const i = waiting.indexOf(entry);
          if (i < 0) return;
          waiting.splice(i, 1);
          clearTimeout(timer);
          reject(new Error(`fixture ${name} exited (${String(exitInfo)}) before sending the expected message`));
        };
        if (exitInfo !== undefined) onExit();
        else exitListeners.push(onExit);
      });
    },
    send(message: unknown): void {
      cp.send(message as never);
    },
    exited,
    kill(signal: NodeJS.Signals = "SIGKILL"): void {
      if (exitInfo === undefined) cp.kill(signal);
    },
  };
}

/** The fixture's JSON argument (call in a fixture). */
export function fixtureConfig<T>(): T {
  return JSON.parse(process.argv[2] ?? "{}") as T;
}

/** Send a message to the parent and wait until it is handed to the OS (so a kill cannot lose it). */
export function tell(message: unknown): Promise<void> {
  return new Promise((resolve, reject) => {
    if (process.send === undefined) throw new Error("not a forked child");
    process.send(message as never, undefined, {}, (e: Error | null) => (e ? reject(e) : resolve()));
  });
}

/**
 * Running the real `urb` executable (dist/src/cli/main.js) in a child process, as a user would,
 * and the example program it records (dist/examples/traced-app.js).
 */
import { spawn, type SpawnOptions } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const URB = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
export const APP = fileURLToPath(new URL('../../examples/traced-app.js', import.meta.url));

export interface UrbResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Run `urb ...args` to completion (killed after `timeoutMs`), capturing its output. */
export function urb(args: readonly string[], options: SpawnOptions & { timeoutMs?: number } = {}): Promise<UrbResult> {
  return run(process.execPath, [URB, ...args], options);
}

export function run(file: string, args: readonly string[], options: SpawnOptions & { timeoutMs?: number } = {}): Promise<UrbResult> {
  return new Promise((ok, fail) => {
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr?.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 20_000);
    child.once('error', fail);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      ok({ code, signal, stdout, stderr });
    });
  });
}

/** The expected events of `traced-app --requests R --jobs J` with 2 workers, by name. */
export function appCounts(requests: number, jobs: number, workers = 2): Record<string, number> {
  const upTo = (pred: (n: number) => boolean) => Array.from({ length: requests }, (_, n) => n).filter(pred).length;
  return {
    http_request: requests,
    tick_start: requests,
    tick_end: requests,
    heap: upTo((n) => n % 5 === 0),
    log: upTo((n) => n % 10 === 9),
    job_start: workers * jobs,
    job_end: workers * jobs,
    step: workers * jobs * 3,
    queue_depth: workers * jobs,
  };
}

/**
 * Running a `urb` command in this process with its standard output captured (a temporary file
 * behind the CLI's FdOutput) and its stderr lines collected: faster than a child process, for
 * tests that run many commands.
 */
import { mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FdOutput } from '../../src/cli/output.js';
import { runCli } from '../../src/cli/run.js';

export interface Captured {
  code: number;
  stdout: string;
  stderr: string[];
}

export async function runCaptured(args: readonly string[]): Promise<Captured> {
  const dir = mkdtempSync(join(tmpdir(), 'urb-cap-'));
  try {
    const path = join(dir, 'out');
    const out = new FdOutput(openSync(path, 'w'), true);
    const stderr: string[] = [];
    let code: number;
    try {
      code = await runCli(args, { stdout: out, error: (l) => stderr.push(l), tty: undefined, env: process.env });
    } finally {
      out.close();
    }
    return { code, stdout: readFileSync(path, 'utf8'), stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

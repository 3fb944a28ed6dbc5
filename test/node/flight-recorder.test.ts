import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openTraceFile } from '../../src/node/index.js';

const app = fileURLToPath(new URL('../fixtures/crashing-app.js', import.meta.url));

function typesIn(path: string): Map<number, number> {
  const trace = openTraceFile(path);
  const counts = new Map<number, number>();
  trace.read((r) => counts.set(r.type, (counts.get(r.type) ?? 0) + 1));
  trace.close();
  return counts;
}

test('flight recorder: an uncaught exception leaves a dump with the last events of the main thread and a worker', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'urb-fr-'));
  try {
    const child = spawn(process.execPath, [app, dir, 'throw'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const code = await new Promise((r) => child.on('exit', r));
    assert.notEqual(code, 0, 'the process still crashes');
    assert.match(stderr, /boom: the app failed/);
    const path = join(dir, 'app-uncaughtException.urb');
    assert.ok(existsSync(path), `no dump; stderr: ${stderr}`);
    assert.deepEqual([...typesIn(path)].sort(), [[1, 50], [2, 100]]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('flight recorder: SIGUSR2 dumps on demand and the process goes on', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'urb-fr-'));
  try {
    const child = spawn(process.execPath, [app, dir, 'signal'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    await new Promise<void>((resolve) => child.stdout.on('data', (d) => String(d).includes('ready') && resolve()));
    child.kill('SIGUSR2');
    const code = await new Promise((r) => child.on('exit', r));
    assert.equal(code, 0);
    assert.ok(existsSync(join(dir, 'app-SIGUSR2.urb')), `no dump; stderr: ${stderr}`);
    assert.deepEqual([...typesIn(join(dir, 'app-SIGUSR2.urb'))].sort(), [[1, 50], [2, 100]]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

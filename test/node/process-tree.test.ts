/**
 * The process tree `urb record` watches (Linux /proc): descendants found through the kernel's
 * children lists or, without them, one pass over every process's parent id; a process's command
 * line and executable read on demand.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { once } from 'node:events';
import { descendantPids, processInfo } from '../../src/node/process-tree.js';

const skip = !existsSync('/proc/self/stat') && 'no /proc';

test('descendantPids: a child and its grandchild, parents first; processInfo names them', { skip }, async () => {
  // The child starts a grandchild and says its pid; both wait until killed.
  const child = spawn(process.execPath, ['-e', "const c = require('child_process').spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'ignore' }); console.log(c.pid); setTimeout(() => {}, 30000)"], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const [line] = (await once(child.stdout.setEncoding('utf8'), 'data')) as [string];
    const grandchild = Number(line.trim());
    const pids = descendantPids(process.pid);
    assert.ok(pids.includes(child.pid!) && pids.includes(grandchild), `${pids.join(' ')} has ${child.pid} and ${grandchild}`);
    assert.ok(pids.indexOf(child.pid!) < pids.indexOf(grandchild), 'parents before children');
    assert.deepEqual(descendantPids(child.pid!), [grandchild]);
    const info = processInfo(grandchild);
    assert.equal(info?.ppid, child.pid);
    assert.equal(info?.cmdline[0], process.execPath);
    assert.equal(info?.exe, process.execPath);
    process.kill(grandchild);
  } finally {
    child.kill();
  }
  assert.equal(processInfo(2 ** 22 + 12345), undefined, 'a pid that does not run');
});

/**
 * drainRing's sleeps (src/node/drain.ts): after a sleep that writers ended (records are coming),
 * the next sleeps are short (TAIL_WAIT_MS), so the last records of a burst, fewer than
 * `wakeRecords`, are not left for a full sleep; ACTIVE_MS after the last early wake they are full
 * again. The target is scripted: its sleeps end early or run out as the test says.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRing } from '../../src/index.js';
import { ACTIVE_MS, TAIL_WAIT_MS, drainRing, type DrainTarget } from '../../src/node/drain.js';

/** A drain target that moves nothing and sleeps as `wait` says (the test scripts its sleeps). */
function scriptedTarget(wait: DrainTarget['waitForPages']): DrainTarget {
  return { pump: () => 0, flush: () => 0, close: () => {}, lost: () => {}, waitForPages: wait };
}

test('drainRing: sleeps are short right after a sleep that writers ended, and full again once the writers stopped', async () => {
  const ring = createRing({ lanes: 1, sharedLanes: 0 });
  const ac = new AbortController();
  const timeouts: number[] = [];
  const started = performance.now();
  const target = scriptedTarget(async ({ timeoutMs }) => {
    timeouts.push(timeoutMs);
    // The first two sleeps are ended by commits at once; the rest run out (the writers stopped).
    if (timeouts.length > 2) await new Promise((r) => setTimeout(r, timeoutMs));
    if (timeouts.at(-1) === 100 && timeouts.length > 3) ac.abort();
    if (performance.now() - started > 5_000) ac.abort(); // bounded whatever the code does
  });
  await drainRing(ring, target, { signal: ac.signal, flushMs: 1000, checkMs: 1000 });
  assert.equal(timeouts[0], 100, 'a drain starts with full sleeps');
  assert.equal(timeouts[1], TAIL_WAIT_MS, 'after an early wake');
  assert.equal(timeouts[2], TAIL_WAIT_MS, 'still coming');
  const short = timeouts.slice(1, -1);
  assert.ok(short.every((t) => t === TAIL_WAIT_MS), JSON.stringify(timeouts));
  // Short sleeps for ACTIVE_MS after the last early wake (the second sleep), then a full one.
  assert.ok(short.length >= 2 && short.length <= ACTIVE_MS / TAIL_WAIT_MS + 2, `${short.length} short sleeps`);
  assert.equal(timeouts.at(-1), 100, 'full sleeps once the writers stopped');
});

test('drainRing with tailWaitMs: 0 (a page hand-off, urb record) sleeps in full even right after a sleep that writers ended', async () => {
  const ring = createRing({ lanes: 1, sharedLanes: 0 });
  const ac = new AbortController();
  const timeouts: number[] = [];
  const target = scriptedTarget(async ({ timeoutMs }) => {
    timeouts.push(timeoutMs);
    // Every sleep is ended by commits at once: the writers keep writing.
    if (timeouts.length >= 6) ac.abort();
  });
  await drainRing(ring, target, { signal: ac.signal, flushMs: 1000, checkMs: 1000, tailWaitMs: 0 });
  assert.deepEqual(timeouts, [100, 100, 100, 100, 100, 100]);
  await assert.rejects(drainRing(ring, target, { tailWaitMs: -1 }), /tailWaitMs must be a number >= 0/);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openWakeAsync, openWakeWorker, type WakeSession } from '../../bench/latency.js';

// Both wake-latency sessions across real threads: every record arrives in order (the readers throw
// otherwise), and the distribution is ordered and positive (a reader sees a record after its commit;
// a broken clock calibration between the threads would show up as negative latencies).
for (const [name, open] of [
  ['worker reader blocked in wait()', openWakeWorker],
  ['main-thread waitAsync() reader', openWakeAsync],
] as const) {
  test(`wake latency, ${name}: two runs of 30 records`, async () => {
    const session: WakeSession = await open();
    try {
      for (let run = 0; run < 2; run++) {
        const d = await session.runOnce(30);
        assert.ok(d.p50Ns > 0, `p50 ${d.p50Ns} ns`);
        assert.ok(d.p50Ns <= d.p99Ns && d.p99Ns <= d.p999Ns && d.p999Ns <= d.maxNs, JSON.stringify(d));
        assert.ok(d.waiting !== undefined && d.waiting >= 0 && d.waiting <= 30, `waiting ${d.waiting}`);
      }
    } finally {
      await session.close();
    }
  });
}

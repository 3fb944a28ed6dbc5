/**
 * Identity across real worker threads (FORMAT.md 8.5): 3 workers and the main thread write on
 * their own lanes and on the shared lane of one overwrite ring, many laps; every record a reader
 * gets says the thread that wrote it (Node's threadId, pid, and its name: "main", the worker's
 * script ("identity-worker.js"), or what setThreadName() said).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { once } from 'node:events';
import { createRing } from '../../src/index.js';
import '../../src/node/index.js'; // installs the Node identity provider in this thread

test('worker threads on own and shared lanes, overwrite mode after many laps: every record says which thread wrote it', async () => {
  const ring = createRing({ lanes: 4, sharedLanes: 1, pageSize: 1024, pagesPerLane: 4, mode: 'overwrite', clock: 'mono' });
  const count = 5000;
  const url = new URL('../fixtures/identity-worker.js', import.meta.url);
  const workers = [undefined, 'resizer', 'indexer'].map((name) => new Worker(url, { workerData: { buffer: ring.buffer, count, name } }));
  const exited = workers.map((w) => once(w, 'exit'));
  const names = new Map<number, string>([[0, 'main']]);
  workers.forEach((w, i) => names.set(w.threadId, i === 0 ? 'identity-worker.js' : (['', 'resizer', 'indexer'][i] as string)));
  const mainOwn = ring.writer();
  const p = new Uint8Array(8);
  for (let i = 0; i < count; i++) {
    new DataView(p.buffer).setUint32(4, i, true);
    mainOwn.write(1, p);
  }
  await Promise.all(exited);
  let n = 0;
  const seenThreads = new Set<number>();
  const it = ring.iterator();
  it.read((r) => {
    if (r.kind !== 'data') return;
    const tid = new DataView(r.bytes.buffer, r.bytes.byteOffset + r.offset, 8).getInt32(0, true);
    assert.equal(r.pid, process.pid);
    assert.equal(r.threadId, tid, `lane ${r.lane}: the record's thread`);
    assert.equal(r.threadName, names.get(tid));
    seenThreads.add(tid);
    n++;
  });
  assert.ok(ring.stats().total.overrun > 0, 'the ring lapped');
  assert.ok(n > 100);
  assert.deepEqual([...seenThreads].sort(), [...names.keys()].sort(), 'every thread has records left');
});

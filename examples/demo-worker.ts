/** Worker of examples/workers-demo.ts: writes text and numeric records on its own lane and on the shared lane. */
import { workerData } from 'node:worker_threads';
import { attachRing } from '../src/index.js';

const { buffer, id, records } = workerData as { buffer: SharedArrayBuffer; id: number; records: number };
const ring = attachRing(buffer);
const own = ring.writer({ tag: id });
const shared = ring.writer({ lane: 'shared', tag: id });
const encoder = new TextEncoder();

for (let i = 0; i < records; i++) {
  if (i % 1000 === 0) {
    // A text record on the shared lane: reserve, encode in place, commit.
    const text = `worker ${id} reached ${i}`;
    let at: number;
    while ((at = shared.tryReserve(1, text.length)) < 0); // the ring is full: wait for the reader
    encoder.encodeInto(text, shared.bytes.subarray(at, at + text.length));
    shared.commit(at);
  }
  // A 16-byte numeric sample on our own lane: no atomic read-modify-write, no allocation.
  let at: number;
  while ((at = own.tryReserve(2, 16)) < 0);
  own.f64[at >> 3] = i * 0.5;
  own.i32[(at >> 2) + 2] = id;
  own.i32[(at >> 2) + 3] = i;
  own.commit(at);
}
own.close();
shared.close();

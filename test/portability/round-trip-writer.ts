/**
 * A writer of the portability round trip (see round-trip.ts), as a module worker: the Web Worker API
 * only, so it runs in browsers, Deno and Bun alike. Waits for the race gate, writes its raw records
 * (waiting while its lane is full) and events, waits for the merge gate, writes the tail, reports.
 */
import { attachRing, defineEvent, type EventType, type RingWriter } from "../../src/index.js";
import { RAW_PAYLOAD_BYTES, TICK_FIELDS, TYPE_RACE, TYPE_TAIL, payloadWords, type WriterTask } from "./round-trip-protocol.js";

/** The part of a dedicated worker's global scope used here (the DOM typings describe a window). */
const scope = globalThis as unknown as {
  onmessage: ((e: MessageEvent<WriterTask>) => void) | null;
  postMessage(message: unknown): void;
};

/** Longest a writer waits at a gate or for room in its lane before giving up (bounded, never hangs). */
const GIVE_UP_MS = 15_000;

scope.onmessage = (e) => {
  try {
    run(e.data);
    scope.postMessage({ state: "done" });
  } catch (err) {
    scope.postMessage({ state: "failed", message: err instanceof Error ? `${err.name}: ${err.message}` : String(err) });
  }
};

function run(task: WriterTask): void {
  const ring = attachRing(task.buffer);
  const own = ring.writer();
  const shared = ring.writer({ lane: "shared" });
  const tick = defineEvent(ring, "tick", TICK_FIELDS); // the definition the main thread made
  const gate = new Int32Array(task.gate);
  scope.postMessage({ state: "ready" });
  awaitGate(gate, 0);
  for (let seq = 0; seq < task.records; seq++) write(own, shared, tick, task, TYPE_RACE, seq);
  awaitGate(gate, 1);
  for (let seq = task.records; seq < task.records + task.tailRecords; seq++) write(own, shared, tick, task, TYPE_TAIL, seq);
}

function write(own: RingWriter, shared: RingWriter, tick: EventType<typeof TICK_FIELDS>, task: WriterTask, type: number, seq: number): void {
  let at = own.tryReserve(type, RAW_PAYLOAD_BYTES);
  if (at < 0) {
    const nap = new Int32Array(new SharedArrayBuffer(4));
    const until = performance.now() + GIVE_UP_MS;
    // Full: the reader has not caught up; sleep 1 ms at a time (Atomics.wait is allowed in workers).
    while ((at = own.tryReserve(type, RAW_PAYLOAD_BYTES)) < 0) {
      if (performance.now() > until) throw new Error(`producer ${task.producer}: lane full for ${GIVE_UP_MS} ms at seq ${seq}`);
      Atomics.wait(nap, 0, 0, 1);
    }
  }
  const [w2, w3] = payloadWords(task.producer, seq);
  const i = at >> 2;
  own.i32[i] = task.producer;
  own.i32[i + 1] = seq;
  own.i32[i + 2] = w2 | 0;
  own.i32[i + 3] = w3 | 0;
  own.commit(at);
  if (seq % task.eventEvery === 0 && !tick.write(shared, { producer: task.producer, seq, label: `p${task.producer}/${seq}` })) {
    throw new Error(`producer ${task.producer}: event at seq ${seq} dropped`);
  }
}

function awaitGate(gate: Int32Array, index: number): void {
  const until = performance.now() + GIVE_UP_MS;
  // Acquire the go; pairs with round-trip.ts's Atomics.store + notify.
  while (Atomics.load(gate, index) === 0) {
    if (performance.now() > until) throw new Error(`gate ${index} not opened within ${GIVE_UP_MS} ms`);
    Atomics.wait(gate, index, 0, 100);
  }
}

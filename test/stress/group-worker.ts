/**
 * A consumer-group member for the torture and the soak (a worker thread): joins the ring's consumer
 * group, reads as records come (waiting in between), and ships every record it is handed to main in
 * batches (protocol.ts, `encodeBatchEntry`), where the checker sees the member as one stream. Once
 * main sets CTRL_DRAIN (every writer finished), it reads until the lanes are empty, then reports.
 *
 * The payload is copied right after read() handed it out, so a torn record would reach main torn.
 *
 * Loaded on its own (as `node --test dist/test/` does with every file under test/), it does nothing.
 */
import { parentPort, workerData, type MessagePort } from "node:worker_threads";
import { attachRing, type RingRecord } from "../../src/index.js";
import { attachFileRing } from "../../src/node/index.js";
import { BATCH_ENTRY_HEADER, CTRL_DRAIN, CTRL_GO, type GroupMemberConfig, type GroupMessage, encodeBatchEntry } from "./protocol.js";

const BATCH_BYTES = 1 << 18;

function run(port: MessagePort, cfg: GroupMemberConfig): void {
  const ring = cfg.fileRing ? attachFileRing(cfg.buffer) : attachRing(cfg.buffer);
  const ctrl = new Int32Array(cfg.ctrl);
  const nap = new Int32Array(new SharedArrayBuffer(4));
  const member = ring.groupConsumer();
  let batch = new ArrayBuffer(BATCH_BYTES);
  let dv = new DataView(batch);
  let end = 0;
  let count = 0;
  let records = 0;
  let reads = 0;
  let lastSend = performance.now();
  const send = (): void => {
    if (count === 0) return;
    const msg: GroupMessage = { type: "records", member: cfg.member, batch: batch.slice(0, end), count };
    port.postMessage(msg);
    end = 0;
    count = 0;
    lastSend = performance.now();
  };
  const visit = (r: RingRecord): void => {
    const need = BATCH_ENTRY_HEADER + r.length + 8;
    if (end + need > batch.byteLength) {
      send();
      if (need > batch.byteLength) {
        batch = new ArrayBuffer(need);
        dv = new DataView(batch);
      }
    }
    end = encodeBatchEntry(dv, end, r);
    count++;
    records++;
  };
  port.postMessage({ type: "ready", member: cfg.member } satisfies GroupMessage);
  // Acquire main's start signal (pairs with its Atomics.store(CTRL_GO, 1)); publishes nothing.
  while (Atomics.load(ctrl, CTRL_GO) === 0) Atomics.wait(ctrl, CTRL_GO, 0, 50); // sleep until main's notify; orders nothing
  let idle = 0;
  for (;;) {
    // Acquire main's drain request (set after every writer finished); pairs with its Atomics.store(CTRL_DRAIN, 1).
    const draining = Atomics.load(ctrl, CTRL_DRAIN) !== 0;
    reads++;
    const n = member.read(visit, cfg.readBatch);
    if (n > 0) {
      idle = 0;
      if (cfg.readerDelay > 0) Atomics.wait(nap, 0, 0, cfg.readerDelay); // a slow member; private word, publishes nothing
    } else if (draining) {
      if (++idle >= 2) break;
    } else {
      member.wait({ timeoutMs: 5 });
    }
    if (end > BATCH_BYTES / 2 || performance.now() - lastSend > 20) send();
  }
  send();
  member.close();
  port.postMessage({ type: "done", member: cfg.member, records, reads } satisfies GroupMessage);
}

if (parentPort !== null && workerData !== null && typeof workerData === "object") {
  const port = parentPort;
  const cfg = workerData as GroupMemberConfig;
  try {
    run(port, cfg);
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    port.postMessage({ type: "error", member: cfg.member, message: `${err.name}: ${err.message}`, stack: err.stack ?? "" } satisfies GroupMessage);
  }
}

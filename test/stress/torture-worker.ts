/**
 * Torture writer (a worker thread). Attaches to the ring, takes a writer (its own per-thread lane,
 * or the shared lane it is told), waits for the go signal, and writes records of random sizes as
 * fast as it can: plain reserve/commit, w.write(), nested groups of 2-3 reservations finished in
 * LIFO or random order, discarded reservations, and reservations deliberately held open (a slow
 * writer, so pages with a BUSY record meet the recyclers). See protocol.ts for the payload format
 * and the sequence-number rule. Posts its totals at the end.
 *
 * Loaded on its own (as `node --test dist/test/` does with every file under test/), it does nothing.
 */
import { parentPort, workerData, type MessagePort } from "node:worker_threads";
import { attachRing, type RingWriter } from "../../src/index.js";
import { attachFileRing } from "../../src/node/index.js";
import {
  CTRL_GO,
  CTRL_STOP,
  DISCARD_SEQ,
  DISCARD_TYPE,
  PAYLOAD_HEADER,
  Prng,
  type WorkerConfig,
  type WorkerMessage,
  type WriterException,
  type WriterTotals,
  payloadChecksum,
  typeFor,
  writerSeed,
} from "./protocol.js";

/** Longest wait for room of a reservation that waits (cfg.waitProb) before it may drop. */
const WAIT_FOR_ROOM_MS = 2;

function run(port: MessagePort, cfg: WorkerConfig): void {
  const t0 = performance.now();
  const ring = cfg.fileRing ? attachFileRing(cfg.buffer) : attachRing(cfg.buffer);
  const ctrl = new Int32Array(cfg.ctrl);
  // A private word to sleep on (Atomics.wait with a timeout; nobody ever notifies it).
  const nap = new Int32Array(new SharedArrayBuffer(4));
  const w: RingWriter =
    cfg.lane === "own" ? ring.writer({ tag: cfg.writerId }) : ring.writer({ lane: cfg.lane, tag: cfg.writerId });
  if (cfg.lane === "own" && w.lane >= ring.geometry.ownLanes) {
    throw new Error(`writer ${cfg.writerId} asked for a per-thread lane but got shared lane ${w.lane}`);
  }
  const ready: WorkerMessage = { type: "ready", writerId: cfg.writerId, lane: w.lane, producerId: w.producerId };
  port.postMessage(ready);
  // Acquire main's start signal (pairs with its Atomics.store(CTRL_GO, 1)); publishes nothing.
  while (Atomics.load(ctrl, CTRL_GO) === 0) {
    Atomics.wait(ctrl, CTRL_GO, 0, 50); // sleep until main's Atomics.notify(CTRL_GO) (or 50 ms); orders nothing by itself
  }

  const rng = new Prng(writerSeed(cfg.seed, cfg.writerId));
  const id = cfg.writerId;
  const maxSize = Math.min(cfg.maxSize, w.maxPayload);
  const minSize = Math.max(PAYLOAD_HEADER, Math.min(cfg.minSize, maxSize));
  const scratch = new Uint8Array(maxSize + 8);
  const sv = new DataView(scratch.buffer);
  const ringBytes = w.bytes;
  const ringI32 = w.i32;
  const ringView = w.view;

  let seq = 0;
  let committed = 0;
  let discarded = 0;
  let droppedSeen = 0;
  let pending = 0;
  let lastCommittedSeq = -1;
  let nested = 0;
  let held = 0;
  let viaWrite = 0;
  let payloadBytes = 0;
  let exceptionCount = 0;
  const exceptions: WriterException[] = [];
  /**
   * A ring call threw (a protocol bug: reserve/write must return -1/false, never throw, for valid
   * arguments). Keep it for the report and carry on, so the rest of the run and the books still
   * say something; the call counts as not made (no seq consumed). Too many: give up.
   */
  const caught = (call: string, e: unknown): void => {
    exceptionCount++;
    if (exceptions.length < 5) {
      const err = e instanceof Error ? e : new Error(String(e));
      exceptions.push({ seq, call, message: `${err.name}: ${err.message}`, stack: err.stack ?? "" });
    }
    if (exceptionCount > 10_000) throw e;
  };
  const injectAt = cfg.inject === "none" ? -1 : 1000;
  let injected = false; // "checksum": the first committed record from seq 1000 on gets a bad checksum
  let injectedSeq = -1;

  /** Build a payload for (seq `s`, `len` bytes) in scratch. */
  const build = (s: number, len: number): void => {
    sv.setUint32(0, id, true);
    sv.setUint32(4, s, true);
    sv.setUint32(8, len, true);
    let i = PAYLOAD_HEADER;
    for (; i + 4 <= len; i += 4) sv.setUint32(i, rng.u32(), true);
    if (i < len) {
      const r = rng.u32();
      for (let k = 0; i < len; i++, k += 8) scratch[i] = (r >>> k) & 0xff;
    }
    sv.setUint32(12, payloadChecksum(scratch, 0, len), true);
    if (cfg.inject === "checksum" && !injected && s !== DISCARD_SEQ && s >= injectAt) {
      sv.setUint32(12, ~sv.getUint32(12, true), true);
      injected = true;
      injectedSeq = s;
    }
  };

  /** Copy scratch[0, len) to the ring at `at`, through one of the writer's views. */
  const store = (at: number, len: number): void => {
    switch (rng.u32() & 3) {
      case 0:
        ringBytes.set(scratch.subarray(0, len), at);
        break;
      case 1: {
        // Header words through w.i32 (at is 8-aligned), filler through w.bytes.
        for (let k = 0; k < PAYLOAD_HEADER; k += 4) ringI32[(at + k) >> 2] = sv.getInt32(k, true);
        ringBytes.set(scratch.subarray(PAYLOAD_HEADER, len), at + PAYLOAD_HEADER);
        break;
      }
      case 2: {
        // Everything through w.view.
        let k = 0;
        for (; k + 4 <= len; k += 4) ringView.setUint32(at + k, sv.getUint32(k, true), true);
        for (; k < len; k++) ringView.setUint8(at + k, scratch[k] as number);
        break;
      }
      default: {
        // Byte by byte, last byte first (a writer filling its record out of order).
        for (let k = len - 1; k >= 0; k--) ringBytes[at + k] = scratch[k] as number;
      }
    }
  };

  /**
   * One reservation meant to be committed (`commit`) or discarded. Returns the payload offset, or
   * -1 when it was dropped. A drop consumes a seq whatever the intended fate; a success consumes
   * one only if it will be committed.
   */
  const reserveOne = (commit: boolean): number => {
    if (seq === injectAt && cfg.inject === "seq-skip") seq++;
    const len = rng.int(minSize, maxSize);
    let at: number;
    try {
      const type = commit ? typeFor(id, seq) : DISCARD_TYPE;
      // Sometimes wait for room first (a full lane, or a shared lane's next page in preparation),
      // then reserve(), which drops and counts as usual if the wait was not enough.
      at = rng.float() < cfg.waitProb ? w.reserveWaiting(type, len, WAIT_FOR_ROOM_MS) : -1;
      if (at < 0) at = w.reserve(type, len);
    } catch (e) {
      caught(`reserve(${commit ? typeFor(id, seq) : DISCARD_TYPE}, ${len})`, e);
      return -2;
    }
    if (at < 0) {
      seq++;
      droppedSeen++;
      pending++;
      return -1;
    }
    pending = 0; // the pending drops went in-band with this reservation (a LOST record before it)
    if (commit) lastCommittedSeq = seq; // reservations meant to be committed always are (finish())
    build(commit ? seq++ : DISCARD_SEQ, len);
    store(at, len);
    if (commit) payloadBytes += len;
    return at;
  };

  const finish = (at: number, commit: boolean): void => {
    if (commit) {
      w.commit(at);
      committed++;
    } else {
      w.discard(at);
      discarded++;
    }
  };

  const hold = (): void => {
    held++;
    Atomics.wait(nap, 0, 0, cfg.holdMs); // sleep with the reservation(s) open; private word, nobody notifies it, publishes nothing
  };

  const ats: number[] = [];
  const fates: boolean[] = [];
  const limit = cfg.records > 0 ? cfg.records : Infinity;
  let iter = 0;
  while (seq < limit) {
    // Acquire main's stop request (pairs with its Atomics.store(CTRL_STOP, 1)); publishes nothing.
    if ((++iter & 31) === 0 && cfg.records === 0 && Atomics.load(ctrl, CTRL_STOP) !== 0) break;
    const r = rng.float();
    if (r < cfg.nestProb) {
      // Nested group: reserve 2 or 3, then finish them LIFO (the classic case) or in a random order.
      const depth = rng.int(2, 3);
      ats.length = 0;
      fates.length = 0;
      for (let d = 0; d < depth; d++) {
        const commit = rng.float() >= cfg.discardProb;
        const at = reserveOne(commit);
        if (at >= 0) {
          if (ats.length > 0) nested++;
          ats.push(at);
          fates.push(commit);
        }
      }
      if (rng.float() < cfg.holdProb) hold();
      if (rng.u32() & 1) {
        for (let k = ats.length - 1; k >= 0; k--) finish(ats[k] as number, fates[k] as boolean);
      } else {
        while (ats.length > 0) {
          const k = rng.int(0, ats.length - 1);
          finish(ats[k] as number, fates[k] as boolean);
          ats.splice(k, 1);
          fates.splice(k, 1);
        }
      }
    } else {
      const commit = rng.float() >= cfg.discardProb;
      if (commit && rng.float() < cfg.writeProb) {
        // w.write(): reserve + copy + commit in one call.
        if (seq === injectAt && cfg.inject === "seq-skip") seq++;
        const len = rng.int(minSize, maxSize);
        build(seq, len);
        let ok: boolean;
        try {
          ok = w.write(typeFor(id, seq), scratch.subarray(0, len));
        } catch (e) {
          caught(`write(${typeFor(id, seq)}, ${len} bytes)`, e);
          continue;
        }
        if (!ok && injectedSeq === seq) injected = false; // the corrupted record was dropped: corrupt the next one
        if (ok) {
          pending = 0;
          lastCommittedSeq = seq;
          committed++;
          viaWrite++;
          payloadBytes += len;
        } else {
          droppedSeen++;
          pending++;
        }
        seq++;
      } else {
        const at = reserveOne(commit);
        if (at >= 0) {
          if (rng.float() < cfg.holdProb) hold();
          finish(at, commit);
        }
      }
    }
  }

  // Drops not yet reported in-band are invisible to the reader. Make them visible: keep attempting
  // committed records until one succeeds (it carries the LOST record). In discard mode the lane may
  // still be full, so nap between attempts while the main thread consumes. Each failed attempt is
  // one more drop with its own seq, reported by the final success like the others.
  let flushAttempts = 0;
  const flushStart = performance.now();
  while (pending > 0 && performance.now() - flushStart < cfg.flushTimeoutMs) {
    flushAttempts++;
    const at = reserveOne(true);
    if (at >= 0) finish(at, true);
    else Atomics.wait(nap, 0, 0, 0.2); // nap while main consumes; private word, nobody notifies it, publishes nothing
  }

  const totals: WriterTotals = {
    writerId: id,
    lane: w.lane,
    producerId: w.producerId,
    attempted: seq,
    committed,
    lastCommittedSeq,
    discarded,
    dropped: w.dropped,
    droppedSeen,
    pending,
    nested,
    held,
    viaWrite,
    flushAttempts,
    payloadBytes,
    elapsedMs: performance.now() - t0,
    exceptionCount,
    exceptions,
  };
  w.close();
  const done: WorkerMessage = { type: "done", totals };
  port.postMessage(done);
}

if (parentPort !== null && workerData !== null && typeof workerData === "object") {
  const port = parentPort;
  const cfg = workerData as WorkerConfig;
  try {
    run(port, cfg);
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    const msg: WorkerMessage = { type: "error", writerId: cfg.writerId, message: `${err.name}: ${err.message}`, stack: err.stack ?? "" };
    port.postMessage(msg);
  }
}

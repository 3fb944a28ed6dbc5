/**
 * The thread a fuzz run happens in (run-fuzz.ts starts it): fast-check generates cases from the
 * corpus (mutations.ts) and exercise.ts runs every decoder on each. Before each case the worker
 * publishes the case's number and bytes in shared memory, so that if the case hangs or exhausts
 * memory, the watching thread can say which case it was and save its bytes. Posts a summary at the
 * end, with the (shrunk) failing input if a case failed.
 *
 * Loaded on its own (as `node --test dist/test/` does with every file under test/), it does nothing.
 */
import { parentPort, workerData } from "node:worker_threads";
import fc from "fast-check";
import { ringCorpus, traceCorpus } from "./corpus.js";
import { FuzzFailure, exerciseRing, exerciseTrace, type Outcome } from "./exercise.js";
import { fuzzCase, materialize } from "./mutations.js";
import { HB_CASE, HB_LENGTH, HB_STATE, STATE_DONE, STATE_RUNNING, type FuzzWorkerConfig, type FuzzWorkerReport } from "./fuzz-protocol.js";

function run(cfg: FuzzWorkerConfig): FuzzWorkerReport {
  const hb = new Int32Array(cfg.heartbeat);
  const caseBytes = new Uint8Array(cfg.caseBuffer);
  const seeds = cfg.target === "ring" ? ringCorpus() : traceCorpus();
  const exercise = cfg.target === "ring" ? exerciseRing : exerciseTrace;
  const report: FuzzWorkerReport = { target: cfg.target, seed: cfg.seed, cases: 0, accepted: 0, refused: {}, records: 0, warnings: 0, failure: undefined };
  let lastFailure: { kind: string; message: string; bytes: Uint8Array } | undefined;
  const tally = (o: Outcome) => {
    if (o.accepted) report.accepted++;
    for (const [k, v] of Object.entries(o.refused)) report.refused[k] = (report.refused[k] ?? 0) + v;
    report.records += o.records;
    report.warnings += o.warnings;
  };
  /** Publish a case for the watchdog: its bytes, their length, then its number. */
  const publish = (bytes: Uint8Array): void => {
    // The bytes are plain stores, read by the watching thread only after the number stopped moving;
    // the length and the number are atomic stores it loads.
    const n = Math.min(bytes.length, caseBytes.length);
    caseBytes.set(bytes.subarray(0, n));
    Atomics.store(hb, HB_LENGTH, n);
    Atomics.add(hb, HB_CASE, 1);
    report.cases++;
  };
  const property = fc.property(fuzzCase, (c) => {
    const bytes = materialize(seeds, c);
    publish(bytes);
    try {
      tally(exercise(bytes));
    } catch (e) {
      if (e instanceof FuzzFailure) lastFailure = { kind: e.kind, message: e.message, bytes };
      else lastFailure = { kind: "harness", message: e instanceof Error ? (e.stack ?? e.message) : String(e), bytes };
      throw e;
    }
  });
  Atomics.store(hb, HB_STATE, STATE_RUNNING);
  try {
    if (cfg.inputs !== undefined) {
      for (const bytes of cfg.inputs) {
        publish(bytes);
        try {
          tally(exercise(bytes));
        } catch (e) {
          lastFailure = { kind: e instanceof FuzzFailure ? e.kind : "harness", message: e instanceof Error ? (e.stack ?? e.message) : String(e), bytes };
          throw e;
        }
      }
    } else {
      fc.assert(property, { seed: cfg.seed, numRuns: cfg.runs, interruptAfterTimeLimit: cfg.seconds * 1000, markInterruptAsFailure: false });
    }
  } catch (e) {
    const f = lastFailure;
    report.failure = {
      kind: f?.kind ?? "harness",
      message: f?.message ?? (e instanceof Error ? e.message : String(e)),
      fastCheck: e instanceof Error ? e.message.split("\n").slice(0, 4).join("\n") : String(e),
      bytes: f?.bytes ?? new Uint8Array(0),
    };
  }
  Atomics.store(hb, HB_STATE, STATE_DONE);
  return report;
}

if (parentPort !== null && workerData !== null && typeof workerData === "object") {
  parentPort.postMessage(run(workerData as FuzzWorkerConfig));
}

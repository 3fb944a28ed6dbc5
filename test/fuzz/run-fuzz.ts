/**
 * Runs a fuzz target in a worker thread and watches it: a case that runs longer than
 * `caseTimeoutMs` is a hang, a worker that runs out of its heap (`memoryMb`) is unbounded memory;
 * either way the worker is terminated and the case's bytes (published by the worker before the
 * case began) are the failing input. Failing inputs are saved to files for replay
 * (`npm run fuzz -- --replay FILE --target ring|trace`).
 */
import { Worker } from "node:worker_threads";
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import {
  HB_CASE,
  HB_LENGTH,
  HB_STATE,
  HB_WORDS,
  STATE_DONE,
  type FuzzFailureReport,
  type FuzzTarget,
  type FuzzWorkerConfig,
  type FuzzWorkerReport,
} from "./fuzz-protocol.js";

export interface FuzzOptions {
  target: FuzzTarget;
  seed: number;
  runs: number;
  seconds: number;
  /** A case that takes longer is a hang. Default 5000 (a case normally takes well under 10 ms). */
  caseTimeoutMs?: number;
  /** The worker's heap limit (old generation), MB. Default 256. */
  memoryMb?: number;
  /** Where failing inputs are saved. Default the OS temp dir. */
  saveDir?: string;
  /** Run these inputs instead of generated cases (regressions, a replay), watched the same way. */
  inputs?: Uint8Array[];
}

export interface FuzzResult extends FuzzWorkerReport {
  ok: boolean;
  elapsedMs: number;
  /** Where the failing input was saved. */
  savedTo: string | undefined;
}

const CASE_BUFFER_BYTES = 1 << 20;

export async function runFuzz(o: FuzzOptions): Promise<FuzzResult> {
  const heartbeat = new SharedArrayBuffer(HB_WORDS * 4);
  const caseBuffer = new SharedArrayBuffer(CASE_BUFFER_BYTES);
  const hb = new Int32Array(heartbeat);
  const cfg: FuzzWorkerConfig = { target: o.target, seed: o.seed, runs: o.runs, seconds: o.seconds, heartbeat, caseBuffer };
  if (o.inputs !== undefined) cfg.inputs = o.inputs;
  const t0 = performance.now();
  const worker = new Worker(new URL("./fuzz-worker.js", import.meta.url), {
    workerData: cfg,
    resourceLimits: { maxOldGenerationSizeMb: o.memoryMb ?? 256, maxYoungGenerationSizeMb: 32 },
  });
  let report: FuzzWorkerReport | undefined;
  let crash: Error | undefined;
  let exited = false;
  worker.on("message", (m: FuzzWorkerReport) => (report = m));
  worker.on("error", (e: Error) => (crash = e));
  const exit = new Promise<void>((resolve) => worker.once("exit", () => ((exited = true), resolve())));

  const currentCase = (): Uint8Array => new Uint8Array(caseBuffer, 0, Atomics.load(hb, HB_LENGTH)).slice();
  let failure: FuzzFailureReport | undefined;
  const timeout = o.caseTimeoutMs ?? 5000;
  let lastCase = -1;
  let since = performance.now();
  while (!exited) {
    await Promise.race([exit, sleep(50)]);
    // The case number the worker bumps before each case; pairs with its Atomics.add(HB_CASE).
    const c = Atomics.load(hb, HB_CASE);
    const now = performance.now();
    if (c !== lastCase) {
      lastCase = c;
      since = now;
    } else if (!exited && Atomics.load(hb, HB_STATE) !== STATE_DONE && now - since > timeout) {
      failure = { kind: "hang", message: `case ${c} of seed ${o.seed} ran for more than ${timeout} ms`, bytes: currentCase() };
      await worker.terminate();
      break;
    }
  }
  await exit;
  if (failure === undefined && crash !== undefined) {
    const oom = (crash as { code?: string }).code === "ERR_WORKER_OUT_OF_MEMORY";
    failure = {
      kind: oom ? "memory" : "crash",
      message: `${oom ? `case ${Atomics.load(hb, HB_CASE)} of seed ${o.seed} exhausted the ${o.memoryMb ?? 256} MB heap` : "the fuzz worker crashed"}: ${crash.message}`,
      bytes: currentCase(),
    };
  }
  if (failure === undefined && report === undefined) failure = { kind: "crash", message: "the fuzz worker exited without a report", bytes: currentCase() };
  const base: FuzzWorkerReport = report ?? { target: o.target, seed: o.seed, cases: Atomics.load(hb, HB_CASE), accepted: 0, refused: {}, records: 0, warnings: 0, failure: undefined };
  const f = failure ?? base.failure;
  let savedTo: string | undefined;
  if (f !== undefined) {
    savedTo = join(o.saveDir ?? tmpdir(), `urb-fuzz-${o.target}-${o.seed}-${f.kind}.bin`);
    writeFileSync(savedTo, f.bytes);
  }
  return { ...base, failure: f, ok: f === undefined, elapsedMs: performance.now() - t0, savedTo };
}

/** One paragraph about a result. */
export function describeFuzz(r: FuzzResult): string {
  const refused = Object.entries(r.refused)
    .map(([k, v]) => `${k} ${v}`)
    .join(", ");
  const lines = [
    `fuzz ${r.target}: seed ${r.seed}, ${r.cases} cases in ${(r.elapsedMs / 1000).toFixed(1)} s -> ${r.ok ? "OK" : "FAILED"}; ` +
      `${r.accepted} accepted, refused: ${refused || "none"}; ${r.records} records handed out and checked, ${r.warnings} trace warnings`,
  ];
  if (r.failure !== undefined) {
    lines.push(`  ${r.failure.kind}: ${r.failure.message}`);
    if (r.failure.fastCheck) lines.push(`  fast-check: ${r.failure.fastCheck.replace(/\n/g, "\n  ")}`);
    if (r.savedTo) lines.push(`  input (${r.failure.bytes.length} bytes) saved to ${r.savedTo}; replay: npm run fuzz -- --replay ${r.savedTo} --target ${r.target}`);
  }
  return lines.join("\n");
}

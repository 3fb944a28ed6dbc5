/** What the fuzz runner and its worker thread share: the configuration, the heartbeat words, the report. */

export type FuzzTarget = "ring" | "trace";

export interface FuzzWorkerConfig {
  target: FuzzTarget;
  seed: number;
  /** Cases to run at most. */
  runs: number;
  /** Stop starting cases after this many seconds. */
  seconds: number;
  /** Run these inputs (regressions, a replay) instead of generated cases. */
  inputs?: Uint8Array[];
  /** Int32 words HB_* (SharedArrayBuffer). */
  heartbeat: SharedArrayBuffer;
  /** The bytes of the case being run (SharedArrayBuffer; the length is in HB_LENGTH). */
  caseBuffer: SharedArrayBuffer;
}

/** Heartbeat words: the number of the case being run (bumped before each), its byte length, the state. */
export const HB_CASE = 0;
export const HB_LENGTH = 1;
export const HB_STATE = 2;
export const HB_WORDS = 4;
export const STATE_STARTING = 0;
export const STATE_RUNNING = 1;
export const STATE_DONE = 2;

export interface FuzzFailureReport {
  /** `untyped-exception`, `bad-record`, `unbounded`, ... (exercise.ts), or `hang` / `memory` (run-fuzz.ts). */
  kind: string;
  message: string;
  /** fast-check's summary (seed, path, shrinks), when fast-check found it. */
  fastCheck?: string;
  /** The failing input. */
  bytes: Uint8Array;
}

export interface FuzzWorkerReport {
  target: FuzzTarget;
  seed: number;
  cases: number;
  /** Inputs that attached / opened. */
  accepted: number;
  /** Typed refusals by error name. */
  refused: Record<string, number>;
  /** Records and loss markers handed out. */
  records: number;
  warnings: number;
  failure: FuzzFailureReport | undefined;
}

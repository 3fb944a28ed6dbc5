/**
 * The consumer side of one timed run, shared by the sessions that read our ring or a multi-writer
 * peer in a polling loop: poll until `durationMs` has passed, then ask every writer to stop and go
 * on polling until each has finished run `runId`, and then until a poll finds nothing (what they
 * published before finishing). Returns the elapsed ms. Throws when a writer has not finished
 * DRAIN_TIMEOUT_MS after the deadline.
 */
import { DRAIN_TIMEOUT_MS, isRunFinished, requestStop } from './peers/layout.js';

export function consumeRun(ctrls: readonly Int32Array[], runId: number, durationMs: number, poll: () => number, what: string): number {
  const t0 = performance.now();
  const deadline = t0 + durationMs;
  let stopping = false;
  let spins = 0;
  for (;;) {
    // Read DONE before polling: once every writer's DONE is seen, the polls below reach its last record.
    if (stopping && allFinished(ctrls, runId)) {
      while (poll() > 0) {
        // drain what the writers published before they finished
      }
      break;
    }
    poll();
    if ((++spins & 63) === 0) {
      const now = performance.now();
      if (!stopping && now >= deadline) {
        stopping = true;
        for (const ctrl of ctrls) requestStop(ctrl);
      } else if (now >= deadline + DRAIN_TIMEOUT_MS) throw new Error(`${what} did not finish run ${runId}`);
    }
  }
  return performance.now() - t0;
}

function allFinished(ctrls: readonly Int32Array[], runId: number): boolean {
  for (const ctrl of ctrls) if (!isRunFinished(ctrl, runId)) return false;
  return true;
}

/**
 * The flight recorder's dump: write what a ring holds to a `.urb` file when the process fails or
 * is asked to (a signal), without stopping the writers. The ring is shared memory, so records
 * written by worker threads are in the dump too.
 */
import type { RingBuffer } from "../ring.js";
import type { SnapshotInfo } from "../snapshot.js";
import { dumpRing } from "./trace-file.js";
import { checkOptions, optionKeys } from "../options.js";

/** When to dump. `uncaughtException` also covers unhandled promise rejections (Node's default turns them into one). */
export type DumpTrigger = "uncaughtException" | "exit" | "SIGUSR1" | "SIGUSR2" | "SIGINT" | "SIGTERM" | "SIGHUP";

/** Options of {@link flightRecorder}. */
export interface FlightRecorderOptions {
  ring: RingBuffer;
  /**
   * Where to write: a path in which `{pid}`, `{time}` (ms since the epoch) and `{reason}` (the
   * trigger) are replaced, or a function of the reason. Default `urb-{pid}-{time}-{reason}.urb`.
   */
  path?: string | ((reason: string) => string);
  /** Triggers. Default `["uncaughtException", "SIGUSR2"]`. */
  on?: readonly DumpTrigger[];
  /** Called after each dump (also for a failed one, with the error; without this, a failed dump is reported on stderr). */
  onDump?: (result: { reason: string; path: string; info?: SnapshotInfo; error?: unknown }) => void;
}

/** A running flight recorder. */
export interface FlightRecorder {
  /** Dump now (reason `manual` unless given); returns the file's path. */
  dump(reason?: string): string;
  /** Stop listening to the triggers. */
  close(): void;
}

/**
 * Dump `ring` to a `.urb` file on the given triggers. A dump is a snapshot (`ring.snapshot()`),
 * written synchronously with mode 0600. Termination signals (SIGINT, SIGTERM, SIGHUP) dump and
 * then end the process as the signal would have, unless another listener handles the signal;
 * SIGUSR1/SIGUSR2 dump and let the process go on. `uncaughtException` uses Node's monitor hook:
 * the process still crashes as it would have, after the dump.
 *
 * @example
 * ```ts
 * import { flightRecorder } from "unified-ring-buffer/node";
 * const rec = flightRecorder({ ring, path: "/var/tmp/app-{pid}-{reason}.urb", on: ["uncaughtException", "SIGUSR2", "exit"] });
 * // kill -USR2 <pid>  ->  /var/tmp/app-1234-SIGUSR2.urb
 * ```
 */
export function flightRecorder(options: FlightRecorderOptions): FlightRecorder {
  checkOptions("Cannot create flight recorder", options, FLIGHT_RECORDER_OPTIONS_KEYS);
  const { ring } = options;
  const triggers = options.on ?? ["uncaughtException", "SIGUSR2"];
  const template = options.path ?? "urb-{pid}-{time}-{reason}.urb";
  const pathFor = (reason: string) =>
    typeof template === "function"
      ? template(reason)
      : template.replaceAll("{pid}", String(process.pid)).replaceAll("{time}", String(Date.now())).replaceAll("{reason}", reason);
  const dump = (reason = "manual"): string => {
    const path = pathFor(reason);
    try {
      const info = dumpRing(ring, path);
      options.onDump?.({ reason, path, info });
    } catch (error) {
      if (reason === "manual") throw error;
      // A failed dump must not go unnoticed, nor replace the failure that triggered it.
      if (options.onDump !== undefined) options.onDump({ reason, path, error });
      else process.stderr.write(`flight recorder: dump to ${path} failed: ${error instanceof Error ? error.message : String(error)}\n`);
    }
    return path;
  };
  const listeners: [string, (...args: unknown[]) => void][] = [];
  const listen = (event: string, fn: (...args: unknown[]) => void) => {
    process.on(event, fn);
    listeners.push([event, fn]);
  };
  for (const trigger of triggers) {
    if (trigger === "uncaughtException") {
      listen("uncaughtExceptionMonitor", () => dump("uncaughtException"));
    } else if (trigger === "exit") {
      listen("exit", () => dump("exit"));
    } else if (trigger === "SIGUSR1" || trigger === "SIGUSR2") {
      listen(trigger, () => dump(trigger));
    } else if (trigger === "SIGINT" || trigger === "SIGTERM" || trigger === "SIGHUP") {
      const onSignal = () => {
        dump(trigger);
        // End as the signal would have, unless someone else also handles it.
        if (process.listenerCount(trigger) === 1) {
          process.removeListener(trigger, onSignal);
          process.kill(process.pid, trigger);
        }
      };
      listen(trigger, onSignal);
    } else {
      throw new RangeError(`flightRecorder: unknown trigger ${JSON.stringify(trigger)}`);
    }
  }
  return {
    dump,
    close() {
      for (const [event, fn] of listeners) process.removeListener(event, fn);
      listeners.length = 0;
    },
  };
}

const FLIGHT_RECORDER_OPTIONS_KEYS = optionKeys<FlightRecorderOptions>({ ring: true, path: true, on: true, onDump: true });

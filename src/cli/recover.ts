/**
 * `urb recover RING -o out.urb`: after the processes writing a file ring died (SIGKILL included),
 * repair what they left (reservations never committed are discarded and counted, a page a dying
 * writer was preparing is finished) and write every committed record still in the ring to a
 * `.urb` file. The ring can be written again afterwards. Needs the native addon (file rings).
 */
import { recoverFileRing } from "../node/recover.js";
import { dumpRing, openTraceFile } from "../node/trace-file.js";
import { type Command, InputError, UsageError, oneFile, stringOption } from "./command.js";
import { describeFsError } from "./open-trace.js";
import { basename, extname } from "node:path";

export const recoverCommand: Command = {
  name: "recover",
  help: `Usage: urb recover [options] RING

Extract the records of a file ring whose writers crashed (the flight recorder's promise): every
committed record is written to a .urb trace file (flagged "recovered"); records that were reserved
but never committed are skipped and counted. Producers whose process no longer runs are declared
dead and repaired, so the ring can be reopened and written again.

Options:
  -o, --output FILE     the .urb file to write (mode 0600; default: in the current directory,
                        NAME.urb for a ring file NAME, or NAME.recovered.urb for NAME.urb)
  --reclaim WHO         dead-processes (default: producers tagged with a pid that no longer runs),
                        all (every producer: use when you know every process is gone),
                        none (read only: not a byte of RING changes; open
                        reservations stay in place and are counted as such)
  -h, --help            show this help

Example:
  urb recover /dev/shm/myapp.ring -o crash.urb && urb dump crash.urb | tail`,
  options: { output: { type: "string", short: "o" }, reclaim: { type: "string" } },
  async run(values, positionals, io) {
    const file = oneFile(positionals, "RING");
    const reclaim = stringOption(values, "reclaim") ?? "dead-processes";
    if (reclaim !== "dead-processes" && reclaim !== "all" && reclaim !== "none") {
      throw new UsageError(`--reclaim must be dead-processes, all or none, received ${JSON.stringify(reclaim)}`);
    }
    // The default goes to the current directory (not beside the ring, in /dev/shm: memory) and
    // never overwrites the ring itself (whatever its name).
    const name = basename(file);
    const out = stringOption(values, "output") ?? (extname(name) === ".urb" ? `${name.slice(0, -4)}.recovered.urb` : `${name}.urb`);
    const report = recoverFileRing(file, { reclaim });
    let info: ReturnType<typeof dumpRing>;
    try {
      info = dumpRing(report.ring, out, { recovered: true });
    } catch (e) {
      throw new InputError(`cannot write ${out}: ${describeFsError(e)}`);
    }
    // What the file holds, counted as `urb stats` counts it: reservations still open in the pages written.
    const written = openTraceFile(out);
    let open: number;
    try {
      open = written.stats().uncommitted;
    } finally {
      written.close();
    }
    const dead = report.reclaimed.length;
    const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? "" : "s"}`;
    io.stdout.text(
      `${out}: ${info.records} records in ${info.pages} pages` +
        ` (${report.abandoned} reserved but never committed, skipped; ${plural(dead, "dead producer")} repaired` +
        `${open > 0 ? `; ${plural(open, "reservation")} still open, left in place${reclaim === "none" ? " (--reclaim none reads only)" : ""}` : ""}` +
        `${report.alive.length > 0 ? `; ${plural(report.alive.length, "producer")} still alive, left alone` : ""})\n`,
    );
    for (const d of report.damaged) {
      io.stdout.text(
        `damaged: lane ${d.lane}, bad word at byte ${d.offset} of the ring: the rest of its page skipped` +
          ` (${d.lost === d.lost ? plural(d.lost, "record") : "an unknown number of records"}); the other pages and lanes are in the file\n`,
      );
    }
    return 0;
  },
};

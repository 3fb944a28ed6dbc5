/**
 * `urb recover RING -o out.urb`: after the processes writing a file ring died (SIGKILL included),
 * repair what they left (reservations never committed are discarded and counted, a page a dying
 * writer was preparing is finished) and write every committed record still in the ring to a
 * `.urb` file. The ring can be written again afterwards. Needs the native addon (file rings).
 */
import { recoverFileRing } from "../node/recover.js";
import { dumpRing } from "../node/trace-file.js";
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
                        none (read only)
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
    const dead = report.reclaimed.length;
    io.stdout.text(
      `${out}: ${info.records} records in ${info.pages} pages` +
        ` (${report.abandoned} reserved but never committed, skipped; ${dead} dead producer${dead === 1 ? "" : "s"} repaired` +
        `${report.alive.length > 0 ? `; ${report.alive.length} producer${report.alive.length === 1 ? "" : "s"} still alive, left alone` : ""})\n`,
    );
    return 0;
  },
};

/**
 * `urb clear RING`: reset a file ring while its writers go on (ftrace's `echo > trace`): every
 * committed record leaves the ring unread, counted as cleared in its statistics. Needs the native
 * addon (file rings).
 */
import { ConsumerClaimError } from "../errors.js";
import { openFileRing } from "../node/file-ring.js";
import { type Command, InputError, UsageError, listOption, oneFile } from "./command.js";

export const clearCommand: Command = {
  name: "clear",
  help: `Usage: urb clear [options] RING

Empty a file ring while the processes writing it go on, as "echo > trace" empties an ftrace
buffer: every committed record leaves the ring unread and is counted as cleared in the ring's
statistics; readers, snapshots and recoveries begun afterwards start after them. A record being
written at that moment, and those after it, stay. A lane that another process consumes is cleared
only by that consumer: the command refuses it and says which.

Options:
  --lane N[,N...]   clear only these lanes (repeatable; default: every lane)
  -h, --help        show this help

Example:
  urb clear /dev/shm/myapp.ring && urb recover --reclaim none /dev/shm/myapp.ring -o after.urb`,
  options: { lane: { type: "string", multiple: true } },
  async run(values, positionals, io) {
    const file = oneFile(positionals, "RING");
    const ring = openFileRing(file);
    const lanes = listOption(values, "lane").map((s) => {
      const n = Number(s);
      if (!Number.isInteger(n) || n < 0 || n >= ring.geometry.lanes) {
        throw new UsageError(`--lane must be a lane number from 0 to ${ring.geometry.lanes - 1}, received ${JSON.stringify(s)}`);
      }
      return n;
    });
    const chosen = lanes.length > 0 ? [...new Set(lanes)] : Array.from({ length: ring.geometry.lanes }, (_, i) => i);
    let cleared = 0;
    let lanesWithRecords = 0;
    try {
      for (const lane of chosen) {
        const n = ring.clear({ lanes: [lane] });
        cleared += n;
        if (n > 0) lanesWithRecords++;
      }
    } catch (e) {
      if (e instanceof ConsumerClaimError) throw new InputError(`${file}: ${e.message}`);
      throw e;
    }
    const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? "" : "s"}`;
    io.stdout.text(`${file}: ${plural(cleared, "record")} cleared from ${plural(lanesWithRecords, "lane")} (${plural(chosen.length, "lane")} cleared)\n`);
    return 0;
  },
};

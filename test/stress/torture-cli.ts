/**
 * Long local torture runs:
 *
 *   node dist/test/stress/torture-cli.js --seconds 60 --mode both
 *
 * Options (defaults in brackets): --seconds N [60] | --records N (attempts per writer),
 * --mode overwrite|discard|both [both], --own N [2], --shared N [2], --shared-lanes N [1],
 * --page-size N [512], --pages N [4], --seed N [random], --reader-delay MS [1],
 * --read-batch N [all], --clock mono|counter [mono], --min-size N [16], --max-size N [200],
 * --nest P [0.15], --discard P [0.1], --hold P [0.002], --hold-ms MS [0.3], --wait P [0.1] (reserveWaiting()),
 * --repeat N [1], --json,
 * --inject checksum|seq-skip (self-test: the run must fail), --via reader|async|pipe|group [reader]
 * (async: `for await`; pipe: page hand-off to a trace file, checked after the run; group: consumer
 * group member threads), --members N [2], --iterators N [0], --snapshot-ms MS [0: none],
 * --resize-ms MS [0: none], --processes N [0] (writer processes on a file ring, two writers each),
 * --process-attempts N [50000].
 * Exits 1 if any run failed.
 *
 * `node --test dist/test/` runs every file under test/ as a test file; without arguments under the
 * test runner this does nothing.
 */
import { UsageError, parseCliOptions, runMain } from "./cli-options.js";
import { describe, runTorture, type TortureOptions } from "./torture.js";


async function main(): Promise<number> {
  const args = parseCliOptions(process.argv.slice(2), ["seconds", "records", "mode", "own", "shared", "shared-lanes", "page-size", "pages", "seed", "reader-delay", "read-batch", "clock", "min-size", "max-size", "nest", "discard", "hold", "hold-ms", "wait", "repeat", "json", "inject", "via", "members", "iterators", "snapshot-ms", "resize-ms", "processes", "process-attempts"]);
  const num = args.num;
  const modeArg = args.get("mode") ?? "both";
  const modes: ("overwrite" | "discard")[] =
    modeArg === "both" ? ["overwrite", "discard"] : modeArg === "overwrite" || modeArg === "discard" ? [modeArg] : [];
  if (modes.length === 0) throw new UsageError(`--mode must be overwrite, discard or both, received ${modeArg}`);
  const clock = args.get("clock") ?? "mono";
  if (clock !== "mono" && clock !== "counter" && clock !== "none") throw new UsageError(`--clock must be mono, counter or none, received ${clock}`);
  const repeat = num("repeat", 1);
  let failed = 0;
  for (let r = 0; r < repeat; r++) {
    for (const mode of modes) {
      const seed = args.get("seed") !== undefined ? num("seed", 0) + r : (Math.random() * 2 ** 32) >>> 0;
      const opts: TortureOptions = {
        mode,
        ownWriters: num("own", 2),
        sharedWriters: num("shared", 2),
        sharedLanes: num("shared-lanes", 1),
        pageSize: num("page-size", 512),
        pagesPerLane: num("pages", 4),
        seed,
        readerDelay: num("reader-delay", 1),
        clock,
        minSize: num("min-size", 16),
        maxSize: num("max-size", 200),
        nestProb: num("nest", 0.15),
        discardProb: num("discard", 0.1),
        holdProb: num("hold", 0.002),
        holdMs: num("hold-ms", 0.3),
        waitProb: num("wait", 0.1),
      };
      const inject = args.get("inject");
      if (inject === "checksum" || inject === "seq-skip") opts.inject = inject;
      const via = args.get("via") ?? "reader";
      if (via !== "reader" && via !== "async" && via !== "pipe" && via !== "group") throw new UsageError(`--via must be reader, async, pipe or group, received ${via}`);
      opts.via = via;
      opts.groupMembers = num("members", 2);
      opts.iterators = num("iterators", 0);
      opts.snapshotEveryMs = num("snapshot-ms", 0);
      opts.resizeEveryMs = num("resize-ms", 0);
      opts.processes = num("processes", 0);
      opts.processAttempts = num("process-attempts", 50_000);
      if (args.get("read-batch") !== undefined) opts.readBatch = num("read-batch", Infinity);
      if (args.get("records") !== undefined) opts.records = num("records", 0);
      else opts.seconds = num("seconds", 60);
      console.log(`[${new Date().toISOString()}] starting ${mode}, seed ${seed} (TORTURE_SEED=${seed} / --seed ${seed} to repeat the writers' choices)`);
      const result = await runTorture(opts);
      console.log(describe(result));
      if (args.get("json") !== undefined) console.log(JSON.stringify({ ...result, writerTallies: undefined }, null, 1));
      if (!result.ok) failed++;
    }
  }
  console.log(failed === 0 ? "all torture runs passed" : `${failed} torture run(s) FAILED`);
  return failed === 0 ? 0 : 1;
}

runMain(main);

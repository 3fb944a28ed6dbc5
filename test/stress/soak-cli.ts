/**
 * The soak, on demand (`npm run soak -- --minutes N`): torture rounds in rotating configurations
 * (see soak.ts) until N minutes have passed, one line per round, then a summary with the counts.
 * Exits 1 if any round failed (its full report is printed), 2 on a usage error.
 *
 * Options: --minutes N [10] | --round-seconds S [15] | --seed N [random] | --first-round I [0]
 * (resume a rotation) | --json (the totals as JSON at the end) | --processes N [1 when the native
 * addon is built, else 0]: writer processes (two writers each) in every other round, on a file
 * ring; 0 for threads only.
 *
 * `node --test dist/test/` runs every file under test/ as a test file; without arguments under the
 * test runner this does nothing.
 */
import { nativeAddonAvailable } from "../../src/node/index.js";
import { parseCliOptions, runMain } from "./cli-options.js";
import { roundLine, runSoak, summary } from "./soak.js";


async function main(): Promise<number> {
  const args = parseCliOptions(process.argv.slice(2), ["minutes", "round-seconds", "seed", "first-round", "json", "processes"]);
  const num = args.num;
  const addon = nativeAddonAvailable();
  const processes = num("processes", addon ? 1 : 0);
  if (processes > 0 && !addon) {
    console.error("--processes: writer processes need file rings, and the native addon that maps them is not built (npm run build:native)");
    return 2;
  }
  const minutes = num("minutes", 10);
  const roundSeconds = num("round-seconds", 15);
  const seed = args.get("seed") !== undefined ? num("seed", 0) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
  console.log(
    `[${new Date().toISOString()}] soak for ${minutes} min, rounds of ${roundSeconds} s, ` +
      `${processes > 0 ? `${processes} writer process(es) in every other round` : "writer threads only"}, seed ${seed} (--seed ${seed} repeats the writers' choices)`,
  );
  const { totals } = await runSoak({
    durationMs: minutes * 60_000,
    roundSeconds,
    seed,
    firstRound: num("first-round", 0),
    processes,
    onRound: (r, i) => console.log(`[${new Date().toISOString()}] ${roundLine(r, i)}`),
  });
  console.log(summary(totals));
  if (args.get("json") !== undefined) console.log(JSON.stringify(totals));
  console.log(totals.failedRounds === 0 ? "soak passed" : `soak FAILED: ${totals.failedRounds} round(s)`);
  return totals.failedRounds === 0 && totals.rounds > 0 ? 0 : 1;
}

runMain(main);

/**
 * Bad-input fuzzing on demand (`npm run fuzz`): fast-check cases from corrupted, truncated, random
 * and adversarial ring images and trace files, through every decoder, each target in a watched
 * worker (hangs and memory exhaustion are failures too; see run-fuzz.ts and exercise.ts).
 *
 * Options: --runs N [100000] (cases per target) | --seconds S [60] (per target) | --target
 * ring|trace|chunks|all [all] (chunks: flipped bytes in valid trace files cost only the chunks
 * they touch, chunk-survival.ts; run in this thread) | --seed N [random] | --case-timeout MS [5000] | --memory MB [256] |
 * --replay FILE (run one saved input, watched the same way, and print what happened; with --target).
 * Exits 1 if a target failed, 2 on a usage error.
 *
 * `node --test dist/test/` runs every file under test/ as a test file; without arguments under the
 * test runner this does nothing.
 */
import { readFileSync } from "node:fs";
import { describeFuzz, runFuzz } from "./run-fuzz.js";
import { runSurvival } from "./chunk-survival.js";
import type { FuzzTarget } from "./fuzz-protocol.js";
import { UsageError, parseCliOptions, runMain } from "../stress/cli-options.js";


async function main(): Promise<number> {
  const args = parseCliOptions(process.argv.slice(2), ["runs", "seconds", "target", "seed", "case-timeout", "memory", "replay"]);
  const num = args.num;
  const t = args.get("target") ?? "all";
  if (t !== "ring" && t !== "trace" && t !== "chunks" && t !== "all") throw new UsageError(`--target must be ring, trace, chunks or all, received ${t}`);
  const replay = args.get("replay");
  if (replay !== undefined) {
    if (t === "all" || t === "chunks") throw new UsageError("--replay needs --target ring or --target trace");
    const bytes = new Uint8Array(readFileSync(replay));
    const r = await runFuzz({ target: t, seed: 0, runs: 1, seconds: 0, inputs: [bytes], caseTimeoutMs: num("case-timeout", 5000), memoryMb: num("memory", 256) });
    console.log(`replay of ${replay} (${bytes.length} bytes) as a ${t}:`);
    console.log(describeFuzz(r));
    return r.ok ? 0 : 1;
  }
  const seed = args.get("seed") !== undefined ? num("seed", 0) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
  const targets: FuzzTarget[] = t === "all" ? ["ring", "trace"] : t === "chunks" ? [] : [t];
  let failed = 0;
  if (t === "chunks" || t === "all") {
    console.log(`[${new Date().toISOString()}] fuzzing chunks, seed ${seed} (--seed ${seed} --target chunks repeats it)`);
    try {
      console.log(`chunks: ${runSurvival(seed, num("runs", 100_000), num("seconds", 60))} cases, every untouched chunk delivered`);
    } catch (e) {
      console.log(`chunks FAILED: ${e instanceof Error ? e.message : String(e)}`);
      failed++;
    }
  }
  for (const target of targets) {
    console.log(`[${new Date().toISOString()}] fuzzing ${target}, seed ${seed} (--seed ${seed} --target ${target} repeats it)`);
    const r = await runFuzz({
      target,
      seed,
      runs: num("runs", 100_000),
      seconds: num("seconds", 60),
      caseTimeoutMs: num("case-timeout", 5000),
      memoryMb: num("memory", 256),
    });
    console.log(describeFuzz(r));
    if (!r.ok) failed++;
  }
  console.log(failed === 0 ? "fuzz passed" : `fuzz FAILED: ${failed} target(s)`);
  return failed === 0 ? 0 : 1;
}

runMain(main);

/**
 * Damage costs only what it touched (issue 13, item 13): a bounded fuzz round over valid trace
 * files (snapshots of every corpus ring, page hand-off streams with one and several pages per
 * chunk) with bytes flipped anywhere; every chunk not touched by a flip is still delivered. The
 * long run is `npm run fuzz -- --target chunks --seconds S`. FUZZ_SEED repeats a seed.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { checkSurvival, runSurvival, survivalSeeds } from "./chunk-survival.js";
import { chunkList } from "../tracefile/chunks.js";
import { CH_SYNC } from "../../src/tracefile/file-layout.js";

const envSeed = process.env["FUZZ_SEED"];
const seed = envSeed !== undefined && envSeed !== "" ? Number(envSeed) >>> 0 : (Math.random() * 2 ** 32) >>> 0;

test(`fuzz chunks (seed ${seed}): every chunk no flipped byte touched is still delivered`, { timeout: 60_000 }, () => {
  const n = runSurvival(seed, 300, 6);
  assert.ok(n > 20, `${n} cases ran`);
});

test("the survival check itself: a flipped sync word in every chunk after the ring header, one at a time", () => {
  for (const s of survivalSeeds()) {
    const chunks = chunkList(s.bytes);
    for (const c of chunks.slice(2)) {
      assert.equal(checkSurvival(s, [{ at: c.at + CH_SYNC, xor: 0x20 }]), null, `${s.name}: chunk at ${c.at}`);
    }
  }
});

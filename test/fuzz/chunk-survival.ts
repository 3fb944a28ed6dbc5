/**
 * The damage-containment fuzz round (issue 13): flip bytes of valid trace files and check that
 * every PAGE and LOST chunk no flip touched is still delivered, record for record (its rows are
 * counted from the undamaged file, each chunk read alone). A flip in the file header or the RING
 * chunk may make the file unreadable (a TraceFileError), and nothing else may. (A flip inside an
 * unchecked whole-page chunk may change a record without a report: such chunks carry no checksum
 * by default, FORMAT.md 13.3; only what the flip touched can change.)
 */
import fc from "fast-check";
import { TraceFileError, createRing } from "../../src/index.js";
import { TracePipe } from "../../src/node/index.js";
import { concatBytes } from "../../src/tracefile/encode.js";
import { CHUNK_LOST, CHUNK_PAGE, CHUNK_RING } from "../../src/tracefile/file-layout.js";
import { chunkList, rowsByChunk, traceRows, without, type ChunkAt, type Row } from "../tracefile/chunks.js";
import { traceCorpus } from "./corpus.js";

/** A valid file and what its chunks hold. */
export interface SurvivalSeed {
  name: string;
  bytes: Uint8Array;
  chunks: ChunkAt[];
  rows: Map<number, Row[]>;
}

/** A page hand-off stream in discard mode with multi-page chunks and fragments (the corpus's stream is overwrite mode, one page per chunk). */
function multiPageStream(): Uint8Array {
  const ring = createRing({ lanes: 2, sharedLanes: 1, pageSize: 256, pagesPerLane: 8, mode: "discard", clock: "counter", metadataBytes: 0 });
  const parts: Uint8Array[] = [];
  const pipe = new TracePipe(ring, (ps) => parts.push(...ps.map((p) => p.slice())), { batchPages: 4 });
  const ws = [ring.writer({ lane: 0 }), ring.writer({ lane: 1 }), ring.writer({ lane: "shared" })];
  for (let i = 0; i < 900; i++) {
    ws[i % 3]!.write(1 + (i % 9), new Uint8Array(i % 29).fill(i));
    if (i % 150 === 149) pipe.pump();
    if (i % 301 === 7) pipe.flush();
  }
  pipe.close();
  return concatBytes(parts);
}

let seeds: SurvivalSeed[] | undefined;
export function survivalSeeds(): SurvivalSeed[] {
  seeds ??= [...traceCorpus().map((s) => ({ name: s.name, bytes: s.bytes })), { name: "multi-page hand-off stream", bytes: multiPageStream() }].map((s) => ({
    ...s,
    chunks: chunkList(s.bytes),
    rows: rowsByChunk(s.bytes, true),
  }));
  return seeds;
}

export interface Flip {
  at: number;
  xor: number;
}

/** What one case found: null when it holds, else why not. */
export function checkSurvival(seed: SurvivalSeed, flips: readonly Flip[]): string | null {
  const bad = seed.bytes.slice();
  for (const f of flips) bad[f.at % bad.length]! ^= f.xor;
  const touched = (c: ChunkAt) => flips.some((f) => {
    const at = f.at % bad.length;
    return at >= c.at && at < c.at + c.size;
  });
  let got: ReturnType<typeof traceRows>;
  try {
    got = traceRows(bad);
  } catch (e) {
    if (!(e instanceof TraceFileError)) return `${seed.name}: threw ${String(e)}`;
    const first = seed.chunks.find((c) => c.kind === CHUNK_RING)!;
    const headerHit = flips.some((f) => f.at % bad.length < first.at + first.size);
    return headerHit ? null : `${seed.name}: refused though neither the file header nor the ring chunk was hit: ${e.message}`;
  }
  const delivered = got.rows.filter((r) => !r.endsWith("|damaged"));
  let missing: Row[] = [];
  let expected = 0;
  for (const c of seed.chunks) {
    if ((c.kind !== CHUNK_PAGE && c.kind !== CHUNK_LOST) || touched(c)) continue;
    const rows = seed.rows.get(c.at) ?? [];
    expected += rows.length;
    missing = missing.concat(rows);
  }
  const notDelivered = without(missing, delivered);
  if (notDelivered.length > 0) {
    return `${seed.name}: ${notDelivered.length} of the ${expected} records of untouched chunks were not delivered (flips ${JSON.stringify(flips)}), e.g. ${notDelivered[0]}`;
  }
  return null;
}

/** The fast-check arbitrary of one case: a seed and 1 to 6 flipped bytes. */
export function survivalCase(): fc.Arbitrary<{ seed: number; flips: Flip[] }> {
  return fc.record({
    seed: fc.nat(survivalSeeds().length - 1),
    flips: fc.array(fc.record({ at: fc.nat(), xor: fc.integer({ min: 1, max: 255 }) }), { minLength: 1, maxLength: 6 }),
  });
}

/** Run `runs` cases (or until `seconds` pass); returns the cases run, or throws with the first failure. */
export function runSurvival(seed: number, runs: number, seconds: number): number {
  const all = survivalSeeds();
  const deadline = performance.now() + seconds * 1000;
  let n = 0;
  fc.assert(
    fc.property(survivalCase(), (c) => {
      if (performance.now() > deadline) return;
      n++;
      const why = checkSurvival(all[c.seed]!, c.flips);
      if (why !== null) throw new Error(why);
    }),
    { seed, numRuns: runs },
  );
  return n;
}

/**
 * followFileRing() (live attach): events committed by another process arrive decoded with the
 * schemas found in the ring's metadata, while the follower sleeps in the cross-process futex
 * between them; it starts "now" or from the start of what the ring holds, and stops on abort.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { type Decoded } from "../../src/index.js";
import { createFileRing, followFileRing } from "../../src/node/index.js";
import { removeFile, ringPath, startChild } from "./children.js";

const opts = { lanes: 2, sharedLanes: 1, pageSize: 4096, pagesPerLane: 8, mode: "overwrite", metadataBytes: 4096 } as const;

function summary(e: Decoded): string {
  if (e.kind === "event") return `${e.name} ${e.fields["method"]} ${e.fields["status"]} ${e.fields["durationNs"]} ${e.fields["url"]}`;
  if (e.kind === "raw") return `raw ${e.type} ${[...e.payload].join(",")}`;
  return `lost ${e.lost}`;
}

test("followFileRing() delivers another process's typed events as they are committed, decoded from the ring's metadata", { timeout: 60_000 }, async () => {
  const path = ringPath("follow");
  const ring = createFileRing(path, opts);
  ring.writer().write(3, new Uint8Array([42])); // already there: skipped with from "now", seen with "start"
  const child = startChild("typed-writer", { path, count: 5, pauseMs: 20 });
  try {
    await child.next((m) => m["type"] === "ready");
    const ac = new AbortController();
    const now: string[] = [];
    const start: string[] = [];
    const enough = () => now.length >= 10 && start.length >= 11 && ac.abort();
    const followers = [
      followFileRing(path, (e) => void (now.push(summary(e)), enough()), { signal: ac.signal }),
      followFileRing(path, (e) => void (start.push(summary(e)), enough()), { signal: ac.signal, from: "start" }),
    ] as const;
    // Both followers have skipped or read what was there (before their first await) and now wait.
    child.send({ type: "go" });
    const [a, b] = await Promise.all(followers);
    const expected = Array.from({ length: 5 }, (_, i) => [
      `http_request ${i % 2 === 0 ? "GET" : "POST"} ${200 + i} ${10n ** 12n + BigInt(i)} /item/${i}`,
      `raw 7 ${i}`,
    ]).flat();
    assert.deepEqual(now, expected);
    assert.deepEqual(a, { records: 10, lost: 0 });
    assert.deepEqual(start, ["raw 3 42", ...expected], "from the start: the record that was there first, then the same");
    assert.deepEqual(b, { records: 11, lost: 0 });
    await child.next((m) => m["type"] === "done");
  } finally {
    child.kill();
    removeFile(path);
  }
});

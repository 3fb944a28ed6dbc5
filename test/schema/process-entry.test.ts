/**
 * Process entries of the metadata area (docs/FORMAT.md 12.6): a process named in the ring is named
 * in every registry that maps it and in trace files, costs no record (consumers and counts see
 * nothing), takes one entry index (the next schema id moves on), and a damaged entry costs only
 * its name.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { SCHEMA_ID_BASE, attachRing, createRing, defineEvent, eventRegistry, t } from "../../src/index.js";
import { EventRegistry } from "../../src/schema/registry.js";
import * as M from "../../src/schema/metadata-layout.js";
import { encodeProcessEntry, parseProcessEntry } from "../../src/schema/process-entry.js";

const small = { lanes: 1, sharedLanes: 1, pagesPerLane: 4, clock: "counter" } as const;

test("a process named in the ring is named in every registry of it, without a record, and takes one entry id", () => {
  const ring = createRing(small);
  const first = defineEvent(ring, "a", { x: t.u8 });
  eventRegistry(ring).nameProcess(4242, "node server.js (cluster worker 2)");
  eventRegistry(ring).nameProcess(4242, "node server.js (cluster worker 2)"); // the same name again: nothing appended
  const second = defineEvent(ring, "b", { x: t.u8 });
  assert.equal(first.id, SCHEMA_ID_BASE);
  assert.equal(second.id, SCHEMA_ID_BASE + 2, "the process entry has index 1");
  const other = eventRegistry(attachRing(ring.buffer));
  assert.deepEqual([...other.processNames()], [[4242, "node server.js (cluster worker 2)"]]);
  assert.deepEqual(other.schemas().map((s) => s.name), ["a", "b"]);
  eventRegistry(ring).nameProcess(4242, "node other.js"); // a reused pid: the latest entry wins
  assert.deepEqual([...other.processNames()], [[4242, "node other.js"]]);
  assert.equal(ring.consumer().drain().length, 0, "no record");
  assert.equal(ring.stats().total.written, 0);
  const image = new EventRegistry({ bytes: ring.core.u8.slice(ring.geometry.metadataOffset, ring.geometry.metadataOffset + eventRegistry(ring).used), maxPayload: ring.geometry.maxPayload });
  assert.equal(image.processNames().get(4242), "node other.js", "a copy of the area (a trace file's) has the names");
  assert.throws(() => image.nameProcess(1, "x"), /read-only/);
  assert.throws(() => eventRegistry(ring).nameProcess(0, "x"), TypeError);
  assert.throws(() => eventRegistry(ring).nameProcess(1, ""), TypeError);
});

test("process entries: long names are cut at a code point; a damaged entry costs its name only", () => {
  const long = encodeProcessEntry(7, "é".repeat(100));
  assert.equal(long.length % 8, 0);
  const parsed = parseProcessEntry(long, 0, long.length);
  assert.equal(parsed?.name, "é".repeat(M.PROCESS_NAME_MAX / 2));
  const e = encodeProcessEntry(7, "node a.js");
  const bad = e.slice();
  bad[M.PR_NAME_LEN] = 200; // runs past the entry
  assert.equal(parseProcessEntry(bad, 0, bad.length), undefined);
  const empty = e.slice();
  empty[M.PR_NAME_LEN] = 0;
  assert.equal(parseProcessEntry(empty, 0, empty.length), undefined);
  assert.equal(parseProcessEntry(e, 0, M.PR_NAME - 1), undefined, "too short for its fields");

  const ring = createRing(small);
  const reg = eventRegistry(ring);
  reg.nameProcess(7, "node a.js");
  const kept = defineEvent(ring, "kept", { x: t.u8 });
  ring.core.u8[ring.geometry.metadataOffset + M.PR_NAME_LEN] = 250; // damage the process entry
  const fresh = eventRegistry(attachRing(ring.buffer));
  assert.equal(fresh.processNames().size, 0);
  assert.equal(fresh.schema(kept.id)?.name, "kept", "the schemas stay usable");
});

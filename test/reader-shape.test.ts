import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";

/**
 * The objects a read touches per record keep few enough own properties that V8 cannot put them in
 * dictionary mode (properties in a hash table: every access a lookup). V8 does so when more than
 * about 15 properties lie outside the object, and after a full GC it has been seen to give new
 * objects of a class no room inside at all: in the bench process, every lane cursor created after
 * one `gc()` was born in dictionary mode (it had 41 fields) and `read()` cost 150 to 250 ns a record
 * instead of about 22. The count is read from V8's own `%DebugPrint` in a child process.
 */
const MAX_OWN_PROPERTIES = 14;

/** Prints one object (named by the first argument) with %DebugPrint: one process per object, as V8 prints through its own buffered stdout. */
const script = `
const { createRing } = await import(${JSON.stringify(new URL("../src/index.js", import.meta.url).href)});
const ring = createRing({ lanes: 2, sharedLanes: 1, pageSize: 512, pagesPerLane: 4, metadataBytes: 0, mode: "discard" });
ring.writer().write(1, new Uint8Array(4));
const consumer = ring.consumer({ lanes: [0, 1] });
consumer.readBatches(() => {});
const cursor = consumer.handoffLanes()[0];
cursor.head();
const member = ring.groupConsumer({ lanes: [2] });
member.read(() => {});
const objects = {
  "consumer cursor": cursor,
  record: cursor.record,
  reader: consumer,
  "iterator cursor": ring.iterator().handoffLanes()[0],
  "group member cursor": member.handoffLanes()[0],
};
%DebugPrint(objects[process.argv[1]]);
`;

/** Own properties of the printed object, from %DebugPrint's "All own properties" listing; null when the build does not list them. */
function ownProperties(out: string): { count: number; dictionary: boolean } | null {
  const list = /- All own properties \(excluding elements\): \{\n([\s\S]*?)\n \}/.exec(out);
  if (list === null) return null;
  const count = (list[1] ?? "").split("\n").filter((l) => /^\s+\S/.test(l)).length;
  return { count, dictionary: out.includes("[DictionaryProperties]") };
}

test("the reader's per-record objects have at most 14 own properties each (V8 keeps them out of dictionary mode)", (t) => {
  for (const label of ["consumer cursor", "record", "reader", "iterator cursor", "group member cursor"]) {
    const child = spawnSync(process.execPath, ["--allow-natives-syntax", "--input-type=module", "-e", script, label], { encoding: "utf8" });
    assert.equal(child.status, 0, child.stderr);
    const o = ownProperties(child.stdout);
    if (o === null) {
      t.skip("this Node.js build's %DebugPrint does not list properties");
      return;
    }
    assert.equal(o.dictionary, false, `the ${label} is in dictionary mode`);
    assert.ok(o.count <= MAX_OWN_PROPERTIES, `the ${label} has ${o.count} own properties (at most ${MAX_OWN_PROPERTIES}: split the state into small objects)`);
  }
});

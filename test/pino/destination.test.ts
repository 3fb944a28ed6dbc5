import { test } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import { Worker } from "node:worker_threads";
import fc from "fast-check";
import { pino } from "pino";
import { bytesSource, createRing, defineEvent, eventRegistry, openTrace, snapshotRing, type RingBuffer } from "../../src/index.js";
import { PINO_LOG_EVENT, pinoLogFields, readLog, ringDestination, type LogEntry } from "../../src/pino/index.js";

function logs(ring: RingBuffer): LogEntry[] {
  const reg = eventRegistry(ring);
  return ring
    .iterator()
    .drain()
    .map((r) => readLog(reg, r))
    .filter((l): l is LogEntry => l !== undefined);
}

test("pino writes every line into the ring; each reads back with its level, time, message and fields", () => {
  const ring = createRing({ lanes: 2, pageSize: 8192, pagesPerLane: 16, mode: "discard" });
  const dest = ringDestination(ring);
  const log = pino({ level: "trace" }, dest);
  const child = log.child({ requestId: "r-17" });
  const t0 = ring.now();
  log.trace("t");
  log.debug({ n: 1 }, "d");
  log.info({ user: { id: 42, name: "Zoë" } }, "signed in");
  child.warn({ ms: 12.5 }, "slow");
  log.error(new Error("boom"), "failed");
  log.fatal("the end");
  log.info({ only: "fields" });
  const t1 = ring.now();
  const got = logs(ring);
  assert.deepEqual(got.map((l) => [l.level, l.msg]), [[10, "t"], [20, "d"], [30, "signed in"], [40, "slow"], [50, "failed"], [60, "the end"], [30, ""]]);
  const reg = eventRegistry(ring);
  assert.deepEqual(
    ring.iterator().drain().map((r) => { const d = reg.decode(r); return d.kind === "event" ? d.fields.level : -1; }),
    [10, 20, 30, 40, 50, 60, 30],
    "the stored level field, parsed from the line at write time",
  );
  assert.deepEqual(got[2]?.fields.user, { id: 42, name: "Zoë" });
  assert.equal(got[3]?.fields.requestId, "r-17");
  assert.equal(got[3]?.fields.ms, 12.5);
  assert.equal((got[4]?.fields.err as { message?: string }).message, "boom");
  for (const l of got) {
    assert.equal(l.time, l.fields.time, "time is the line's own");
    assert.ok(l.timestamp >= t0 && l.timestamp <= t1, "stamped on the ring clock at the log call");
    assert.equal(l.truncated, false);
    assert.equal(l.line, JSON.stringify(l.fields) + "\n");
  }
  assert.deepEqual([dest.dropped, dest.truncated], [0, 0]);
});

/** The level the destination must store: pino's numeric prefix, 1 to 5 digits up to 65535, else 0. */
function expectedLevel(line: string): number {
  const m = /^\{"level":(\d{1,5})[,}]/.exec(line);
  return m !== null && Number(m[1]) <= 0xffff ? Number(m[1]) : 0;
}

test("the destination writes exactly the bytes the typed codec writes, level parsed from the line, truncation included (property)", () => {
  const ring = createRing({ lanes: 2, pageSize: 1024, pagesPerLane: 8, mode: "overwrite" });
  const dest = ringDestination(ring);
  const ev = defineEvent(ring, PINO_LOG_EVENT, pinoLogFields(ring));
  const codec = ring.writer();
  const reader = ring.consumer();
  const max = ev.schema.fields[1]?.param ?? 0;
  assert.ok(max > 800 && max < 1024);
  const tail = fc.string({ unit: fc.oneof(fc.constantFrom("é", "😀", "中", "\n", ",", "}"), fc.string({ minLength: 1, maxLength: 1 })), maxLength: 1100 });
  const line = fc.oneof(
    tail,
    fc.tuple(fc.oneof(fc.integer({ min: 0, max: 70000 }).map(String), fc.stringMatching(/^[0-9a-z"]{0,7}$/)), fc.constantFrom(",", "}", ""), tail).map(([lv, sep, rest]) => `{"level":${lv}${sep}${rest}`),
  );
  fc.assert(
    fc.property(line, (text) => {
      dest.write(text);
      ev.writeArgs(codec, expectedLevel(text), text);
      const [a, b] = reader.drain();
      assert.ok(a && b);
      assert.deepEqual(a.payload, b.payload);
      const back = readLog(eventRegistry(ring), a);
      assert.ok(text.startsWith(back?.line ?? "?"));
      assert.equal(back?.truncated, back?.line !== text);
    }),
    { numRuns: 400 },
  );
});

test("a custom level formatter (labels): the level is read back from the line", () => {
  const ring = createRing({ lanes: 1, pageSize: 4096, pagesPerLane: 8, mode: "discard" });
  const log = pino({ formatters: { level: (label) => ({ level: label }) } }, ringDestination(ring));
  log.warn("labelled");
  const reg = eventRegistry(ring);
  const [r] = ring.iterator().drain();
  assert.ok(r);
  const d = reg.decode(r);
  assert.ok(d.kind === "event");
  assert.equal(d.fields.level, 0, "no numeric level at the start of the line");
  assert.deepEqual([readLog(reg, r)?.level, readLog(reg, r)?.msg], [40, "labelled"]);
});

test("a line longer than the event's maximum is cut and flagged; it still reads back with level and time", () => {
  const ring = createRing({ lanes: 1, pageSize: 1024, pagesPerLane: 8, mode: "discard" });
  const dest = ringDestination(ring);
  const log = pino({}, dest);
  const before = Date.now();
  log.error({ blob: "x".repeat(5000) }, "too long");
  const [l] = logs(ring);
  assert.ok(l);
  assert.deepEqual([l.level, l.truncated, l.msg, l.fields], [50, true, "", {}]);
  assert.ok(l.line.startsWith('{"level":50'));
  assert.ok(l.time >= before - 5 && l.time <= Date.now() + 5, "time from the ring clock on the wall clock");
  assert.equal(dest.truncated, 1);
});

test("a full discard-mode ring drops lines without disturbing the logger; after end() lines are dropped", () => {
  const ring = createRing({ lanes: 1, sharedLanes: 0, pageSize: 1024, pagesPerLane: 4, mode: "discard" });
  const dest = ringDestination(ring);
  const log = pino({}, dest);
  for (let i = 0; i < 200; i++) log.info({ i }, "filling");
  assert.ok(dest.dropped > 0);
  const kept = logs(ring);
  assert.equal(kept.length + dest.dropped, 200);
  assert.deepEqual(kept.map((l) => l.fields.i), kept.map((_, i) => i), "the first lines are kept, in order");
  dest.end();
  log.info("after the end");
  assert.equal(kept.length + dest.dropped, 201);
});

test("a worker thread logs through its own destination into the same ring; lines merge by time", { timeout: 30_000 }, async () => {
  const ring = createRing({ lanes: 3, pageSize: 8192, pagesPerLane: 16, mode: "discard" });
  const dest = ringDestination(ring);
  const log = pino({ base: { role: "main" } }, dest);
  log.info("main before");
  const w = new Worker(new URL("../fixtures/pino-worker.js", import.meta.url), { workerData: { buffer: ring.buffer, count: 20 } });
  const [done] = (await once(w, "message")) as [{ lane: number }];
  await w.terminate(); // it has logged and closed; see test/node/instrument.test.ts on waiting for exits
  log.info("main after");
  const got = logs(ring);
  assert.equal(got.length, 22);
  assert.deepEqual([got[0]?.msg, got[21]?.msg], ["main before", "main after"]);
  const fromWorker = got.slice(1, 21);
  assert.deepEqual(fromWorker.map((l) => [l.msg, l.level, l.lane, l.fields.role]), fromWorker.map((_, i) => [`worker line ${i}`, 40, done.lane, "worker"]));
  assert.notEqual(done.lane, dest.writer.lane);
});

test("lines read back from a snapshot file (.urb) through its read-only registry, time from the file's epoch", () => {
  const ring = createRing({ lanes: 1, pageSize: 1024, pagesPerLane: 8, mode: "overwrite" });
  const log = pino({}, ringDestination(ring));
  log.info({ n: 1 }, "kept whole");
  log.error({ blob: "x".repeat(2000) }, "cut");
  const trace = openTrace(bytesSource(snapshotRing(ring)));
  const reg = trace.registry;
  assert.ok(reg);
  const got: (LogEntry | undefined)[] = [];
  let noEpoch: LogEntry | undefined;
  trace.read((r) => {
    got.push(readLog(reg, r, { epochWallMs: trace.epochWallMs })); // the record object is reused: convert now
    noEpoch = readLog(reg, r);
  });
  assert.deepEqual(got.map((l) => [l?.level, l?.msg, l?.truncated]), [[30, "kept whole", false], [50, "", true]]);
  const cut = got[1];
  assert.ok(cut);
  assert.equal(cut.time, trace.epochWallMs + cut.timestamp / 1e6, "a cut line has no time of its own: the file's epoch places it");
  assert.ok(noEpoch !== undefined && Number.isNaN(noEpoch.time), "without an epoch, a file's registry cannot place a cut line");
});

test("fullWaitMs: a full ring makes write() wait for room (not a drop while it waits), then drop once; later lines drop at once until there is room, then wait again", () => {
  const ring = createRing({ lanes: 1, sharedLanes: 0, pageSize: 1024, pagesPerLane: 4, mode: "discard" });
  const dest = ringDestination(ring, { fullWaitMs: 40 });
  const line = `${JSON.stringify({ level: 30, msg: "x".repeat(200) })}\n`;
  const fill = ringDestination(ring, { writer: dest.writer }); // same lane, no waiting
  let n = 0;
  while (fill.dropped === 0 && n < 100) {
    fill.write(line);
    n++;
  }
  assert.ok(n < 100, "the lane filled");
  const before = dest.dropped;
  const writerDrops = dest.writer.dropped;
  let t = performance.now();
  dest.write(line);
  assert.ok(performance.now() - t >= 35, "it waited for room");
  assert.equal(dest.dropped, before + 1, "one drop after the wait");
  assert.equal(dest.writer.dropped, writerDrops + 1, "none counted by the writer while waiting (tryReserve)");
  t = performance.now();
  dest.write(line);
  assert.ok(performance.now() - t < 30, "no second wait while the ring stays full");
  assert.equal(dest.dropped, before + 2);
  ring.consumer().read(() => {}); // room again
  dest.write(line);
  assert.equal(dest.dropped, before + 2, "written");
  assert.throws(() => ringDestination(ring, { writer: dest.writer, fullWaitMs: -1 }), /fullWaitMs/);
});

import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { attachRing, createRing, readGeometry, ringBytes, RingFormatError, CapacityError } from "../src/index.js";

const small = { lanes: 2, sharedLanes: 1, pageSize: 512, pagesPerLane: 4, maxProducers: 8, metadataBytes: 0 } as const;

test("attachRing() sees the same geometry and records as the creator", () => {
  const ring = createRing(small);
  const other = attachRing(ring.buffer);
  assert.deepEqual(other.geometry, ring.geometry);
  other.writer().write(9, new Uint8Array([1, 2, 3]));
  const got = ring.consumer().drain();
  assert.equal(got.length, 1);
  assert.equal(got[0]?.type, 9);
  assert.deepEqual([...(got[0]?.payload ?? [])], [1, 2, 3]);
});

test("ringBytes() equals the size createRing() allocates", () => {
  assert.equal(ringBytes(small), createRing(small).buffer.byteLength);
});

test("attachRing() refuses memory that is not a ring, saying what is wrong", () => {
  assert.throws(() => attachRing(new SharedArrayBuffer(16)), {
    name: "RingFormatError",
    message: "Cannot attach ring: buffer has 16 bytes, less than the 256-byte header",
  });
  assert.throws(() => attachRing(new SharedArrayBuffer(4096)), (e: unknown) => {
    return e instanceof RingFormatError && e.byteOffset === 0 && /bad magic 0x0 at byte 0/.test(e.message);
  });
  assert.throws(() => attachRing(new ArrayBuffer(4096) as unknown as SharedArrayBuffer), {
    name: "TypeError",
    message: "Cannot attach ring: expected a SharedArrayBuffer, received [object ArrayBuffer]",
  });
});

test("attachRing() refuses a wrong version and a truncated buffer", () => {
  const ring = createRing(small);
  const copy = new SharedArrayBuffer(ring.buffer.byteLength);
  new Uint8Array(copy).set(new Uint8Array(ring.buffer));
  new Int32Array(copy)[1] = 2;
  assert.throws(() => attachRing(copy), { message: "Cannot attach ring: format version at byte 4 is 2, expected 1" });
  const cut = new SharedArrayBuffer(ring.buffer.byteLength - 8);
  new Uint8Array(cut).set(new Uint8Array(ring.buffer).subarray(0, cut.byteLength));
  assert.throws(() => attachRing(cut), /truncated\?/);
});

test("attachRing() on a corrupted header throws only RingFormatError (fuzz)", () => {
  const ring = createRing(small);
  const image = new Uint8Array(ring.buffer).slice(0, 256);
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.integer({ min: 4, max: 255 }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }), (edits) => {
      const sab = new SharedArrayBuffer(ring.buffer.byteLength);
      const u8 = new Uint8Array(sab);
      u8.set(new Uint8Array(ring.buffer));
      let changed = false;
      for (const [at, v] of edits) {
        if (at < 64 && u8[at] !== v) changed = true;
        u8[at] = v;
      }
      try {
        readGeometry(sab);
      } catch (e) {
        assert.ok(e instanceof RingFormatError, `unexpected ${String(e)}`);
        return;
      }
      // Accepted: then the geometry fields must be untouched (or describe the same layout).
      if (changed) assert.deepEqual(readGeometry(sab).totalBytes <= sab.byteLength, true);
      void image;
    }),
    { numRuns: 500 },
  );
});

test("createRing() rejects bad options with RangeError/TypeError", () => {
  assert.throws(() => createRing({ mode: "ring" as never }), { message: 'Cannot create ring: mode must be "overwrite" or "discard", received "ring"' });
  assert.throws(() => createRing({ clock: "wall" as never }), /clock must be "mono", "counter", "none" or a function/);
  assert.throws(() => createRing({ pageSize: 100 }), RangeError);
  assert.throws(() => createRing(small, new SharedArrayBuffer(100)), /buffer must be at least/);
});

test("writer() claims free per-thread lanes, then the shared lane, then refuses", () => {
  const ring = createRing({ ...small, lanes: 2, sharedLanes: 0 });
  const a = ring.writer();
  const b = ring.writer();
  assert.deepEqual([a.lane, b.lane], [0, 1]);
  assert.throws(() => ring.writer(), (e: unknown) => e instanceof CapacityError && /all 2 per-thread lanes are taken/.test(e.message));
  a.close();
  assert.equal(ring.writer().lane, 0);
  const withShared = createRing({ ...small, lanes: 1, sharedLanes: 1 });
  withShared.writer();
  assert.equal(withShared.writer().lane, 1);
  assert.throws(() => withShared.writer({ lane: 0 }), /lane 0 is owned by producer 0/);
  assert.throws(() => withShared.writer({ lane: 7 }), { message: "Cannot create writer: lane must be an integer from 0 to 1, received 7" });
});

test("producer slots run out with a CapacityError", () => {
  const ring = createRing({ ...small, maxProducers: 2 });
  ring.writer({ lane: "shared" });
  ring.writer({ lane: "shared" });
  assert.throws(() => ring.writer({ lane: "shared" }), { name: "CapacityError", message: "Cannot create writer: all 2 producer slots are taken (raise maxProducers)" });
});

test("a user-clock ring attached without its clock can be read, not written (the clock function is needed to write)", () => {
  const ring = createRing({ ...small, clock: () => 42 });
  ring.writer().write(1, new Uint8Array(0));
  const readOnly = attachRing(ring.buffer);
  assert.throws(() => readOnly.writer(), { name: "TypeError", message: "Cannot create writer: the ring uses a user clock; attach it with the same clock function as options.clock (readers do not need it)" });
  assert.equal(readOnly.iterator().drain()[0]?.timestamp, 42);
  assert.throws(() => attachRing(ring.buffer, { clock: 42 as never }), /options.clock must be a function, received number/);
  const other = attachRing(ring.buffer, { clock: () => 43 });
  other.writer().write(1, new Uint8Array(0));
  assert.deepEqual(ring.consumer().drain().map((r) => r.timestamp), [42, 43]);
});

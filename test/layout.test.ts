import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  LANE_HEADER_BYTES,
  PAGE_HEADER_BYTES,
  RING_HEADER_BYTES,
  PRODUCER_BYTES,
  computeGeometry,
  pos8Diff,
  pos8Offset,
  pos8Page,
  recordWord,
  slotOffset,
  toPos8,
  wordInfo,
  wordLength,
  wordState,
  type GeometryInput,
} from "../src/layout.js";

const base: GeometryInput = {
  overwrite: true,
  clock: 1,
  pageSize: 4096,
  lanePages: 16,
  ownLanes: 4,
  sharedLanes: 1,
  maxProducers: 64,
  metadataBytes: 65536,
};

test("computeGeometry() lays out header, producers, metadata and lanes in order", () => {
  const g = computeGeometry(base);
  assert.equal(g.producersOffset, RING_HEADER_BYTES);
  assert.equal(g.metadataOffset, RING_HEADER_BYTES + 64 * PRODUCER_BYTES);
  assert.equal(g.lanesOffset, g.metadataOffset + 65536);
  assert.equal(g.laneStride, LANE_HEADER_BYTES + 16 * 4096);
  assert.equal(g.totalBytes, g.lanesOffset + 5 * g.laneStride);
  assert.equal(g.maxPayload, 4096 - 144);
  assert.equal(g.lanes, 5);
});

test("computeGeometry() refuses bad values with a message naming value and range", () => {
  assert.throws(() => computeGeometry({ ...base, pageSize: 3000 }), {
    name: "RangeError",
    message: "Cannot create ring: pageSize must be a power of two from 256 to 65536, received 3000",
  });
  assert.throws(() => computeGeometry({ ...base, lanePages: 2 }), {
    message: "Cannot create ring: pagesPerLane must be a power of two from 4 to 1048576, received 2",
  });
  assert.throws(() => computeGeometry({ ...base, ownLanes: 0, sharedLanes: 0 }), {
    message: "Cannot create ring: lanes + sharedLanes must be at least 1, received 0",
  });
  assert.throws(() => computeGeometry({ ...base, ownLanes: 1.5 }), {
    name: "TypeError",
    message: "Cannot create ring: lanes must be an integer, received 1.5",
  });
  assert.throws(() => computeGeometry({ ...base, pageSize: 65536, lanePages: 1 << 16, ownLanes: 4 }), /total size must be at most/);
  assert.throws(() => computeGeometry({ ...base, maxProducers: 0 }), {
    message: "Cannot create ring: maxProducers must be from 1 to 16384, received 0",
  });
});

test("record words round-trip every state, length and info", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0x3fff }), (st, len, info) => {
      const w = recordWord(st, len, info);
      assert.equal(wordState(w), st);
      assert.equal(wordLength(w), len);
      assert.equal(wordInfo(w), info);
      assert.notEqual(w, 0);
    }),
  );
});

test("pos8 helpers recover page and offset across 32-bit wrap-around", () => {
  fc.assert(
    fc.property(
      fc.constantFrom(256, 4096, 65536),
      fc.integer({ min: 0, max: 2 ** 40 }),
      fc.integer({ min: 0, max: 65535 }),
      fc.integer({ min: -1000, max: 1000 }),
      (pageSize, pageNo, rawOff, drift) => {
        const g = computeGeometry({ ...base, pageSize, lanePages: 4, ownLanes: 1, sharedLanes: 0, maxProducers: 1, metadataBytes: 0 });
        const off = rawOff & (pageSize - 8);
        const p = toPos8(g, pageNo, off);
        assert.equal(pos8Offset(g, p), off);
        assert.equal(pos8Page(g, p, Math.max(0, pageNo + drift)), pageNo);
        const q = toPos8(g, pageNo + 1, off);
        assert.equal(pos8Diff(q, p), pageSize / 8);
      },
    ),
  );
});

test("slotOffset() maps page counters onto slots modulo the lane's page count", () => {
  const g = computeGeometry(base);
  const lane = 1000;
  assert.equal(slotOffset(g, lane, 0), lane + LANE_HEADER_BYTES);
  assert.equal(slotOffset(g, lane, 17), lane + LANE_HEADER_BYTES + 4096);
  assert.equal(slotOffset(g, lane, 2 ** 32 + 3), lane + LANE_HEADER_BYTES + 3 * 4096);
  assert.equal(PAGE_HEADER_BYTES % 8, 0);
});

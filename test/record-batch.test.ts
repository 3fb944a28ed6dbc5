import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { RingRecord } from "../src/index.js";
import { BATCH_BUFFER_BYTES, RecordCopier, RecordCopy } from "../src/record-batch.js";

/** A reader-like source: one reused RingRecord over one reused page buffer, as a LaneCursor hands them out. */
function source(pageBytes: number): { rec: RingRecord; page: Uint8Array } {
  const page = new Uint8Array(pageBytes);
  const rec = new RingRecord();
  rec.bytes = page;
  return { rec, page };
}

test("RecordCopier: every copy keeps its own bytes after the source buffer is rewritten (any lengths, offsets, counts)", () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.integer({ min: 0, max: 700 }), fc.integer({ min: 0, max: 7 }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 120, size: "max" }),
      (specs) => {
        const { rec, page } = source(1024);
        const copier = new RecordCopier();
        const copies: RecordCopy[] = [];
        const expected: Uint8Array[] = [];
        for (const [len, misalign, seed] of specs) {
          // Fill the whole page (also past the payload: bytes that must not show in the copy), then point at the payload.
          for (let i = 0; i < page.length; i++) page[i] = (seed + i * 31) & 0xff;
          rec.offset = 8 + misalign;
          rec.length = len;
          rec.type = seed;
          copies.push(copier.copy(rec));
          expected.push(page.slice(rec.offset, rec.offset + len));
        }
        page.fill(0xee); // the reader's next run overwrites its page copy
        copies.forEach((c, i) => {
          assert.deepEqual(c.payload, expected[i], `copy ${i} (length ${expected[i]?.length}) kept its bytes`);
          assert.equal(c.type, specs[i]?.[2]);
        });
      },
    ),
    { numRuns: 200 },
  );
});

test("RecordCopier: payloads share a batch buffer until it is full, then a new one starts; no view overlaps another", () => {
  const { rec, page } = source(512);
  const copier = new RecordCopier();
  rec.offset = 8;
  rec.length = 16;
  const copies: RecordCopy[] = [];
  for (let i = 0; i < (BATCH_BUFFER_BYTES / 16) * 2 + 3; i++) {
    new DataView(page.buffer).setUint32(8, i, true);
    copies.push(copier.copy(rec));
  }
  const buffers = new Set(copies.map((c) => c.payload.buffer));
  assert.equal(buffers.size, 3, "two full batch buffers and the start of a third");
  assert.equal(copies[0]?.payload.buffer, copies[1]?.payload.buffer, "neighbours share a buffer");
  copies.forEach((c, i) => {
    assert.equal(c.payload.byteLength, 16);
    assert.equal(new DataView(c.payload.buffer, c.payload.byteOffset, 16).getUint32(0, true), i, `copy ${i}`);
  });
  // A payload longer than a batch buffer gets a buffer of its own size.
  const big = source(BATCH_BUFFER_BYTES * 2);
  big.rec.offset = 8;
  big.rec.length = BATCH_BUFFER_BYTES + 100;
  big.page.fill(7);
  const c = copier.copy(big.rec);
  assert.equal(c.payload.length, BATCH_BUFFER_BYTES + 100);
  assert.ok(c.payload.every((b) => b === 7));
});

test("RecordCopier: a loss marker copies its fields and has an empty payload", () => {
  const { rec } = source(64);
  rec.kind = "lost";
  rec.lane = 3;
  rec.lost = 12;
  rec.cause = "dropped";
  rec.timestamp = 99;
  rec.offset = 0;
  rec.length = 0;
  const c = new RecordCopier().copy(rec);
  assert.deepEqual({ ...c, payload: [...c.payload] }, { kind: "lost", lane: 3, type: 0, timestamp: 99, lost: 12, cause: "dropped", payload: [], pid: 0, threadId: -1, threadName: "" });
});

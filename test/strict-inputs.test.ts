/**
 * Every public entry point refuses what it cannot store, with a TypeError/RangeError that names the
 * argument or field and shows what it got (issue 17): raw writes, typed events (generated code and
 * the interpreter) and option objects with unknown keys.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { attachRing, createRing, defineEvent, ringBytes, t } from "../src/index.js";
import { recordStream } from "../src/stream.js";

const records = (ring: ReturnType<typeof createRing>) => {
  const out: { type: number; bytes: number[] }[] = [];
  ring.iterator().read((r) => void out.push({ type: r.type, bytes: [...r.payload()] }));
  return out;
};

test("write(): a string, an ArrayBuffer, null or a number is a TypeError naming the payload; other ArrayBuffer views write their bytes", () => {
  const ring = createRing({ lanes: 1, sharedLanes: 1 });
  for (const w of [ring.writer(), ring.writer({ lane: "shared" })]) {
    const write = w.write.bind(w) as (type: number, payload: unknown) => boolean;
    assert.throws(() => write(3, "hello"), { name: "TypeError", message: /payload must be a Uint8Array or another ArrayBuffer view, received "hello"/ });
    assert.throws(() => write(3, new ArrayBuffer(4)), { name: "TypeError", message: /payload .*wrap a buffer as new Uint8Array\(buffer\).*received ArrayBuffer\(4 bytes\)/ });
    assert.throws(() => write(3, null), { name: "TypeError", message: /payload .* received null/ });
    assert.throws(() => write(3, 7), { name: "TypeError", message: /payload .* received 7/ });
    assert.throws(() => write(3, [1, 2]), { name: "TypeError", message: /payload .* received an array of 2/ });
    assert.equal(write(4, new Float32Array([1])), true);
    assert.equal(write(5, new DataView(new Uint8Array([9, 8, 7]).buffer, 1, 2)), true);
  }
  const got = records(ring);
  assert.equal(got.length, 4, "only the two view writes per writer stored anything");
  assert.deepEqual(got.filter((r) => r.type === 4).map((r) => r.bytes), [[0, 0, 128, 63], [0, 0, 128, 63]]);
  assert.deepEqual(got.filter((r) => r.type === 5).map((r) => r.bytes), [[8, 7], [8, 7]]);
});

test("reserve(): a type or size that is not a number is a TypeError showing it", () => {
  const w = createRing().writer();
  const reserve = w.reserve.bind(w) as (type: unknown, size: unknown) => number;
  assert.throws(() => reserve("3", 4), { name: "TypeError", message: /type must be an integer .* received "3"/ });
  assert.throws(() => reserve(3, "4"), { name: "TypeError", message: /size must be an integer .* received "4"/ });
  assert.throws(() => reserve(3, 1.5), { name: "RangeError", message: /size .* received 1\.5/ });
});

for (const codegen of [true, false]) {
  test(`typed events (${codegen ? "generated" : "interpreter"}): a missing, misspelled, non-number, NaN or bigint numeric field is an error naming it; nothing is written`, () => {
    const ring = createRing({ lanes: 1, sharedLanes: 0 });
    const ev = defineEvent(ring, "job", { id: t.u32, total: t.u64, ratio: t.f64, ok: t.bool }, { codegen });
    assert.equal(ev.generated, codegen);
    const w = ring.writer();
    const write = (v: unknown) => ev.write(w, v as never);
    assert.throws(() => write({ total: 1, ratio: 1, ok: true }), { name: "TypeError", message: /event "job": field "id": expected a number \(the field is missing\), received undefined/ });
    assert.throws(() => write({ ID: 1, total: 1, ratio: 1, ok: true }), { name: "TypeError", message: /field "id": expected a number \(the field is missing\)/ });
    assert.throws(() => write({ id: "1", total: 1, ratio: 1, ok: true }), { name: "TypeError", message: /field "id": expected a number, received "1"/ });
    assert.throws(() => write({ id: 1n, total: 1, ratio: 1, ok: true }), { name: "TypeError", message: /field "id": expected a number \(bigints only go into i64\/u64 fields\), received 1n/ });
    assert.throws(() => write({ id: NaN, total: 1, ratio: 1, ok: true }), { name: "RangeError", message: /field "id": a u32 field takes only finite numbers, received NaN/ });
    assert.throws(() => write({ id: 1, total: "abc", ratio: 1, ok: true }), { name: "TypeError", message: /field "total": expected a number, received "abc"/ });
    assert.throws(() => write({ id: 1, total: NaN, ratio: 1, ok: true }), { name: "RangeError", message: /field "total": a u64 field takes only finite numbers, received NaN/ });
    assert.throws(() => write({ id: 1, total: Infinity, ratio: 1, ok: true }), { name: "RangeError", message: /field "total"/ });
    assert.throws(() => write({ id: 1, total: 1, ratio: "x", ok: true }), { name: "TypeError", message: /field "ratio": expected a number/ });
    assert.throws(() => write({ id: 1, total: 1, ratio: 1, ok: 1 }), { name: "TypeError", message: /field "ok": expected a boolean, received 1/ });
    assert.throws(() => write(null), { name: "TypeError", message: /event "job": values must be an object with its fields \(id, total, ratio, ok\), received null/ });
    assert.throws(() => ev.writeArgs(w, ...([1, 2] as never[])), { name: "TypeError", message: /field "ratio": expected a number \(the field is missing\)/ });
    // What a field can store still goes in: a NaN f64, a bigint u64, an extra key (not strict).
    assert.equal(write({ id: 1, total: 2n ** 60n, ratio: NaN, ok: false, extra: 1 }), true);
    assert.equal(records(ring).length, 1, "the refused writes left nothing in the ring");
  });

  test(`typed events (${codegen ? "generated" : "interpreter"}), { strict: true }: a key that is not a field is a TypeError naming it`, () => {
    const ring = createRing({ lanes: 1, sharedLanes: 0 });
    const ev = defineEvent(ring, "req", { status: t.u16 }, { codegen, strict: true });
    const w = ring.writer();
    assert.throws(() => ev.write(w, { status: 200, statsu: 1 } as never), { name: "TypeError", message: /event "req": "statsu" is not one of its fields \(status\) \(strict\)/ });
    assert.equal(ev.write(w, { status: 200 }), true);
    // The same schema without strict is another typed writer (the option is not lost to a cache).
    assert.equal(defineEvent(ring, "req", { status: t.u16 }, { codegen }).write(w, { status: 1, statsu: 1 } as never), true);
  });
}

test("option objects: an unknown key is a TypeError naming it (and the key it probably meant)", () => {
  const unknown = (what: RegExp, key: string) => ({ name: "TypeError", message: new RegExp(`${what.source}: unknown option "${key}"`) });
  assert.throws(() => createRing({ lane: 4 } as never), { name: "TypeError", message: /^Cannot create ring: unknown option "lane" \(did you mean "lanes"\?\); the options are lanes, sharedLanes, / });
  assert.throws(() => ringBytes({ pagesize: 4096 } as never), unknown(/Cannot size ring/, "pagesize"));
  assert.throws(() => createRing(null as never), { name: "TypeError", message: /Cannot create ring: options must be an object, received null/ });
  const ring = createRing({ lanes: 2 });
  assert.throws(() => attachRing(ring.buffer, { clk: () => 0 } as never), unknown(/Cannot attach ring/, "clk"));
  assert.throws(() => ring.writer({ lanes: 1 } as never), unknown(/Cannot create writer/, "lanes"));
  assert.throws(() => ring.consumer({ lane: [0] } as never), unknown(/Cannot create reader/, "lane"));
  assert.throws(() => ring.iterator({ lane: [0] } as never), unknown(/Cannot create reader/, "lane"));
  assert.throws(() => ring.groupConsumer({ lane: [0] } as never), unknown(/Cannot create reader/, "lane"));
  assert.throws(() => ring.clear({ lane: [0] } as never), unknown(/Cannot create reader/, "lane"));
  assert.throws(() => ring.snapshot(undefined, { recover: true } as never), unknown(/Cannot snapshot ring/, "recover"));
  assert.throws(() => defineEvent(ring, "e", { a: t.u8 }, { codeGen: false } as never), unknown(/Cannot define event/, "codeGen"));
  assert.throws(() => recordStream(ring.iterator(), { highWatermark: 1 } as never), unknown(/Cannot create record stream/, "highWatermark"));
  assert.throws(() => ring.writer({ tag: 1.5 }), { name: "RangeError", message: /Cannot create writer: tag must be an integer that fits 32 bits, received 1\.5/ });
});

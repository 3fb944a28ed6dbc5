import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as zlib from 'node:zlib';
import { crc32, useNativeCrc32 } from '../../src/index.js';
import { installNativeCrc32 } from '../../src/node/crc32.js';

const zlibCrc32 = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

function bytes(n: number, shared: boolean): Uint8Array {
  const b = new Uint8Array(shared ? new SharedArrayBuffer(n) : new ArrayBuffer(n));
  for (let i = 0; i < n; i++) b[i] = (i * 131 + 7) & 0xff;
  return b;
}

test('crc32 hands long inputs (any range, continued from any crc) to the installed native CRC-32 and short ones to the tables', () => {
  const calls: number[] = [];
  const tables = (data: Uint8Array, value: number): number => {
    calls.push(data.length);
    useNativeCrc32(undefined);
    try {
      return crc32(data, 0, data.length, value);
    } finally {
      useNativeCrc32(tables);
    }
  };
  const b = bytes(5000, false);
  const want = crc32(b, 10, 4000, 0x12345678);
  useNativeCrc32(tables);
  try {
    assert.equal(crc32(b, 10, 4000, 0x12345678), want);
    assert.deepEqual(calls, [3990]);
    assert.equal(crc32(b, 0, 100), (useNativeCrc32(undefined), crc32(b, 0, 100)));
    useNativeCrc32(tables);
    calls.length = 0;
    crc32(b, 0, 255);
    assert.deepEqual(calls, [], 'under 256 bytes: the tables');
  } finally {
    installNativeCrc32();
  }
});

test('the node entry installs zlib.crc32 where Node has it, and it agrees with the tables on shared and plain memory', (t) => {
  if (typeof zlibCrc32 !== 'function') {
    assert.equal(installNativeCrc32(), false);
    t.skip('this Node has no zlib.crc32');
    return;
  }
  assert.equal(installNativeCrc32(), true);
  for (const shared of [false, true]) {
    for (const [start, end, seed] of [[0, 4096, 0], [48, 16384, 0], [3, 1001, 0xdeadbeef], [0, 256, 1]] as const) {
      const b = bytes(16384, shared);
      const native = crc32(b, start, end, seed);
      useNativeCrc32(undefined);
      try {
        assert.equal(native, crc32(b, start, end, seed), `range ${start}..${end} seed ${seed} shared ${shared}`);
      } finally {
        installNativeCrc32();
      }
      assert.equal(native, zlibCrc32(b.subarray(start, end), seed) >>> 0);
    }
  }
});

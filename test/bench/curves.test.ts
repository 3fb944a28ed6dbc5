import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CURVE_SERIES, curveMetricName, parseCurveMetricName } from '../../bench/curves.js';
import { openCurveSession } from '../../bench/curve-sessions.js';
import { expectedChecksum } from '../../bench/peers/layout.js';

test('curve metric names parse back to their axis, x and series, and nothing else parses', () => {
  fc.assert(
    fc.property(fc.constantFrom('size' as const, 'writers' as const), fc.integer({ min: 1, max: 1 << 20 }), fc.constantFrom(...CURVE_SERIES), (axis, x, series) => {
      assert.deepEqual(parseCurveMetricName(curveMetricName(axis, x, series)), { axis, x, series });
    }),
  );
  for (const name of ['xthread_rps', 'curve_size_16_nope_rps', 'curve_depth_16_ring_own_rps', 'curve_size_x_ring_own_rps', 'curve_size_16_ring_own_ns']) {
    assert.equal(parseCurveMetricName(name), null, name);
  }
});

test('expectedChecksum() is the int32 sum of the header words of the records', () => {
  fc.assert(
    fc.property(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), fc.integer({ min: 0, max: 300 }), fc.constantFrom(16, 64, 4096), (start, count, recordBytes) => {
      let sum = 0;
      for (let i = 0; i < count; i++) {
        const seq = (start + i) | 0;
        sum = (sum + recordBytes + seq + ((seq + 1) | 0) + (-seq | 0)) | 0;
      }
      assert.equal(expectedChecksum(start, count, recordBytes), sum);
    }),
  );
});

// Every series of the curves across real threads: each run checks its checksum and counts and
// throws on a mismatch; two runs check that the writers' sequences carry over between runs.
for (const series of CURVE_SERIES) {
  test(`curve session ${series}: 2 writers, 64-byte records, two verified runs`, async () => {
    const session = await openCurveSession(series, 2, 64);
    try {
      for (let run = 0; run < 2; run++) {
        const rps = await session.runOnce(40);
        assert.ok(Number.isFinite(rps) && rps >= 0, `run ${run}: ${rps} records/s`);
      }
    } finally {
      await session.close();
    }
  });
}

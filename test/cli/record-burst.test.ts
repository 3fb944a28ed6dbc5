/**
 * Issue 13 item 8: `urb record` of a program that writes a burst of N records at start-up or right
 * before it exits, in both modes: the records in the file plus the records the file reports lost
 * must be N exactly. Set URB_BURST_N (comma-separated) for larger runs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openTraceFile } from '../../src/node/index.js';
import { nativeAddonAvailable } from '../../src/node/native.js';
import { urb } from './urb-process.js';

const APP = fileURLToPath(new URL('../fixtures/burst-app.js', import.meta.url));
const skip = !nativeAddonAvailable() && 'the native addon is not built';
const sizes = (process.env['URB_BURST_N'] ?? '3000,20000').split(',').map(Number);

for (const mode of ['discard', 'overwrite'] as const) {
  for (const when of ['start', 'exit'] as const) {
    test(`urb record --mode ${mode}, a burst of N records at ${when === 'start' ? 'start-up' : 'exit'}: records in the file + records reported lost = N (N = ${sizes.join(', ')})`, { skip }, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'urb-burst-'));
      try {
        for (const n of sizes) {
          const out = join(dir, `${mode}-${when}-${n}.urb`);
          const r = await urb(['record', '-o', out, '--mode', mode, '--size', '16k', '--page-size', '1k', '--no-instrument', '--', process.execPath, APP, String(n), when], { timeoutMs: 60_000 });
          assert.equal(r.code, 0, r.stderr);
          const trace = openTraceFile(out);
          let records = 0;
          let lost = 0;
          try {
            trace.read((rec) => {
              if (rec.kind === 'lost') lost += rec.lost;
              else if (rec.type === 1) records++;
            });
            assert.deepEqual(trace.warnings, []);
          } finally {
            trace.close();
          }
          assert.equal(records + lost, n, `N = ${n}: ${records} records in the file + ${lost} reported lost (program: ${r.stderr.trim()})`);
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
}

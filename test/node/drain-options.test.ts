import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ringTransport } from '../../src/node/ring-transport.js';
import { ringSpanProcessor } from '../../src/node/ring-span-processor.js';

test('ringTransport() and ringSpanProcessor() refuse unknown option keys before they touch a ring', () => {
  assert.throws(
    () => ringTransport({ targets: [], startDrian: false } as never),
    (e: unknown) => e instanceof TypeError && /Cannot create ring transport: unknown option "startDrian"/.test(e.message),
  );
  assert.throws(
    () => ringSpanProcessor({ exporter: { module: 'x' }, maxBatches: 3 } as never),
    (e: unknown) => e instanceof TypeError && /Cannot create ring span processor: unknown option "maxBatches" \(did you mean "maxBatch"\?\)/.test(e.message),
  );
});

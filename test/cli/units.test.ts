/**
 * The small parts of the command line: sizes and times as typed, the progress bar (drawn only on
 * a terminal: checked in a pseudo-terminal made by util-linux `script`), tables.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRing, defineEvent, t } from '../../src/index.js';
import { pipeToFile } from '../../src/node/index.js';
import { ProgressBar } from '../../src/cli/progress.js';
import { count, table } from '../../src/cli/table.js';
import { formatDuration, formatRate, parseCount, parseSize, parseTime } from '../../src/cli/units.js';
import { splitCommand } from '../../src/cli/record.js';
import { URB, run } from './urb-process.js';

test('sizes, times and counts parse as typed, and say what they expected otherwise', () => {
  assert.deepEqual(['65536', '64k', '4M', '1.5m', '1G', '2KiB'].map((s) => parseSize('--size', s)), [65536, 65536, 4 << 20, 1.5 * (1 << 20), 1 << 30, 2048]);
  assert.throws(() => parseSize('--size', '4 parsecs'), { name: 'UsageError', message: 'option --size: expected a size such as 65536, 64k or 4M, received "4 parsecs"' });
  assert.throws(() => parseSize('--size', '0'), { message: 'option --size: size must be positive, received "0"' });
  assert.deepEqual(['1.5', '1.5s', '250ms', '40us', '40µs', '1200ns', '2m'].map((s) => parseTime('--from', s)), [1.5e9, 1.5e9, 250e6, 40e3, 40e3, 1200, 120e9]);
  assert.throws(() => parseTime('--to', 'later'), { message: 'option --to: expected a time such as 1.5s, 250ms, 40us or 1200ns, received "later"' });
  assert.equal(parseCount('--lanes', '8', 1, 256), 8);
  assert.throws(() => parseCount('--lanes', '0', 1, 256), { message: 'option --lanes: expected an integer from 1 to 256, received "0"' });
  assert.deepEqual([850, 12_400, 3_200_000, 1.5e9].map(formatDuration), ['850 ns', '12.4 µs', '3.20 ms', '1.50 s']);
  assert.deepEqual([950, 12_300, 4_560_000, Number.NaN].map(formatRate), ['950/s', '12.3k/s', '4.56M/s', '-']);
  assert.equal(count(1234567), '1,234,567');
  assert.equal(table([['a', 'n'], ['xx', '1'], ['y', '100']], [false, true]), 'a     n\nxx    1\ny   100\n');
});

test('urb record splits its own options from the command', () => {
  assert.deepEqual(splitCommand(['-o', 'x.urb', '--', 'node', 'app.js', '-o', 'y']), { options: ['-o', 'x.urb'], command: ['node', 'app.js', '-o', 'y'] });
  assert.deepEqual(splitCommand(['--size', '4M', 'node', 'app.js', '--port', '1']), { options: ['--size', '4M'], command: ['node', 'app.js', '--port', '1'] });
  assert.throws(() => splitCommand(['-o', 'x.urb', 'stray', '--', 'node']), { message: 'unexpected "stray" before -- (the command goes after --)' });
});

test('the progress bar: its line, nothing without a terminal, erased when done', () => {
  const written: string[] = [];
  const bar = new ProgressBar({ write: (s) => written.push(s), columns: 80 }, 'exporting');
  // 80 columns: the bar takes what the label and the figures leave, at most 40.
  assert.equal(bar.line(0.45, 2_100_000, 3400), 'exporting  [#################.....................]   45%  2.1M records  3.4 s');
  assert.equal(bar.line(1, undefined, 0), 'exporting  [########################################]  100%  0.0 s');
  bar.update(0.5, 10);
  bar.update(0.6, 20); // within 100 ms of the last draw: skipped
  bar.done();
  assert.equal(written.length, 2);
  assert.match(written[0]!, /^\rexporting {2}\[#+\.+\] {3}50% {2}10 records {2}0\.\d s\x1b\[K$/);
  assert.equal(written[1], '\r\x1b[K');
  // Without a terminal there is nowhere to draw: nothing to call, nothing thrown.
  const none = new ProgressBar(undefined, 'exporting');
  none.update(0.5, 1);
  none.done();
});

test('urb export draws the progress bar on a terminal (a pseudo-terminal from `script`)', { skip: existsSync('/usr/bin/script') ? false : '/usr/bin/script (util-linux) not found' }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'urb-tty-'));
  try {
    const path = join(dir, 't.urb');
    const ring = createRing({ lanes: 1, sharedLanes: 0, pageSize: 4096, pagesPerLane: 16, mode: 'discard' });
    const ev = defineEvent(ring, 'e', { n: t.u32 });
    const w = ring.writer();
    const pipe = pipeToFile(ring, path);
    for (let n = 0; n < 20_000; n++) {
      ev.write(w, { n });
      if (n % 500 === 0) pipe.pump();
    }
    pipe.close();
    const cmd = `${process.execPath} ${URB} export ${path} -o ${join(dir, 't.json')}`;
    const r = await run('/usr/bin/script', ['-qefc', cmd, '/dev/null']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /\rexporting {2}\[[#.]+\] +\d+%/, 'the bar');
    assert.match(r.stdout, /\r\x1b\[K/, 'erased');
    assert.match(r.stdout, /urb: wrote .*t\.json \(chrome, 20000 records, [\d.]+ [KM]iB\)/, 'and a summary line on a terminal');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

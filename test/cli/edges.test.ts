/**
 * The everyday edges of the CLI (issue 17): negative numbers as option values, the wording for a
 * missing ring, FIFOs and pipes given as trace files, and outputs never written through a link,
 * always 0600.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRing, defineEvent, t } from '../../src/index.js';
import { createFileRing, dumpRing } from '../../src/node/index.js';
import { URB, urb, type UrbResult } from './urb-process.js';

const dir = mkdtempSync(join(tmpdir(), 'urb-edges-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A small trace file: a few typed events. */
function traceFile(name: string): string {
  const ring = createRing({ lanes: 1, sharedLanes: 0 });
  const ev = defineEvent(ring, 'tick', { n: t.u32 });
  const w = ring.writer();
  for (let n = 0; n < 5; n++) ev.write(w, { n });
  const path = join(dir, name);
  dumpRing(ring, path);
  return path;
}

function oneLine(r: UrbResult, code: number, pattern: RegExp): void {
  assert.equal(r.code, code, r.stderr);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
  assert.match(r.stderr.trimEnd(), pattern);
}

test('a negative number after an option reaches its parser (the shared option parser), instead of "does not take a value"', async () => {
  const file = traceFile('neg.urb');
  oneLine(await urb(['dump', '-n', '-5', file]), 2, /^urb: dump: option --limit: expected an integer from 0 to \d+, received "-5" \(see urb dump --help\)$/);
  oneLine(await urb(['dump', file, '--limit', '-5']), 2, /option --limit: expected an integer from 0 to \d+, received "-5"/);
  // Something that looks like an option is not taken as the value: say how to give it.
  oneLine(await urb(['dump', '-n', '-x', file]), 2, /^urb: dump: option -n needs a value \(the next argument starts with a dash; to give it as the value, write --limit=VALUE\)/);
  // Nothing after -- is touched.
  const r = await urb(['dump', file, '-n', '2', '--', '-5']);
  oneLine(r, 2, /expected one FILE, received 2/);
});

test('urb attach, recover and clear without an argument ask for a ring file, not a trace file', async () => {
  for (const cmd of ['attach', 'recover', 'clear']) {
    oneLine(await urb([cmd]), 2, new RegExp(`^urb: ${cmd}: missing RING \\(a ring file, made by createFileRing\\) \\(see urb ${cmd} --help\\)$`));
  }
});

test('a FIFO or a pipe given as the trace file: one clear line at once, no hang, no "0 bytes"', async () => {
  const fifo = join(dir, 'trace.fifo');
  assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
  for (const cmd of ['stats', 'dump', 'info', 'export', 'view']) {
    oneLine(await urb([cmd, fifo], { timeoutMs: 10_000 }), 1, new RegExp(`^urb: ${cmd}: .*trace\\.fifo is a FIFO, not a trace file: save the trace to a file first`));
  }
  // /dev/stdin on a pipe (a shell pipe: a FIFO; node's own stdio pipes are sockets, refused alike)
  const piped = await new Promise<UrbResult>((ok) => {
    const child = spawn('sh', ['-c', 'cat | "$0" "$1" stats /dev/stdin', process.execPath, URB], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.stdin.end(readFileSync(traceFile('piped.urb')));
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      ok({ code, signal, stdout, stderr });
    });
  });
  oneLine(piped, 1, /^urb: stats: \/dev\/stdin is a FIFO, not a trace file/);
});

test('urb export -o, view -o and recover -o: 0600 files, never written through a link to a file', async () => {
  const file = traceFile('out.urb');
  const victim = join(dir, 'victim');
  writeFileSync(victim, 'precious');
  chmodSync(victim, 0o644);
  const ring = join(dir, 'live.ring');
  createFileRing(ring, { lanes: 1, sharedLanes: 0, pageSize: 1024, pagesPerLane: 4, metadataBytes: 1024 }).writer().write(1, new Uint8Array(4));
  const runs: [string, string[]][] = [
    ['json', ['export', file, '--format', 'chrome', '-o']],
    ['pftrace', ['export', file, '--format', 'perfetto', '-o']],
    ['html', ['view', file, '-o']],
    ['urb', ['recover', ring, '--reclaim', 'none', '-o']],
  ];
  for (const [ext, args] of runs) {
    const out = join(dir, `made.${ext}`);
    const r = await urb([...args, out]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(statSync(out).mode & 0o777, 0o600, `${args[0]} ${ext}: only the owner reads trace data`);
    const link = join(dir, `link.${ext}`);
    symlinkSync(victim, link);
    oneLine(await urb([...args, link]), 1, new RegExp(`link\\.${ext}: it is a symbolic link to a file, and trace output is never written through a link`));
    assert.equal(readFileSync(victim, 'utf8'), 'precious');
    assert.equal(statSync(victim).mode & 0o777, 0o644);
  }
});

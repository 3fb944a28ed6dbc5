/**
 * The protocol, model-checked (docs/DESIGN.md section 13): runs the Promela models in spec/ with
 * spin, each exhaustively (spin -a, cc, ./pan).
 *
 *  - A model of the code as it is must verify with no error.
 *  - Each mutation (a deliberate bug chosen by a -D macro) must be found, so the models cannot pass
 *    by checking nothing.
 *  - Each finding (a bug the models found in src/, now fixed there) stays as a mutation that
 *    restores the old code: the model must still find it.
 *
 * Skips with a printed reason when spin or a C compiler is missing, except in CI (CI=true), where
 * .ci/run installs them. SPIN_FULL=1 adds the larger configurations (minutes; -O2 builds).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const specDir = fileURLToPath(new URL('../../../spec/', import.meta.url));
const cc = process.env.CC ?? 'gcc';
const full = process.env.SPIN_FULL === '1';

interface Run {
  model: 'wakeup' | 'wakeup-mark' | 'space-wait' | 'own-lane' | 'shared-lane' | 'producer-fold';
  /** Promela macros (spin -D...). */
  defines: string[];
  /** verified: no error in the whole state space; violated: spin finds a counterexample. */
  expect: 'verified' | 'violated';
  /** For violated runs: the error spin must report (the mutation's own, not some other). */
  error?: RegExp;
  /** What the run shows. */
  what: string;
  /** Extra C flags for pan (e.g. -DREVERSE: explore the last process first, finds some trails sooner). */
  pan?: string[];
  /** Larger runs: -O2 build, only with SPIN_FULL=1. */
  slow?: boolean;
}

const deadlock = /invalid end state/;
const runs: Run[] = [
  // (c) Wakeups. The code loads H_WAKE_SEQ before lowering the budget and announcing (the fix of the
  // two lost wakeups this model found in the old order, kept as mutations); every mutation breaks it.
  { model: 'wakeup', defines: ['MUT_SEQ_AFTER_REGISTER'], expect: 'violated', error: deadlock, what: 'finding (old order): wait({ records: 2 }) sleeps through its watermark (SEQ loaded after the WAITERS add)' },
  { model: 'wakeup', defines: ['MUT_SEQ_AFTER_REGISTER', 'WATCHER_ANY_TIMEOUT'], expect: 'violated', error: deadlock, what: 'finding (old order): wait() sleeps with a record committed when a watermark sleeper raised the budget' },
  { model: 'wakeup', defines: [], expect: 'verified', what: 'the code: no lost wakeup' },
  { model: 'wakeup', defines: ['MUT_NO_RECHECK'], expect: 'violated', error: deadlock, what: 'mutation: no last look for data after registering' },
  { model: 'wakeup', defines: ['MUT_LOAD_FIRST'], expect: 'violated', error: deadlock, what: 'mutation: writer loads WAITERS before its commit' },
  { model: 'wakeup', defines: ['MUT_SEQ_LATE'], expect: 'violated', error: deadlock, what: 'mutation: reader loads SEQ after its last look' },
  { model: 'wakeup', defines: ['MUT_BUDGET_OFF'], expect: 'violated', error: deadlock, what: 'mutation: budget off by one' },
  { model: 'wakeup', defines: ['MUT_NO_NOTIFY'], expect: 'violated', error: deadlock, what: 'mutation: SEQ moved without notify' },
  { model: 'wakeup', defines: ['RECORDS=2'], expect: 'verified', what: 'the code, two records per writer', slow: true },

  // (c') The one-atomic-per-commit wakeup proposed for issue 15 item 3 (DESIGN.md 9d; not the code
  // yet): commit = exchange of word0, a sleeping reader marks every lane's frontier word. Verified
  // as proposed; the pitfall of today's reserve (a plain BUSY store into word0) loses the mark.
  { model: 'wakeup-mark', defines: [], expect: 'verified', what: 'proposal: no lost wakeup, no notify without a sleeper' },
  { model: 'wakeup-mark', defines: ['NESTED'], expect: 'verified', what: 'proposal, nested reservations committed out of order' },
  { model: 'wakeup-mark', defines: ['MUT_RESERVE_STORES_WORD0'], expect: 'violated', error: deadlock, what: 'mutation: reserve plain-stores BUSY into word0 and erases a mark' },
  { model: 'wakeup-mark', defines: ['MUT_COMMIT_STORE'], expect: 'violated', error: deadlock, what: 'mutation: commit stores word0 without looking at the old word' },
  { model: 'wakeup-mark', defines: ['MUT_MARK_ONE_LANE'], expect: 'violated', error: deadlock, what: 'mutation: a merged reader marks one lane only' },
  { model: 'wakeup-mark', defines: ['MUT_SEQ_AFTER_MARK'], expect: 'violated', error: deadlock, what: 'mutation: wake_seq loaded after marking' },
  { model: 'wakeup-mark', defines: ['MUT_NO_PAGE_FALLBACK'], expect: 'violated', error: deadlock, what: 'mutation: a new page does not look at H_WAITERS' },
  { model: 'wakeup-mark', defines: ['MUT_NO_UNMARK'], expect: 'violated', error: /assertion violated \(window==1\)/, what: 'mutation: marks left behind make a notify without a sleeper' },

  // (c'') Writers waiting for room (issue 15 item 5, FORMAT.md 10.7): the code's reserveWaiting()
  // and the consumer's wake after each take.
  { model: 'space-wait', defines: [], expect: 'verified', what: 'the code: a writer asleep on a full lane is always woken by a take' },
  { model: 'space-wait', defines: ['MUT_NO_RETRY'], expect: 'violated', error: deadlock, what: 'mutation: no second try after registering' },
  { model: 'space-wait', defines: ['MUT_SEQ_LATE'], expect: 'violated', error: deadlock, what: 'mutation: H_SPACE_SEQ loaded after the last try' },
  { model: 'space-wait', defines: ['MUT_LOAD_FIRST'], expect: 'violated', error: deadlock, what: 'mutation: the consumer loads H_SPACE_WAITERS before its take' },
  { model: 'space-wait', defines: ['MUT_ALWAYS_NOTIFY'], expect: 'violated', error: /assertion violated saw/, what: 'mutation: a notify after every take' },
  { model: 'space-wait', defines: ['RECORDS=4', 'CAP=2'], expect: 'verified', what: 'the code, four records per writer, two-record lanes', slow: true },

  // (a) Own lane: nested reservations across a page close, out-of-order commits, overwrite
  // recycling, a racing consumer and iterator. One lap verifies quickly; two laps (slow set) verify too, and find the page-0 finding in the old code.
  { model: 'own-lane', defines: ['NREC=5', 'READERS=1'], expect: 'verified', what: 'consumer, one recycle' },
  { model: 'own-lane', defines: ['NREC=5', 'READERS=2'], expect: 'verified', what: 'iterator, one recycle' },
  { model: 'own-lane', defines: ['NREC=7', 'READERS=2', 'MUT_CUM_PAGE0_FROM_SLOT'], pan: ['-DREVERSE'], expect: 'violated', error: /assertion violated.*cnt==firstSeq/, what: 'finding (old code): cumulativeRecords() reads page 0 cumulatives from a recycled slot' },
  { model: 'own-lane', defines: ['NREC=7', 'READERS=1'], expect: 'verified', what: 'the code, consumer, two recycles', slow: true },
  { model: 'own-lane', defines: ['NREC=7', 'READERS=2'], expect: 'verified', what: 'the code, iterator, two recycles', slow: true },
  { model: 'own-lane', defines: ['NREC=5', 'READERS=1', 'MUT_COMMIT_FIRST'], expect: 'violated', error: /assertion violated.*bp\[i\]!=0/, what: 'mutation: commit before the payload' },
  { model: 'own-lane', defines: ['NREC=5', 'READERS=1', 'MUT_NO_TAIL_CAS'], expect: 'violated', error: /assertion violated/, what: 'mutation: consumer stores the tail instead of CAS' },
  { model: 'own-lane', defines: ['NREC=5', 'READERS=1', 'MUT_PUSH_AFTER_ZERO'], expect: 'violated', error: /assertion violated/, what: 'mutation: recycler zeroes before pushing the tail' },
  { model: 'own-lane', defines: ['NREC=5', 'READERS=2', 'MUT_NO_FENCE'], expect: 'violated', error: /assertion violated/, what: 'mutation: iterator copy not fenced before its re-check' },
  { model: 'own-lane', defines: ['NREC=5', 'READERS=1', 'MUT_PUBLISH_OPEN'], expect: 'violated', error: /assertion violated \(seq\[s\]!=n\)/, what: 'mutation: PG_COMMITTED published with reservations open' },
  { model: 'own-lane', defines: ['NREC=5', 'READERS=1', 'MUT_CUM_SKIP_PAGE'], expect: 'violated', error: /assertion violated.*(gcommitted|rseq>=before)/, what: 'mutation: cumulatives miss the recycled page' },

  // (b) Shared lane: two producers claiming by CAS, padding, prepare and prepare-ahead by either,
  // drops reported in LOST spans, a racing consumer; overwrite and discard modes.
  { model: 'shared-lane', defines: ['RECS1=1', 'RECS2=1'], expect: 'verified', what: 'overwrite mode' },
  { model: 'shared-lane', defines: ['DISCARD', 'RECS1=2', 'RECS2=1'], expect: 'verified', what: 'discard mode' },
  { model: 'shared-lane', defines: ['RECS1=2', 'RECS2=1'], expect: 'verified', what: 'overwrite mode, three records', slow: true },
  { model: 'shared-lane', defines: ['DISCARD', 'RECS1=3', 'RECS2=1'], expect: 'verified', what: 'discard mode, four records', slow: true },
  { model: 'shared-lane', defines: ['DISCARD', 'RECS1=2', 'RECS2=1', 'MUT_NO_POSTCHECK'], expect: 'violated', error: /assertion violated/, what: 'mutation: no page re-check after the claim' },
  { model: 'shared-lane', defines: ['RECS1=1', 'RECS2=1', 'MUT_PLAIN_CLAIM'], expect: 'violated', error: /assertion violated \(claimed/, what: 'mutation: claim by load and store, not CAS' },
  { model: 'shared-lane', defines: ['RECS1=1', 'RECS2=1', 'MUT_SPAN_ORDER'], pan: ['-DREVERSE'], expect: 'violated', error: /assertion violated \(claimed/, what: 'mutation: LOST span published before its inner header' },
  { model: 'shared-lane', defines: ['RECS1=1', 'RECS2=1', 'MUT_WALK_NO_BUSY'], expect: 'violated', error: /assertion violated/, what: 'mutation: a page with a BUSY record is recycled' },

  // (d) Retiring producers (issue 13 item 14): the fold of a closed producer's counters into its
  // lane, against a statistics reader; every drop counted exactly once.
  { model: 'producer-fold', defines: [], expect: 'verified', what: 'the code: a reader inside an equal fold window counts each drop once' },
  { model: 'producer-fold', defines: ['MUT_NO_WINDOW'], expect: 'violated', error: /assertion violated/, what: 'mutation: the reader ignores the fold counters' },
  { model: 'producer-fold', defines: ['MUT_END_EARLY'], expect: 'violated', error: /assertion violated/, what: 'mutation: H_FOLDS_ENDED added before the slot is freed' },
  { model: 'producer-fold', defines: ['MUT_BEGIN_LATE'], expect: 'violated', error: /assertion violated/, what: 'mutation: H_FOLDS_BEGUN added after the lane add' },
  { model: 'producer-fold', defines: ['MUT_READ_BEGUN_FIRST'], expect: 'violated', error: /assertion violated/, what: 'mutation: the reader loads BEGUN first and ENDED last' },
];

interface Outcome {
  errors: number;
  states: number;
  complete: boolean;
  output: string;
  seconds: number;
}

function run(cmd: string, args: string[], cwd: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd, timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      // pan reports errors in its output; a non-zero exit with output to parse is not a failure here.
      if (err && !stdout) reject(new Error(`${cmd} ${args.join(' ')} failed: ${err.message}\n${stderr}`));
      else resolve(`${stdout}${stderr}`);
    });
  });
}

async function check(r: Run): Promise<Outcome> {
  const dir = await mkdtemp(join(tmpdir(), `urb-spin-${r.model}-`));
  const started = performance.now();
  try {
    const defines = r.defines.map((d) => `-D${d}`);
    await run('spin', [...defines, '-a', join(specDir, `${r.model}.pml`)], dir, 60_000);
    // -O0: these models compile in 1-3 s at -O0 and 5-16 s at -O2, and most runs search for < 1 s.
    const opt = r.slow ? '-O2' : '-O0';
    await run(cc, ['-w', opt, '-DSAFETY', '-DCOLLAPSE', '-DMEMLIM=3000', ...(r.pan ?? []), '-o', 'pan', 'pan.c'], dir, 120_000);
    const output = await run('./pan', ['-m400000'], dir, r.slow ? 900_000 : 120_000);
    const errors = Number(/errors: (\d+)/.exec(output)?.[1] ?? NaN);
    const states = Number(/(\d+) states, stored/.exec(output)?.[1] ?? NaN);
    // A search cut short (depth or memory bound) has not covered the state space.
    const complete = !/max search depth too small|reached -DMEMLIM bound|out of memory/.test(output);
    return { errors, states, complete, output, seconds: (performance.now() - started) / 1000 };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Run the checks `width` at a time (each is single-threaded; the machine has 2 cores). */
function pool<T>(jobs: (() => Promise<T>)[], width: number): Promise<T>[] {
  let running = 0;
  const waiting: (() => void)[] = [];
  const acquire = (): Promise<void> =>
    running < width ? (running++, Promise.resolve()) : new Promise((resolve) => waiting.push(() => (running++, resolve())));
  const release = (): void => {
    running--;
    waiting.shift()?.();
  };
  return jobs.map((job) => acquire().then(job).finally(release));
}

function missingTool(): string | undefined {
  for (const [tool, args] of [['spin', ['-V']], [cc, ['--version']]] as const) {
    const probe = spawnSync(tool, args, { encoding: 'utf8' });
    if (probe.error || probe.status !== 0) return `${tool} is not installed (Debian: apt-get install spin gcc)`;
  }
  return undefined;
}

const missing = missingTool();
if (missing !== undefined && process.env.CI !== 'true') {
  console.log(`# spin models skipped: ${missing}`);
  test('protocol models (spin)', { skip: missing }, () => {});
} else {
  test('spin and a C compiler are installed (.ci/run installs them in CI)', () => {
    assert.equal(missing, undefined, missing);
  });
  const selected = runs.filter((r) => full || !r.slow);
  const outcomes = pool(
    selected.map((r) => () => check(r)),
    Math.max(1, Math.min(2, availableParallelism())),
  );
  outcomes.forEach((o) => o.catch(() => {})); // each is awaited by its test below
  selected.forEach((r, i) => {
    const name = `${r.model} ${r.defines.join(' ') || (r.model === 'wakeup-mark' ? '(as proposed)' : '(as the code is)')}: ${r.what}`;
    test(name, async () => {
      const o = await (outcomes[i] as Promise<Outcome>);
      const summary = `${o.states} states, ${o.errors} errors, ${o.seconds.toFixed(1)} s`;
      if (r.expect === 'verified') {
        assert.ok(o.complete, `search incomplete (${summary}):\n${o.output}`);
        assert.equal(o.errors, 0, `spin found a counterexample (${summary}):\n${o.output}`);
        assert.ok(o.states > 10_000, `suspiciously small state space (${summary}): is the model vacuous?`);
      } else {
        assert.ok(o.errors > 0, `spin found no counterexample (${summary}): the model does not catch this\n${o.output}`);
        assert.match(o.output, r.error ?? /./, `spin failed differently than expected (${summary}):\n${o.output}`);
      }
      console.log(`# ${name}: ${summary}`);
    });
  });
}

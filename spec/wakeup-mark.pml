/*
 * A wakeup protocol with one atomic per commit (issue 15 item 3; DESIGN.md section 9c, "One atomic per commit"): a PROPOSAL,
 * not the code yet. src/wakeup.ts (spec/wakeup.pml) has every commit store word0 and then load
 * H_WAITERS: two atomics. Here the commit is one Atomics.exchange of word0, and a reader that wants
 * to sleep marks the word it would read next in every lane (its frontier), so the commit's
 * exchange returns the mark and only then does the writer wake anyone.
 *
 *   writer, reserve:   word0 left alone (0, or a reader's mark); the BUSY header goes to word1
 *                      (for reclaim) and the time delta stays in the writer until commit
 *   writer, commit:    old = exchange(word0, COMMITTED header)
 *                      if old carries WAIT: wake_seq += 1; notify
 *   writer, new page:  publish the page (store PG_SEQ); if load(H_WAITERS) != 0: wake_seq += 1; notify
 *                      (one load per page, not per record: the fallback for a reader whose next
 *                      page did not exist yet, so it had no word to mark)
 *   reader, to sleep:  s = load(wake_seq)                               FIRST
 *                      for every lane: if the frontier page is ready:
 *                                        CAS(word0, w, w | WAIT) for w in {0, BUSY}; a COMMITTED word: do not sleep
 *                                      else: waiters += 1; look at the page again; ready: do not sleep
 *                      wait(wake_seq, s); then unmark (CAS WAIT -> 0) and unregister
 *
 * Two writers, each on its own lane, RECORDS records in pages of PAGE_RECS records; one reader
 * merges both lanes and sleeps (no timeout) whenever it finds nothing. A lost wakeup is a reader
 * asleep for ever with a record committed: the writers end and spin reports an invalid end state.
 * "No notify without a sleeper": a writer notifies only while the reader is between its load of
 * wake_seq and the end of its unmarking (asserted with a ghost).
 *
 * The futex is modelled as in wakeup.pml: check and sleep in one step; a notify wakes the sleepers
 * of that moment.
 *
 * Mutations (each must make spin find a counterexample):
 *   -DMUT_RESERVE_STORES_WORD0  reserve plain-stores the BUSY header into word0 (today's code): erases a mark
 *   -DMUT_COMMIT_STORE          commit stores word0 without looking at the old value
 *   -DMUT_MARK_ONE_LANE         a merged reader marks only its first lane's frontier
 *   -DMUT_SEQ_AFTER_MARK        the reader loads wake_seq after marking
 *   -DMUT_NO_PAGE_FALLBACK      a writer publishing a page does not look at H_WAITERS
 *   -DMUT_NO_UNMARK             the reader leaves its marks behind (breaks "no notify without a sleeper")
 * Variants: -DRECORDS=n (default 3), -DPAGE_RECS=n (default 2), -DNESTED (each writer holds record
 * 0 open while it reserves and commits record 1: out-of-order commits).
 */

#define WRITERS 2
#ifndef RECORDS
#define RECORDS 3
#endif
#ifndef PAGE_RECS
#define PAGE_RECS 2
#endif
#define PAGES ((RECORDS + PAGE_RECS - 1) / PAGE_RECS)

/* word0 values. */
#define EMPTY 0
#define WAIT 1          /* a reader's mark on an empty word */
#define BUSY 2          /* only with MUT_RESERVE_STORES_WORD0 */
#define BUSY_WAIT 3
#define COMMITTED 4

byte word[WRITERS * (RECORDS + 1)];   /* word0 of each record slot of each lane (one spare: the word after the last) */
bit ready[WRITERS * PAGES];           /* PG_SEQ of each page: published */
int wake_seq = 0;
byte waiters = 0;                     /* H_WAITERS: readers whose next page did not exist */
bit asleep = 0;
byte writers_done = 0;
bit window = 0;                       /* ghost: the reader is between its wake_seq load and its unmarking */

#define W(l, k) word[(l) * (RECORDS + 1) + (k)]
#define READY(l, p) ready[(l) * PAGES + (p)]

inline futex_wait(s) {
  atomic { if :: wake_seq == s -> asleep = 1 :: else -> skip fi }
}
inline wake() {
  assert(window == 1);                /* no notify without a sleeper */
  wake_seq++;
  asleep = 0                          /* Atomics.notify */
}

inline commit(l, k) {
#ifdef MUT_COMMIT_STORE
  W(l, k) = COMMITTED                 /* Atomics.store: the mark is overwritten unseen */
#else
  atomic {                            /* Atomics.exchange returns the old word */
    old = W(l, k); W(l, k) = COMMITTED;
    if :: old == WAIT || old == BUSY_WAIT -> wake() :: else -> skip fi
  }
#endif
}

inline reserve(l, k) {
  if
  :: k % PAGE_RECS == 0 && k > 0 ->
     /* page switch: the page was zeroed before; publish it, then the one-load-per-page fallback */
     READY(l, k / PAGE_RECS) = 1;
#ifndef MUT_NO_PAGE_FALLBACK
     atomic { if :: waiters != 0 -> wake() :: else -> skip fi }
#endif
  :: else -> skip
  fi;
#ifdef MUT_RESERVE_STORES_WORD0
  W(l, k) = BUSY                      /* plain store over whatever is there */
#else
  skip                                /* word0 left alone; word1 holds the BUSY header (not modelled) */
#endif
}

proctype writer(byte l) {
  byte k = 0;
  byte old;
  do
  :: k == RECORDS -> break
#ifdef NESTED
  :: k + 1 < RECORDS && k % PAGE_RECS == 0 && PAGE_RECS > 1 ->
     reserve(l, k); reserve(l, k + 1);
     commit(l, k + 1); commit(l, k);
     k = k + 2
#endif
  :: else -> reserve(l, k); commit(l, k); k++
  od;
  writers_done++
}

/* Whether the reader may sleep on lane l at its frontier f: marks it (or registers for its page). */
inline mark_lane(l, f) {
  if
  :: f == RECORDS -> skip                                  /* the writer is done: nothing will come */
  :: else ->
     if
     :: READY(l, f / PAGE_RECS) ->
        atomic {
          if
          :: W(l, f) == EMPTY -> W(l, f) = WAIT
          :: W(l, f) == BUSY -> W(l, f) = BUSY_WAIT
          :: W(l, f) == WAIT || W(l, f) == BUSY_WAIT -> skip
          :: W(l, f) == COMMITTED -> stay = 0            /* a record came: do not sleep */
          fi
        }
     :: else ->
        registered[l] = 1;
        waiters++;
        if :: READY(l, f / PAGE_RECS) -> stay = 0 :: else -> skip fi   /* the last look */
     fi
  fi
}

inline unmark_lane(l, f) {
  if
  :: f < RECORDS ->
     atomic {
       if
       :: W(l, f) == WAIT -> W(l, f) = EMPTY
       :: W(l, f) == BUSY_WAIT -> W(l, f) = BUSY
       :: else -> skip
       fi
     }
  :: else -> skip
  fi;
  if :: registered[l] -> waiters--; registered[l] = 0 :: else -> skip fi
}

proctype reader() {
  byte f[WRITERS];                    /* frontier per lane: records consumed */
  bit registered[WRITERS];
  int s;
  bit stay;
  do
  :: f[0] + f[1] == WRITERS * RECORDS -> break
  :: f[0] < RECORDS && READY(0, f[0] / PAGE_RECS) && W(0, f[0]) == COMMITTED -> f[0]++
  :: f[1] < RECORDS && READY(1, f[1] / PAGE_RECS) && W(1, f[1]) == COMMITTED -> f[1]++
  :: else ->
     window = 1;
#ifndef MUT_SEQ_AFTER_MARK
     s = wake_seq;
#endif
     stay = 1;
     mark_lane(0, f[0]);
#ifndef MUT_MARK_ONE_LANE
     mark_lane(1, f[1]);
#endif
#ifdef MUT_SEQ_AFTER_MARK
     s = wake_seq;
#endif
     if
     :: stay -> futex_wait(s); asleep == 0      /* no timeout: only a notify ends this */
     :: else -> skip
     fi;
#ifndef MUT_NO_UNMARK
     unmark_lane(0, f[0]);
     unmark_lane(1, f[1]);
#else
     if :: registered[0] -> waiters--; registered[0] = 0 :: else -> skip fi;
     if :: registered[1] -> waiters--; registered[1] = 0 :: else -> skip fi;
#endif
     window = 0
  od
}

init {
  atomic {
    READY(0, 0) = 1; READY(1, 0) = 1;
    run writer(0); run writer(1); run reader()
  }
}

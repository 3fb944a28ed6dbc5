/*
 * Wakeups (src/wakeup.ts, FORMAT.md 10.6, DESIGN.md 9c): no lost wakeup.
 *
 * Two writers, each on its own lane, commit RECORDS records each; after each commit a writer loads
 * H_WAITERS and, if someone is about to sleep, takes one commit from H_WAKE_BUDGET and, when that
 * reaches the watermark, moves H_WAKE_SEQ and notifies. Two readers sleep meanwhile:
 *  - `reader` (wait() with records = 1) consumes every record, sleeping whenever it finds none. It
 *    has no timeout: if it sleeps with a record committed and no wakeup comes, it never wakes, the
 *    writers end, and spin reports an invalid end state (a deadlock). That is the lost wakeup.
 *  - `watcher` (wait({ records: 2 })) sleeps until 2 commits happened after it registered. It may
 *    time out only when the writers are done and fewer than 2 commits were stored after its
 *    H_WAITERS add (a ghost count); a watcher asleep after 2 such commits is again a deadlock.
 *
 * Every step is one JS Atomics operation (sequentially consistent); the futex (Atomics.wait /
 * notify) is modelled as it behaves: the value check and going to sleep are one step, a notify
 * wakes the threads asleep at that moment, and a store to the word alone wakes nobody.
 *
 * Mutations (each must make spin find a counterexample):
 *   -DMUT_NO_RECHECK      the reader does not look for data again after registering
 *   -DMUT_LOAD_FIRST      the writer loads H_WAITERS before its commit store
 *   -DMUT_SEQ_LATE        the reader loads H_WAKE_SEQ after its last look for data
 *   -DMUT_BUDGET_OFF      the writer wakes only when the budget was <= 0 (off by one)
 *   -DMUT_NO_NOTIFY       the writer moves H_WAKE_SEQ but does not notify
 * (apply them with -DFIX_SEQ_FIRST: the code's order already fails, see below).
 *
 * Findings (DESIGN.md section 13): as the code is, spin finds two lost wakeups. The watcher misses
 * its watermark when it is preempted between its H_WAITERS add and its H_WAKE_SEQ load; and, with
 * -DWATCHER_ANY_TIMEOUT (the watcher's property left out, so only the reader's is checked), the
 * reader sleeps with a record committed after the watcher raised a consumed budget. Variants:
 *   -DFIX_SEQ_FIRST       load H_WAKE_SEQ first, before lowering the budget (the proposed fix)
 *   -DWATCHER_ANY_TIMEOUT the watcher may time out whenever the writers are done
 *   -DRECORDS=n           records per writer (default 1)
 */

/* src/wakeup.ts loads H_WAKE_SEQ first since this model found the lost wakeups of the old order;
 * -DMUT_SEQ_AFTER_REGISTER models the old order (SEQ loaded after the budget and WAITERS steps). */
#ifndef MUT_SEQ_AFTER_REGISTER
#define FIX_SEQ_FIRST
#endif

#define WRITERS 2
#ifndef RECORDS
#define RECORDS 1
#endif
#define WATERMARK 2
#define BUDGET_TRIES 64         /* registerWaiter() gives up lowering the budget after 64 tries */

/* The ring's words. */
int waiters = 0;                /* H_WAITERS */
int wake_seq = 0;               /* H_WAKE_SEQ, the futex word */
int budget = 0;                 /* H_WAKE_BUDGET */
byte committed[WRITERS];        /* records committed per lane (each record's word0 store) */

/* Futex: which reader is asleep in Atomics.wait (0 = reader, 1 = watcher). */
bit asleep[2];

/* Ghosts. */
byte writers_done = 0;
bit watcher_registered = 0;
byte after_register = 0;        /* commits stored while the watcher was registered */

/* Atomics.wait(i32, SEQ, s): compare and sleep in one step; returns when notified. */
inline futex_wait(me, s) {
  atomic { if :: wake_seq == s -> asleep[me] = 1 :: else -> skip fi }
}
/* Atomics.notify(i32, SEQ): wakes the threads asleep now. */
inline futex_notify() {
  d_step { asleep[0] = 0; asleep[1] = 0 }
}

/* wakeup.ts#registerWaiter: lower the budget to `records`, add a waiter, return the sequence. */
inline register_waiter(me, records, s) {
#ifdef FIX_SEQ_FIRST
  s = wake_seq;                                         /* Atomics.load(SEQ), first of all */
#endif
  tries = 0;
  do
  :: tries == BUDGET_TRIES -> break
  :: else ->
     cur = budget;                                      /* Atomics.load(BUDGET) */
     if
     :: cur > 0 && cur <= records -> break
     :: else ->
        atomic { if :: budget == cur -> budget = records; tries = BUDGET_TRIES  /* CAS won */
                    :: else -> tries++ fi }
     fi
  od;
  cur = 0; tries = 0;
  /* Atomics.add(WAITERS, 1); the watcher's ghost count starts with it */
  atomic { waiters++; if :: me == 1 -> watcher_registered = 1 :: else -> skip fi };
#if !defined(MUT_SEQ_LATE) && !defined(FIX_SEQ_FIRST)
  s = wake_seq                                          /* Atomics.load(SEQ) */
#else
  skip
#endif
}

proctype writer(byte lane) {
  byte i = 0;
  bit look;
  int old;
  do
  :: i == RECORDS -> break
  :: else ->
#ifdef MUT_LOAD_FIRST
     look = (waiters != 0);                             /* Atomics.load(WAITERS), too early */
#endif
     /* commit: Atomics.store(word0); the ghost counts it for a registered watcher */
     atomic { committed[lane]++; if :: watcher_registered -> after_register++ :: else -> skip fi };
#ifndef MUT_LOAD_FIRST
     look = (waiters != 0);                             /* Atomics.load(WAITERS) */
#endif
     if
     :: look ->
        /* wakeup.ts#wakeReaders */
        atomic { old = budget; budget-- };              /* Atomics.sub(BUDGET, 1) returns the old value */
#ifdef MUT_BUDGET_OFF
        if :: old <= 0 ->
#else
        if :: old <= 1 ->
#endif
           wake_seq++;                                  /* Atomics.add(SEQ, 1) */
#ifndef MUT_NO_NOTIFY
           futex_notify()                               /* Atomics.notify(SEQ) */
#else
           skip
#endif
        :: else -> skip
        fi;
        old = 0
     :: else -> skip
     fi;
     look = 0;
     i++
  od;
  writers_done++
}

/* RingReader#wait() with records = 1 around a consuming loop: reads every record. */
proctype reader() {
  byte consumed[WRITERS];
  int s, cur;
  byte tries;
  do
  :: consumed[0] + consumed[1] == WRITERS * RECORDS -> break
  :: else ->
     /* #available(): one atomic load per lane */
     if
     :: committed[0] > consumed[0] -> consumed[0]++; goto again
     :: else -> skip
     fi;
     if
     :: committed[1] > consumed[1] -> consumed[1]++; goto again
     :: else -> skip
     fi;
     register_waiter(0, 1, s);
#ifndef MUT_NO_RECHECK
     /* the last look, after announcing ourselves */
     if :: committed[0] > consumed[0] -> goto unregister :: else -> skip fi;
     if :: committed[1] > consumed[1] -> goto unregister :: else -> skip fi;
#endif
#ifdef MUT_SEQ_LATE
     s = wake_seq;
#endif
     futex_wait(0, s);
     asleep[0] == 0;                                    /* no timeout: only a notify ends this */
unregister:
     waiters--;                                         /* Atomics.sub(WAITERS, 1) */
again:
     skip
  od
}

/* RingReader#wait({ records: WATERMARK }): one sleep until WATERMARK commits after registering. */
proctype watcher() {
  int s, cur;
  byte tries;
  register_waiter(1, WATERMARK, s);
#ifdef MUT_SEQ_LATE
  s = wake_seq;
#endif
  futex_wait(1, s);
  if
  :: asleep[1] == 0 -> skip                             /* notified (or never slept) */
#ifndef WATCHER_ANY_TIMEOUT
  :: atomic { writers_done == WRITERS && after_register < WATERMARK -> asleep[1] = 0 }  /* timeout: nothing was owed */
#else
  :: atomic { writers_done == WRITERS -> asleep[1] = 0 }                               /* timeout */
#endif
  fi;
  atomic { watcher_registered = 0; waiters-- }
}

init {
  atomic {
    run writer(0); run writer(1); run reader(); run watcher()
  }
}

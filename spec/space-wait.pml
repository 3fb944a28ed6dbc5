/*
 * Writers waiting for room (src/wakeup.ts registerSpaceWaiter/wakeSpaceWaiters, RingWriter.reserveWaiting;
 * FORMAT.md 10.7, DESIGN.md 9c): no lost wakeup, no notify without a waiting writer.
 *
 * Two writers, each on its own lane of CAP records, write RECORDS records each; one consumer takes
 * them from both lanes. A writer that finds its lane full:
 *     s = load(H_SPACE_SEQ)            first
 *     H_SPACE_WAITERS += 1
 *     try again; room: unregister and write
 *     wait(H_SPACE_SEQ, s)             (the code caps each wait at 1 ms; the model has no timeout, so
 *                                       a writer asleep with room for ever is a lost wakeup: deadlock)
 *     H_SPACE_WAITERS -= 1; start again
 * The consumer, after each take (the tail compare-exchange):
 *     if load(H_SPACE_WAITERS) != 0: H_SPACE_SEQ += 1; notify
 * Every step is a sequentially consistent Atomics operation; the futex as in wakeup.pml.
 *
 * Mutations (each must make spin find a counterexample):
 *   -DMUT_NO_RETRY        the writer does not try again after registering
 *   -DMUT_SEQ_LATE        the writer loads H_SPACE_SEQ after its last try
 *   -DMUT_LOAD_FIRST      the consumer loads H_SPACE_WAITERS before its take
 *   -DMUT_ALWAYS_NOTIFY   the consumer notifies after every take (breaks "no notify without a waiting writer")
 */

#define WRITERS 2
#ifndef RECORDS
#define RECORDS 3
#endif
#ifndef CAP
#define CAP 1
#endif

byte head[WRITERS];             /* records written per lane */
byte tail[WRITERS];             /* records taken per lane (L_TAIL_POS8) */
byte space_waiters = 0;         /* H_SPACE_WAITERS */
int space_seq = 0;              /* H_SPACE_SEQ, the futex word */
bit asleep[WRITERS];
byte in_window = 0;             /* ghost: writers between their H_SPACE_SEQ load and their unregistering */

inline notify_all() {
  d_step { asleep[0] = 0; asleep[1] = 0 }
}

proctype writer(byte l) {
  int s;
  do
  :: head[l] == RECORDS -> break
  :: head[l] < RECORDS && head[l] - tail[l] < CAP -> head[l]++   /* tryReserve() found room: write and commit */
  :: else ->
     /* reserveWaiting(): the lane is full */
     atomic { in_window++;
#ifndef MUT_SEQ_LATE
       s = space_seq                                  /* registerSpaceWaiter(): Atomics.load(SEQ) first */
#endif
     };
     space_waiters++;                                 /* Atomics.add(WAITERS, 1) */
#ifndef MUT_NO_RETRY
     if
     :: head[l] - tail[l] < CAP -> goto unregister    /* tryReserve() once more: room */
     :: else -> skip
     fi;
#endif
#ifdef MUT_SEQ_LATE
     s = space_seq;
#endif
     atomic { if :: space_seq == s -> asleep[l] = 1 :: else -> skip fi };   /* Atomics.wait(SEQ, s) */
     asleep[l] == 0;                                  /* only a notify ends it here */
unregister:
     atomic { space_waiters--; in_window-- }          /* unregisterSpaceWaiter() */
  od
}

proctype consumer() {
  bit look, saw;
  byte l;
  do
  :: tail[0] + tail[1] == WRITERS * RECORDS -> break
  :: else ->
     if
     :: head[0] > tail[0] -> l = 0
     :: head[1] > tail[1] -> l = 1
     fi;
#ifdef MUT_LOAD_FIRST
     atomic { look = (space_waiters != 0); saw = (in_window > 0) };
#endif
     tail[l]++;                                       /* the take: compare-exchange of the tail */
#ifndef MUT_LOAD_FIRST
     atomic { look = (space_waiters != 0); saw = (in_window > 0) };   /* wakeSpaceWaiters(): Atomics.load(WAITERS) */
#endif
#ifdef MUT_ALWAYS_NOTIFY
     look = 1;
#endif
     if
     :: look ->
        assert(saw);                                  /* no notify without a waiting writer */
        space_seq++;                                  /* Atomics.add(SEQ, 1) */
        notify_all()                                  /* Atomics.notify(SEQ) */
     :: else -> skip
     fi;
     look = 0; saw = 0; l = 0
  od
}

init {
  atomic { run writer(0); run writer(1); run consumer() }
}

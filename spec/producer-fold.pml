/*
 * Retiring producers (src/ring.ts#retire, src/stats.ts#retiredAndLive, FORMAT.md 4.1, DESIGN.md 8):
 * a closed or reclaimed producer's counter moves from its slot to its lane's total and the slot
 * becomes FREE, while a statistics reader sums lane total + live slots. The property: the reader
 * counts every drop exactly once. A drop counted in the slot and in the lane (fold seen half done)
 * or in neither (slot freed, lane not yet added) makes its sum leave [truth when it started, truth
 * when it ended].
 *
 * Two slots on one lane. Producer A (slot 0) drops once and retires; producer B (slot 1) drops
 * twice, then retires; a third producer C claims slot 0 once A freed it, drops once and retires.
 * Every step is one JS Atomics operation (sequentially consistent); the fold's counter-pair add is
 * one step (an atomic add; its carry into the high word is not modelled: counts stay small). The
 * reader retries while H_FOLDS_BEGUN (loaded last) differs from H_FOLDS_ENDED (loaded first); its
 * retries are bounded in the code (1000), unbounded here (every fold ends).
 *
 * Mutations (each must make spin find a counterexample):
 *   -DMUT_NO_WINDOW      the reader does not check the fold counters
 *   -DMUT_END_EARLY      the retirer adds H_FOLDS_ENDED before it frees the slot
 *   -DMUT_BEGIN_LATE     the retirer adds H_FOLDS_BEGUN after its lane add
 *   -DMUT_READ_BEGUN_FIRST the reader loads H_FOLDS_BEGUN first and H_FOLDS_ENDED last
 */

#define FREE 0
#define ALIVE 1
#define DEAD 2
#define CLAIMING 3

byte state[2];
byte slotDropped[2];
byte laneDropped;
byte begun;
byte ended;
byte truth;      /* drops counted so far (ghost) */
byte retired;    /* producers retired (ghost) */

inline drop(s) {
  /* countDrop(): the producer's own plain store of its running total; the ghost moves with it */
  d_step { slotDropped[s] = slotDropped[s] + 1; truth = truth + 1 }
}

inline retire(s) {
  /* close(): CAS ALIVE -> DEAD (the only retirer here) */
  state[s] = DEAD;
#ifndef MUT_BEGIN_LATE
  begun = begun + 1;
#endif
  laneDropped = laneDropped + slotDropped[s];
#ifdef MUT_BEGIN_LATE
  begun = begun + 1;
#endif
#ifdef MUT_END_EARLY
  ended = ended + 1;
  state[s] = FREE;
#else
  state[s] = FREE;
  ended = ended + 1;
#endif
  retired = retired + 1
}

proctype ProducerA() {
  drop(0);
  retire(0)
}

proctype ProducerB() {
  drop(1);
  drop(1);
  retire(1)
}

proctype ProducerC() {
  /* writer(): CAS FREE -> CLAIMING on slot 0, zero the counter, publish ALIVE */
  atomic { state[0] == FREE && retired > 0 -> state[0] = CLAIMING }
  slotDropped[0] = 0;
  state[0] = ALIVE;
  drop(0);
  retire(0)
}

proctype Reader() {
  byte e, b, sum, low, high, st;
  do
  :: retired == 3 -> break
  :: else ->
     low = truth;
#ifdef MUT_READ_BEGUN_FIRST
     b = begun;
#else
     e = ended;
#endif
     sum = laneDropped;
     st = state[0];
     if
     :: st == ALIVE || st == DEAD -> sum = sum + slotDropped[0]
     :: else -> skip
     fi;
     st = state[1];
     if
     :: st == ALIVE || st == DEAD -> sum = sum + slotDropped[1]
     :: else -> skip
     fi;
#ifdef MUT_READ_BEGUN_FIRST
     e = ended;
#else
     b = begun;
#endif
     high = truth;
#ifdef MUT_NO_WINDOW
     assert(low <= sum && sum <= high)
#else
     if
     :: b == e -> assert(low <= sum && sum <= high)
     :: else -> skip /* a fold overlapped: look again */
     fi
#endif
  od
}

init {
  state[0] = ALIVE;
  state[1] = ALIVE;
  atomic {
    run ProducerA();
    run ProducerB();
    run ProducerC();
    run Reader()
  }
}

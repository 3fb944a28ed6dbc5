/*
 * A per-thread lane in overwrite mode (src/writer.ts#LaneWriter, src/pages.ts#preparePage,
 * src/reader.ts#LaneCursor; DESIGN.md sections 4, 6, 7; FORMAT.md 6.6, 9.3, 9.4, 10.2, 10.3).
 *
 * One owner writes NREC records with nested reservations, commits out of order, closes a page while
 * reservations are open, and recycles pages (overwrite: it pushes the tail); a consumer and a
 * non-consuming iterator, constructed while it runs, read the lane. Checked:
 *  - a reader hands out only committed records, each whole (header and payload of the same record,
 *    at the place it was written), in lane order, never twice;
 *  - a reader never reports corruption (badHeader) on this healthy lane;
 *  - loss is exact: when the writer is done and a reader has caught up, the records before where
 *    it started + records handed out + records reported lost = records committed, and the count
 *    it started from is the number of committed records before its starting position.
 *
 * Abstraction: P = 2 slots of K = 2 record positions, every record one position (so pages close
 * exactly full, no padding); page counters and positions are unbounded integers (no 32-bit pos8
 * wrap, no PG_SEQ_HI, no L_HEAD_PAGE: a position names its page directly); the record header is
 * its state and the record's id (standing for length and type), the payload one word holding the
 * id. Each statement that touches shared memory is one step; statements that only touch locals
 * are folded into the step with the next shared access. Plain loads and stores are single steps
 * in program order except where the code's missing ordering is the point (MUT_NO_FENCE).
 * The code's retry bounds (P + 8 pages per fill, 256 lapped attempts, the push loop) are
 * unbounded retries here.
 *
 * Mutations (each must make spin find a counterexample):
 *   -DMUT_COMMIT_FIRST    the writer commits a record before writing its payload
 *   -DMUT_NO_TAIL_CAS     the consumer stores its new tail instead of compare-exchanging it
 *   -DMUT_PUSH_AFTER_ZERO the recycler zeroes the page before pushing the tail past it
 *   -DMUT_NO_FENCE        the iterator's copy may be performed after its page re-check
 *   -DMUT_PUBLISH_OPEN    the writer publishes PG_COMMITTED while reservations are open
 *   -DMUT_CUM_SKIP_PAGE   the recycler stores the cumulatives of old + 1 without old's records
 * Variants: -DNREC=5 (one recycle instead of two), -DREADERS=1 (consumer only), 2 (iterator only).
 *
 * Finding (DESIGN.md section 13): with two recycles (NREC=7) a reader constructed at page 0 starts
 * from a wrong count: cumulativeRecords() reads slot 0's PG_RECORDS_BEFORE for page 0 without a
 * re-check, after the slot was recycled twice. -DFIX_CUM_PAGE0 (page 0's cumulatives are 0 by
 * definition, not read) is the proposed fix and verifies.
 */

#ifndef NREC
/* src/pages.ts#cumulativeRecords() takes page 0's cumulatives as 0 since this model found the stale
 * read; -DMUT_CUM_PAGE0_FROM_SLOT models the old code (reading them from slot 0). */
#ifndef MUT_CUM_PAGE0_FROM_SLOT
#define FIX_CUM_PAGE0
#endif

#define NREC 7
#endif
#ifndef READERS
#define READERS 3                /* bit 0: a consumer, bit 1: an iterator */
#endif
#define P 2                      /* page slots per lane */
#define K 2                      /* record positions per page */
#define PUBLISH_EVERY 2          /* the code's 32, scaled to the page */

#define BUSY 1
#define COMMITTED 2
#define DISCARDED 3
#define WORD(state, id) ((state) * 16 + (id))
#define STATE(w) ((w) / 16)
#define ID(w) ((w) % 16)
#define SLOT(n) ((n) % P)
#define AT(s, i) ((s) * K + (i))

/* Shared memory. */
short seq[P];                      /* PG_SEQ: the page a slot holds; old + 1 while being prepared */
byte cum[P];                     /* PG_RECORDS_BEFORE */
bit cumready[P];                 /* PG_CUM_READY */
byte pcommitted[P];              /* PG_COMMITTED, in positions (0 stands for 48 bytes) */
byte hdr[P * K];                 /* record word0: state and id */
byte pay[P * K];                 /* payload: the record's id */
byte tail;                       /* L_TAIL_POS8, as page * K + offset */

/* Ghosts. */
byte gcommitted;                 /* data records committed */
bit rec_committed[NREC + 1];
byte rec_page[NREC + 1];
byte rec_off[NREC + 1];
bit writer_done;

/* ---------------------------------------------------------------- the writer (LaneWriter) */

#define OP_R 1                   /* reserve */
#define OP_W 2                   /* write the payload */
#define OP_C 3                   /* commit */
#define OP_X 4                   /* commit or discard */
#define OPS 64
byte script[OPS];
byte nops;
#define OP(kind, id) script[nops] = (kind) * 16 + (id); nops++
#ifdef MUT_COMMIT_FIRST
#define WRITE_COMMIT(id) OP(OP_C, id); OP(OP_W, id)
#else
#define WRITE_COMMIT(id) OP(OP_W, id); OP(OP_C, id)
#endif

/* walkPage() of an own lane from the first record to `wto`: PG_COMMITTED once, plain loads below it. */
inline walk_page(ws, wto) {
  wrecords = 0; wbusy = 0; wthrow = 0;
  wc = pcommitted[ws];                                  /* committedEnd(): Atomics.load */
  atomic { wbusy = (wc < K -> 1 : wbusy); wplain = (wc < wto -> wc : wto); wo = 0 };
  do
  :: wo >= wto -> break
  :: else ->
     h = hdr[AT(ws, wo)];                                /* plain below wplain, else Atomics.load */
     if
     :: h == 0 -> wthrow = (wo < wplain -> 1 : 0); break
     :: STATE(h) == BUSY && wo < wplain -> wthrow = 1; break
     :: STATE(h) == BUSY && wo >= wplain -> wbusy = 1; wo++
     :: STATE(h) == COMMITTED -> wrecords++; wo++
     :: STATE(h) == DISCARDED -> wo++
     fi
  od;
  wo = 0; wplain = 0; wc = 0; h = 0
}

/* walkHeldPage(): a walk, then (fence) the slot must still hold page n. */
inline walk_held_page(hs, hn, hto) {
  walk_page(hs, hto);
  if
  :: wthrow -> assert(seq[hs] != hn); held = 0          /* a throw on a held page: badHeader */
  :: else -> held = (seq[hs] == hn)                     /* fence(); pageHolds(): Atomics.load */
  fi
}

proctype writer() {
  short pendingClose = -1, old;
  byte pageNo, next, t, target, frontier, open, unpublished, pageRecords, pc, op, id, s, i, wrec, at;
  byte slotRecords[P];
  bit slotKnown[P];                                     /* resume(): all 0 */
  byte at_of[NREC + 1];
  byte wrecords, wc, wplain, wo, h;
  bit wbusy, wthrow, held, counted, ok;

  do
  :: pc == nops -> break
  :: else ->
     atomic { op = script[pc] / 16; id = script[pc] % 16; pc++ };
     if
     :: op == OP_R ->
        if
        :: frontier + 1 > K ->
           /* switchPage(): the page is exactly full, so no padding record */
           if
           :: open == 0 -> pcommitted[SLOT(pageNo)] = K /* Atomics.store(PG_COMMITTED, pageSize) */
           :: else -> pendingClose = (pendingClose < 0 -> pageNo : pendingClose)
           fi;
           atomic { slotRecords[SLOT(pageNo)] = pageRecords; next = pageNo + 1; old = next - P;
                    s = SLOT(next); counted = slotKnown[s]; wrec = slotRecords[s] };
           /* preparePage(next) */
           if
           :: seq[s] == next -> goto entered            /* pageState(): Atomics.load(PG_SEQ) */
           :: else -> skip
           fi;
           assert(seq[s] == old);                       /* Atomics.load(PG_SEQ): not in progress, not stale */
           if
           :: old >= 0 && counted ->
              assert(pcommitted[s] == K)                /* committedEnd(old) == pageSize, else STALLED */
           :: old >= 0 && !counted ->
              walk_held_page(s, old, K);
              assert(held && !wbusy);                   /* else STALE / STALLED: no drop in this scenario */
              wrec = wrecords
           :: else -> skip
           fi;
           atomic { assert(seq[s] == old); seq[s] = old + 1 };  /* CAS(PG_SEQ, old, old + 1): the claim */
           if
           :: old >= 0 ->
              /* storeCumulatives(): Atomics.load(PG_CUM_READY of old), two f64, Atomics.store(PG_CUM_READY) */
              if
              :: cumready[SLOT(old)] == 1 ->
#ifndef MUT_CUM_SKIP_PAGE
                 cum[SLOT(old + 1)] = cum[SLOT(old)] + wrec;
#else
                 cum[SLOT(old + 1)] = cum[SLOT(old)];
#endif
                 cumready[SLOT(old + 1)] = 1
              :: else -> skip
              fi;
#ifndef MUT_PUSH_AFTER_ZERO
              /* pushTail(): take the rest of page old from the consumer */
              target = (old + 1) * K;
              do
              :: t = tail;                              /* Atomics.load */
                 if
                 :: t >= target -> break
                 :: else -> atomic { ok = (tail == t); tail = (ok -> target : tail) };  /* CAS */
                            if :: ok -> break :: else -> skip fi
                 fi
              od;
#endif
              skip
           :: else -> skip
           fi;
           /* finishPrepare(): zero the records (plain stores), then the header, then publish */
           i = 0;
           do
           :: i == K -> break
           :: else -> hdr[AT(s, i)] = 0; pay[AT(s, i)] = 0; i++
           od;
#ifdef MUT_PUSH_AFTER_ZERO
           if
           :: old >= 0 ->
              target = (old + 1) * K;
              do
              :: t = tail;
                 if
                 :: t >= target -> break
                 :: else -> atomic { ok = (tail == t); tail = (ok -> target : tail) };
                            if :: ok -> break :: else -> skip fi
                 fi
              od
           :: else -> skip
           fi;
#endif
           cum[s] = 0;                                  /* PG_RECORDS_BEFORE = 0 (plain f64) */
           pcommitted[s] = 0;                           /* Atomics.store(PG_COMMITTED, 48) */
           cumready[s] = 0;                             /* Atomics.store(PG_CUM_READY, 0) */
           seq[s] = next;                               /* Atomics.store(PG_SEQ, next): publish */
entered:
           /* enterPage(next) */
           atomic { pageNo = next; frontier = 0; pageRecords = 0; unpublished = 0; slotKnown[s] = 1;
                    next = 0; old = 0; t = 0; target = 0; wrec = 0; counted = 0; held = 0; i = 0 }
        :: else -> skip
        fi;
        /* the fast path: plain store of the BUSY header (the ghost records where it is) */
        atomic { s = SLOT(pageNo); at = AT(s, frontier); at_of[id] = at;
                 rec_page[id] = pageNo; rec_off[id] = frontier;
                 frontier++; open++; pageRecords++;
                 hdr[at] = WORD(BUSY, id) }
     :: op == OP_W ->
        pay[at_of[id]] = id                             /* the caller writes the payload (plain) */
     :: op == OP_C || op == OP_X ->
        at = at_of[id];
        if
        :: atomic { assert(STATE(hdr[at]) == BUSY);     /* commit(): Atomics.store(word0) */
                    hdr[at] = WORD(COMMITTED, id); rec_committed[id] = 1; gcommitted++ }
        :: op == OP_X ->
           atomic { assert(STATE(hdr[at]) == BUSY);     /* discard(): Atomics.store(word0) */
                    hdr[at] = WORD(DISCARDED, id);
                    /* uncount(): in the page being written, or in the slot's count */
                    if
                    :: at / K == SLOT(pageNo) -> pageRecords--
                    :: else -> slotRecords[at / K]--
                    fi }
        fi;
        open--;
#ifndef MUT_PUBLISH_OPEN
        if
        :: open == 0 ->
#else
        if
        :: true ->
#endif
           unpublished++;
           if
           :: unpublished >= PUBLISH_EVERY || pendingClose >= 0 ->
              /* publish(): first the pages closed while reservations were open (publishClosed) */
              do
              :: pendingClose < 0 || pendingClose >= pageNo -> break
              :: else ->
                 if
                 :: seq[SLOT(pendingClose)] == pendingClose ->  /* pageHolds(): Atomics.load */
                    pcommitted[SLOT(pendingClose)] = K           /* Atomics.store(PG_COMMITTED, pageSize) */
                 :: else -> skip
                 fi;
                 pendingClose++
              od;
              atomic { pendingClose = -1; unpublished = 0;
                       pcommitted[SLOT(pageNo)] = frontier }    /* Atomics.store(PG_COMMITTED, frontier) */
           :: else -> skip
           fi
        :: else -> skip
        fi
     fi;
     atomic { at = 0; id = 0; op = 0; s = 0 }
  od;
  writer_done = 1
}

/* ---------------------------------------------------------------- the readers (LaneCursor) */

/* cumulativeRecords(m): records before page m, from the newest page j <= m with cumulatives. */
inline cumulative(m) {  /* m must not be j, p or oldest */
  j = m;
  oldest = (m - P > 0 -> m - P : 0);
  do
  :: j < oldest -> break
  :: else ->
     if
     :: seq[SLOT(j)] == j ->                            /* pageHolds(): Atomics.load */
        if
        :: cumready[SLOT(j)] == 1 -> break              /* Atomics.load(PG_CUM_READY) */
        :: else -> j--
        fi
     :: else -> j--
     fi
  od;
  cok = 1;
  if
  :: j < oldest && m - P > 0 -> cok = 0
  :: j < oldest && m - P <= 0 -> j = 0
  :: else -> skip
  fi;
  if
  :: cok ->
     if
     :: j == 0 ->
#ifndef FIX_CUM_PAGE0
        held = (seq[SLOT(0)] == 0);                     /* pageHolds(slot 0, 0) */
        if
        :: held -> crec = cum[SLOT(0)]                  /* plain f64, not re-checked afterwards */
        :: else -> crec = 0
        fi
#else
        crec = 0                                        /* page 0's cumulatives are 0 by definition */
#endif
     :: else -> crec = cum[SLOT(j)]                     /* plain f64 */
     fi;
     p = j;
     do
     :: p >= m -> break
     :: else ->
        if
        :: seq[SLOT(p)] != p -> cok = 0; break          /* pageHolds() */
        :: else -> skip
        fi;
        walk_held_page(SLOT(p), p, K);
        if
        :: !held -> cok = 0; break
        :: else -> crec = crec + wrecords; p++
        fi
     od;
     if
     :: cok && j > 0 -> cok = (seq[SLOT(j)] == j)       /* fence(); the start page must still be there */
     :: else -> skip
     fi
  :: else -> skip
  fi;
  p = 0; oldest = 0; held = 0
}

/* #startAtTail(): where the consumer stands (an iterator: the start of that page), and seq there. */
inline start_at_tail() {
  t = tail;                                             /* Atomics.load(L_TAIL_POS8) */
  atomic { n = t / K; off = (consuming -> t % K : 0) };
  /* recordsBefore(n, off) */
  cumulative(n);
  if
  :: !cok -> known = 0
  :: cok && off == 0 -> rseq = crec; known = 1
  :: cok && off > 0 ->
     if
     :: seq[SLOT(n)] != n -> known = 0                  /* pageHolds() */
     :: else ->
        walk_held_page(SLOT(n), n, off);
        if
        :: held -> rseq = crec + wrecords; known = 1
        :: else -> known = 0
        fi
     fi
  fi;
  atomic { crec = 0; j = 0; t = 0; cok = 0; held = 0 }
}

/* #passRecycledTailPage(): the tail's page q shows the preparing marker, its recycler has not pushed
 * the tail yet: count q (intact until the push) and move past it. */
inline pass_recycled() {
  pok = 0;
  atomic { q = n; s = SLOT(q) };
  if
  :: seq[s] - q <= 0 -> skip                            /* pageState() <= 0 */
  :: else ->
     t = tail;                                          /* Atomics.load */
     if
     :: t < q * K || t >= (q + 1) * K -> skip
     :: else ->
        if
        :: cumready[s] != 1 -> skip                     /* Atomics.load(PG_CUM_READY) */
        :: else ->
           crec = cum[s];                               /* plain f64 */
           walk_page(s, K);
           if
           :: wthrow -> skip
           :: else ->
              if
              :: tail != t -> skip                      /* fence(); Atomics.load: pushed meanwhile */
              :: else ->
                 if
                 :: consuming -> atomic { ok = (tail == t); tail = (ok -> (q + 1) * K : tail) }  /* CAS */
                 :: else -> ok = 1
                 fi;
                 if
                 :: ok -> atomic { n = q + 1; off = 0; rseq = crec + wrecords; known = 1; pok = 1 }
                 :: else -> skip
                 fi
              fi
           fi
        fi
     fi
  fi;
  atomic { q = 0; t = 0; crec = 0; ok = 0 }
}

/* #lapped(): the page was overwritten; jump to the tail and count what was skipped. */
inline lapped() {
  atomic { before = rseq; wasN = n; wasOff = off };
  do
  :: start_at_tail();
     if
     :: known -> break
     :: else -> pass_recycled(); if :: pok -> break :: else -> skip fi
     fi
  od;
  if
  :: n < wasN || (n == wasN && off <= wasOff) ->
     atomic { n = wasN; off = wasOff; rseq = before; lok = 0 }  /* recycling in progress: later */
  :: else ->
     atomic { assert(!exact || rseq >= before); lost = lost + (rseq - before); bEnd = 0; lok = 1 }
  fi;
  atomic { before = 0; wasN = 0; wasOff = 0; pok = 0 }
}

/* #fill(): copy the next run of committed records and validate the copy. */
inline fill() {
  got = 0;
  do
  :: s = SLOT(n);
     where = seq[s] - n;                                /* pageState(): Atomics.load(PG_SEQ) */
     if
     :: where < 0 -> break                              /* not written yet */
     :: where > 0 -> lapped(); if :: lok -> skip :: else -> break fi
     :: where == 0 ->
        atomic { start = off; e = off; runRecords = 0 };
        limit = pcommitted[s];                          /* committedEnd(): Atomics.load */
        do                                              /* below PG_COMMITTED: plain loads */
        :: e >= limit -> break
        :: else ->
           h = hdr[AT(s, e)];
           if
           :: STATE(h) <= BUSY ->
              assert(seq[s] != n);                      /* else badHeader on a healthy lane */
              break                                     /* a page being recycled looks like garbage */
           :: STATE(h) == COMMITTED -> runRecords++; e++
           :: STATE(h) == DISCARDED -> e++
           fi
        od;
        scanning = (e == start);                        /* past it, only if nothing new below it */
        do
        :: !scanning || e >= K -> break
        :: else ->
           h = hdr[AT(s, e)];                           /* Atomics.load(word0) */
           if
           :: STATE(h) == 0 || STATE(h) == BUSY -> break
           :: STATE(h) == COMMITTED -> runRecords++; e++
           :: STATE(h) == DISCARDED -> e++
           fi
        od;
        if
        :: e == start -> break                          /* nothing new */
        :: else -> skip
        fi;
#ifdef MUT_NO_FENCE
        if
        :: !consuming -> valid = (seq[s] == n)          /* the re-check, completed before the copy */
        :: else -> skip
        fi;
#endif
        i = start;                                      /* the copy: plain loads, word by word */
        do
        :: i == e -> break
        :: else -> bh[i] = hdr[AT(s, i)]; bp[i] = pay[AT(s, i)]; i++
        od;
        if
        :: consuming ->
           atomic { from = n * K + start; to = (e >= K -> (n + 1) * K : n * K + e) };
#ifndef MUT_NO_TAIL_CAS
           atomic { valid = (tail == from); tail = (valid -> to : tail) }  /* CAS(L_TAIL_POS8, from, to) */
#else
           atomic { valid = 1; tail = to }
#endif
#ifndef MUT_NO_FENCE
        :: else -> valid = (seq[s] == n)                /* fence(); pageState(): Atomics.load */
#else
        :: else -> skip
#endif
        fi;
        if
        :: !valid -> lapped(); if :: lok -> skip :: else -> break fi
        :: valid ->
           atomic {
             rseq = rseq + runRecords; runPage = n; bPos = start; bEnd = e;
             if
             :: e >= K -> n++; off = 0
             :: else -> off = e
             fi;
             got = 1
           };
           break
        fi
     fi
  od;
  atomic { s = 0; where = 0; start = 0; e = 0; limit = 0; h = 0; i = 0; from = 0; to = 0; valid = 0; scanning = 0 }
}

/* head(): hand out the validated run (from the private copy only). */
inline deliver() {
  d_step {
    i = bPos; cnt = 0;
    do
    :: i == bEnd -> break
    :: else ->
       if
       :: STATE(bh[i]) == COMMITTED ->
          assert(ID(bh[i]) == bp[i] && bp[i] != 0);     /* header and payload of one record */
          assert(rec_committed[bp[i]]);                 /* a committed record */
          assert(rec_page[bp[i]] == runPage && rec_off[bp[i]] == i);  /* from where it was written */
          assert(bp[i] > last);                         /* in lane order, never twice */
          last = bp[i]; handed++; cnt++
       :: else -> skip
       fi;
       i++
    od;
    assert(cnt == runRecords);                          /* seq moved by what was handed out */
    i = 0; cnt = 0; bPos = 0; bEnd = 0; runRecords = 0
  }
}

proctype reader(bit consuming) {
  short where, j;
  byte firstN, firstSeq, n, rseq, lost, before, wasN, crec, t, from, to, q, oldest, p, firstOff, off, start, e, limit, i, h, runRecords, runPage, bPos, bEnd, handed, last, cnt, s, wasOff;
  byte bh[K], bp[K];
  byte wrecords, wc, wplain, wo;
  bit exact, known, got, done, valid, lok, pok, cok, held, ok, wbusy, wthrow, scanning;

  start_at_tail();                                      /* the constructor: no retry, seq may be unknown */
  atomic { exact = known; firstN = n; firstOff = off; firstSeq = rseq };
  do
  :: done = writer_done;
     fill();
     if
     :: got -> deliver()
     :: !got && done -> break
     :: else -> skip
     fi
  od;
  skip;                                                 /* (a d_step may not be a jump target) */
  /* exact: where it started + handed out + lost = committed, and where it started is right */
  d_step {
    assert(!exact || firstSeq + handed + lost == gcommitted);
    i = 1; cnt = 0;
    do
    :: i > NREC -> break
    :: else ->
       if
       :: rec_committed[i] && (rec_page[i] < firstN || (rec_page[i] == firstN && rec_off[i] < firstOff)) -> cnt++
       :: else -> skip
       fi;
       i++
    od;
    assert(!exact || cnt == firstSeq)
  }
}

init {
  atomic {
    seq[0] = 0; seq[1] = 1 - P; cumready[0] = 1;        /* FORMAT.md 6.3: slot s holds page s - P */
    OP(OP_R, 1); OP(OP_R, 2);                           /* two open on page 0 */
    OP(OP_R, 3);                                        /* nested: page 0 is full, closes with 1 and 2 open */
    OP(OP_W, 3); OP(OP_X, 3);                           /* the inner one first, committed or discarded */
    OP(OP_W, 1); OP(OP_C, 1);                           /* then the outer ones, out of order */
    OP(OP_W, 2); OP(OP_C, 2);
    OP(OP_R, 4); WRITE_COMMIT(4);
    OP(OP_R, 5); WRITE_COMMIT(5);                       /* recycles page 0 (walked: written before resume) */
#if NREC >= 7
    OP(OP_R, 6); WRITE_COMMIT(6);
    OP(OP_R, 7); WRITE_COMMIT(7);                       /* recycles page 1 (counted by the owner) */
#endif
    run writer();
#if READERS & 1
    run reader(1);
#endif
#if READERS & 2
    run reader(0);
#endif
  }
}

/*
 * A shared (multi-producer) lane (src/writer.ts#SharedLaneWriter, src/pages.ts#preparePage,
 * src/reader.ts#LaneCursor; DESIGN.md sections 5, 6, 7; FORMAT.md 8.2, 9.4, 10.2, 10.3).
 *
 * Two producers claim records on one lane by compare-exchange of the first empty header word;
 * either one closes a page with padding and prepares the next page (and the one after it:
 * prepare-ahead), recycling pages in overwrite mode (default) or dropping records when the lane
 * is full (-DDISCARD) and reporting the drops in-band with a LOST record inside the next claim.
 * A consumer reads the lane meanwhile. Checked:
 *  - no double claim: two accepted claims never overlap, and a producer's claim word is still its
 *    own BUSY word when it commits;
 *  - the consumer hands out only committed records, each whole, from where they were claimed, in
 *    lane order, never twice, and never reports corruption on this healthy lane;
 *  - counts are exact: when the producers are done and the consumer has caught up, records handed
 *    out + records reported overrun = records committed (discard mode: nothing is overrun), and
 *    drops reported in-band + drops not yet reported = drops (in overwrite mode a LOST record may
 *    itself be overwritten: reported <= written, written + pending = drops).
 *
 * Abstraction: P = 2 slots of K = 3 positions (8-byte units); producer 1 writes records of one
 * position, producer 2 records of two positions, so pages close with padding; every position has a
 * header word and a payload word, and a record's payload words (its own payload word, and the words
 * of the positions it covers) hold its id, so a claim or padding that lands inside another record
 * is visible. A header is state, length and info (a producer id while BUSY; a record id, or LOST /
 * PADDING, when committed). Page counters and positions are unbounded integers (no 32-bit wrap).
 * Each statement touching shared memory is one step; local computations are folded into the
 * neighbouring step. No TIME records (no clock), no user discards, one open reservation per
 * producer. The code's retry bounds (64 reserve attempts, 100 head re-reads, P + 8 pages per fill,
 * 256 lapped attempts) are unbounded retries here. Payload words are never 0 here: the known
 * window of DESIGN.md section 5 (a lap-behind claim landing on a zero payload word) is outside it.
 *
 * Mutations (each must make spin find a counterexample):
 *   -DMUT_NO_POSTCHECK    no page re-check after the claim compare-exchange
 *   -DMUT_PLAIN_CLAIM     the claim is a load then a plain store instead of a compare-exchange
 *   -DMUT_SPAN_ORDER      a LOST span publishes its first header before the data header
 *   -DMUT_WALK_NO_BUSY    a preparer recycles a page that still has a BUSY record
 * (The consumer's tail compare-exchange is the own-lane model's: same reader code.)
 * Variants: -DDISCARD; -DRECS1=n -DRECS2=m records per producer (default 2 and 1); -DNO_EARLIER_DROP
 * (producer 1 starts with no drop to report; by default it has one, so its first claim is a span).
 */

#ifndef RECS1
#define RECS1 2                  /* records of producer 1 (one position each) */
#endif
#ifndef RECS2
#define RECS2 1                  /* records of producer 2 (two positions each) */
#endif
#define NREC (RECS1 + RECS2)
#define P 2
#define K 3

#define BUSY 1
#define COMMITTED 2
#define DISCARDED 3
#define LOSTK 14                 /* info of a LOST record */
#define PADK 15                  /* info of a PADDING record */
#define WORD(state, len, x) ((state) * 64 + (len) * 16 + (x))
#define STATE(w) ((w) / 64)
#define LEN(w) (((w) / 16) % 4)
#define INFO(w) ((w) % 16)
#define DATA(w) (STATE(w) == COMMITTED && INFO(w) < LOSTK)
#define SLOT(n) ((n) % P)
#define AT(s, i) ((s) * K + (i))

/* Shared memory. */
short seq[P];                    /* PG_SEQ */
byte cum[P];                     /* PG_RECORDS_BEFORE */
bit cumready[P];                 /* PG_CUM_READY */
byte hdr[P * K];                 /* word0 of each position */
byte pay[P * K];                 /* the next word */
byte tail;                       /* L_TAIL_POS8 as page * K + offset */
byte head;                       /* L_HEAD_PAGE */

/* Ghosts. */
byte claims;                     /* claim compare-exchanges won so far: a record's id */
byte claimed[P * K];             /* accepted claim covering a position (its id), 0 if none */
bit rec_committed[NREC * 2 + 2];
byte rec_page[NREC * 2 + 2];
byte rec_off[NREC * 2 + 2];
byte rec_len[NREC * 2 + 2];
byte gcommitted;                 /* data records committed */
byte dropped;                    /* drops counted by the producers */
byte lost_written;               /* counts carried by committed LOST records */
byte pending[3];                 /* drops a producer has not reported yet */
byte producers_done;

/* walkPage() of a shared lane up to `wto`: acquire loads to the first empty header. */
inline walk_page(ws, wto) {
  wrecords = 0; wbusy = 0; wthrow = 0; wo = 0;
  do
  :: wo >= wto -> break
  :: else ->
     h = hdr[AT(ws, wo)];                               /* Atomics.load(word0) */
     if
     :: h == 0 -> break
     :: h != 0 && (STATE(h) == 0 || wo + LEN(h) > K || LEN(h) == 0) -> wthrow = 1; break
     :: else ->
        atomic {
          wbusy = (STATE(h) == BUSY -> 1 : wbusy);
          wrecords = (DATA(h) -> wrecords + 1 : wrecords);
          wo = wo + LEN(h)
        }
     fi
  od;
  atomic { wo = 0; h = 0 }
}

inline walk_held_page(hs, hn, hto) {
  walk_page(hs, hto);
  if
  :: wthrow -> assert(seq[hs] != hn); held = 0          /* a throw on a held page: badHeader */
  :: else -> held = (seq[hs] == hn)                     /* fence(); pageHolds() */
  fi
}

/* ---------------------------------------------------------------- producers (SharedLaneWriter) */

/* preparePage(pn): r = 0 ready, 1 in progress, 2 full, 3 stalled, 4 stale. */
inline prepare(pn) {
  atomic { ps = SLOT(pn); old = pn - P };
  if
  :: seq[ps] == pn -> r = 0                             /* pageState(): Atomics.load */
  :: else ->
     lo = seq[ps];                                      /* Atomics.load(PG_SEQ) */
     if
     :: lo == old + 1 -> r = 1
     :: lo != old -> r = 4
     :: else ->
        r = 0;
        if
        :: old >= 0 ->
           walk_held_page(ps, old, K);
           if
           :: !held -> r = 4
#ifndef MUT_WALK_NO_BUSY
           :: held && wbusy -> r = 3
#endif
           :: else -> skip
           fi;
#ifdef DISCARD
           if
           :: r == 0 && tail < (old + 1) * K -> r = 2   /* Atomics.load(L_TAIL_POS8): not consumed */
           :: else -> skip
           fi;
#endif
           skip
        :: else -> skip
        fi;
        if
        :: r == 0 ->
           atomic { if :: seq[ps] == old -> seq[ps] = old + 1 :: else -> r = 1 fi }  /* CAS: the claim */
        :: else -> skip
        fi;
        if
        :: r == 0 && old >= 0 ->
           if
           :: cumready[SLOT(old)] == 1 ->               /* storeCumulatives() */
              cum[SLOT(old + 1)] = cum[SLOT(old)] + wrecords;
              cumready[SLOT(old + 1)] = 1
           :: else -> skip
           fi;
#ifndef DISCARD
           target = (old + 1) * K;                      /* pushTail() */
           do
           :: t = tail;
              if
              :: t >= target -> break
              :: else -> atomic { ok = (tail == t); tail = (ok -> target : tail) };
                         if :: ok -> break :: else -> skip fi
              fi
           od;
#endif
           skip
        :: else -> skip
        fi;
        if
        :: r == 0 ->                                    /* finishPrepare() */
           i = 0;
           do
           :: i == K -> break
           :: else -> atomic { hdr[AT(ps, i)] = 0; claimed[AT(ps, i)] = 0 }; pay[AT(ps, i)] = 0; i++
           od;
           cum[ps] = 0;
           cumready[ps] = 0;
           seq[ps] = pn                                 /* Atomics.store(PG_SEQ): publish */
        :: else -> skip
        fi
     fi
  fi;
  atomic { ps = 0; old = 0; lo = 0; t = 0; target = 0; i = 0; ok = 0; held = 0; wrecords = 0; wbusy = 0; wthrow = 0 }
}

/* #sync(): re-read the head page (retried until the slot holds it). */
inline sync() {
  do
  :: hn = head;                                         /* Atomics.load(L_HEAD_PAGE) */
     if
     :: seq[SLOT(hn)] == hn -> atomic { pageNo = hn; scan = 0; hn = 0 }; break  /* pageHolds() */
     :: else -> skip
     fi
  od
}

proctype producer(byte me; byte size; byte count) {
  short old, lo;
  byte pageNo, scan, off, need, written, first, at, id, pn, ps, r, i, t, target, hn, before, h, claim;
  byte wrecords, wo;
  bit wbusy, wthrow, held, ok, fail, withLost;

  do
  :: written == count -> break
  :: else ->
     /* reserve(): attempts until a claim is accepted, or a drop */
     do
     :: atomic { off = scan; fail = 0 };
        do                                              /* walk to the first empty header */
        :: off >= K -> break
        :: else ->
           h = hdr[AT(SLOT(pageNo), off)];              /* Atomics.load(word0) */
           if
           :: h == 0 -> break
           :: h != 0 && (STATE(h) == 0 || LEN(h) == 0 || off + LEN(h) > K) -> fail = 1; break  /* stale view */
           :: else -> off = off + LEN(h)
           fi
        od;
        h = 0;
        if
        :: fail -> sync()
        :: else ->
           atomic { withLost = (pending[me] > 0); need = size + withLost };
           if
           :: off + need > K ->
              /* the page is full for us: close it with padding, move to the next page */
              if
              :: off < K ->
                 if
                 :: seq[SLOT(pageNo)] != pageNo -> sync(); goto retry   /* pageHolds() */
                 :: else -> skip
                 fi;
                 atomic {                               /* CAS(word0, 0, PADDING): claims the rest */
                   ok = (hdr[AT(SLOT(pageNo), off)] == 0);
                   hdr[AT(SLOT(pageNo), off)] = (ok -> WORD(COMMITTED, K - off, PADK) : hdr[AT(SLOT(pageNo), off)])
                 };
                 if
                 :: !ok -> scan = off; goto retry
                 :: else -> skip
                 fi
              :: else -> skip
              fi;
              /* #advance() */
              pn = pageNo + 1;
              prepare(pn);
              if
              :: r != 0 ->
                 before = pageNo; sync();
                 if
                 :: pageNo == before -> goto drop        /* the lane did not move: drop the record */
                 :: else -> goto retry
                 fi
              :: else -> skip
              fi;
              atomic { ok = (head == pageNo); head = (ok -> pn : head) };  /* CAS(L_HEAD_PAGE) */
              atomic { pageNo = pn; scan = 0 };
              pn = pageNo + 1;
              prepare(pn);                              /* prepare-ahead, result ignored */
              goto retry
           :: else -> skip
           fi;
           /* the claim: re-check the page, compare-exchange the first empty word, re-check again */
           if
           :: seq[SLOT(pageNo)] != pageNo -> sync(); goto retry
           :: else -> skip
           fi;
#ifndef MUT_PLAIN_CLAIM
           atomic {
             ok = (hdr[AT(SLOT(pageNo), off)] == 0);
             if
             :: ok -> hdr[AT(SLOT(pageNo), off)] = WORD(BUSY, need, me); claims++; claim = claims
             :: else -> skip
             fi
           };
#else
           ok = (hdr[AT(SLOT(pageNo), off)] == 0);
           if
           :: ok -> atomic { hdr[AT(SLOT(pageNo), off)] = WORD(BUSY, need, me); claims++; claim = claims }
           :: else -> skip
           fi;
#endif
           if
           :: !ok -> scan = off; goto retry
           :: else -> skip
           fi;
#ifndef MUT_NO_POSTCHECK
           if
           :: seq[SLOT(pageNo)] != pageNo ->               /* recycled under us: discard the claim */
              atomic {
                if
                :: hdr[AT(SLOT(pageNo), off)] == WORD(BUSY, need, me) ->
                   hdr[AT(SLOT(pageNo), off)] = WORD(DISCARDED, need, me)
                :: else -> skip
                fi
              };
              sync(); goto retry
           :: else -> skip
           fi;
#endif
           /* accepted: no other accepted claim covers these positions (ghost) */
           d_step {
             first = AT(SLOT(pageNo), off);
             i = 0;
             do
             :: i == need -> break
             :: else -> assert(claimed[first + i] == 0); claimed[first + i] = claim; i++
             od;
             i = 0;
             scan = off + need;
             at = first + withLost;
             id = claim;
             rec_page[id] = pageNo; rec_off[id] = off + withLost; rec_len[id] = size
           };
           if
           :: withLost -> atomic { pay[first] = pending[me]; pending[me] = 0 }  /* the LOST count (plain) */
           :: else -> skip
           fi;
           break
        fi;
retry:  skip
     od;
     /* the caller writes the payload: every payload word of the record holds its id */
     pay[at] = id;
     if
     :: size == 2 -> hdr[at + 1] = id
     :: else -> skip
     fi;
     /* commit(): our claim word must still be ours */
     assert(hdr[first] == WORD(BUSY, need, me));
     if
     :: first == at ->
        atomic { hdr[at] = WORD(COMMITTED, size, id); rec_committed[id] = 1; gcommitted++ }
     :: else ->
#ifndef MUT_SPAN_ORDER
        hdr[at] = WORD(COMMITTED, size, id);            /* the inner header (plain) */
        atomic { hdr[first] = WORD(COMMITTED, 1, LOSTK);   /* Atomics.store: the span, LOST first */
                 rec_committed[id] = 1; gcommitted++; lost_written = lost_written + pay[first] }
#else
        atomic { hdr[first] = WORD(COMMITTED, 1, LOSTK); lost_written = lost_written + pay[first] };
        atomic { hdr[at] = WORD(COMMITTED, size, id); rec_committed[id] = 1; gcommitted++ }
#endif
     fi;
     goto next;
drop:
     atomic { pending[me]++; dropped++ };               /* countDrop() */
next:
     atomic { written++; first = 0; at = 0; id = 0; need = 0; off = 0; claim = 0; withLost = 0; ok = 0; before = 0; r = 0; pn = 0 }
  od;
  producers_done++
}

/* ---------------------------------------------------------------- the consumer (LaneCursor) */

inline cumulative(m) {
  j = m;
  oldest = (m - P > 0 -> m - P : 0);
  do
  :: j < oldest -> break
  :: else ->
     if
     :: seq[SLOT(j)] == j ->
        if
        :: cumready[SLOT(j)] == 1 -> break
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
        held = (seq[SLOT(0)] == 0);
        if
        :: held -> crec = cum[SLOT(0)]
        :: else -> crec = 0
        fi
     :: else -> crec = cum[SLOT(j)]
     fi;
     p = j;
     do
     :: p >= m -> break
     :: else ->
        if
        :: seq[SLOT(p)] != p -> cok = 0; break
        :: else -> skip
        fi;
        walk_held_page(SLOT(p), p, K);
        if
        :: !held -> cok = 0; break
        :: else -> crec = crec + wrecords; p++
        fi
     od;
     if
     :: cok && j > 0 -> cok = (seq[SLOT(j)] == j)
     :: else -> skip
     fi
  :: else -> skip
  fi;
  atomic { p = 0; oldest = 0; held = 0 }
}

/* #startAtTail() for the consumer: the tail, and seq there (recordsBefore). */
inline start_at_tail() {
  t = tail;                                             /* Atomics.load(L_TAIL_POS8) */
  atomic { n = t / K; off = t % K };
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
  atomic { crec = 0; j = 0; t = 0; cok = 0; held = 0; wrecords = 0 }
}

/* #passRecycledTailPage() */
inline pass_recycled() {
  pok = 0;
  atomic { q = n; s = SLOT(q) };
  if
  :: seq[s] - q <= 0 -> skip
  :: else ->
     t = tail;
     if
     :: t < q * K || t >= (q + 1) * K -> skip
     :: else ->
        if
        :: cumready[s] != 1 -> skip
        :: else ->
           crec = cum[s];
           walk_page(s, K);
           if
           :: wthrow -> skip
           :: else ->
              if
              :: tail != t -> skip                      /* fence(); pushed meanwhile */
              :: else ->
                 atomic { ok = (tail == t); tail = (ok -> (q + 1) * K : tail) };  /* CAS */
                 if
                 :: ok -> atomic { n = q + 1; off = 0; rseq = crec + wrecords; known = 1; pok = 1 }
                 :: else -> skip
                 fi
              fi
           fi
        fi
     fi
  fi;
  atomic { q = 0; t = 0; crec = 0; ok = 0; wrecords = 0; wbusy = 0; wthrow = 0 }
}

/* #lapped() */
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
     atomic { n = wasN; off = wasOff; rseq = before; lok = 0 }
  :: else ->
     atomic { assert(rseq >= before); overrun = overrun + (rseq - before); bEnd = 0; lok = 1 }
  fi;
  atomic { before = 0; wasN = 0; wasOff = 0; pok = 0 }
}

/* #fill() of a shared lane: acquire loads of each word0 up to the first empty or BUSY header. */
inline fill() {
  got = 0;
  do
  :: s = SLOT(n);
     where = seq[s] - n;                                /* pageState() */
     if
     :: where < 0 -> break
     :: where > 0 -> lapped(); if :: lok -> skip :: else -> break fi
     :: where == 0 ->
        atomic { start = off; e = off; runRecords = 0 };
        do
        :: e >= K -> break
        :: else ->
           h = hdr[AT(s, e)];                           /* Atomics.load(word0) */
           if
           :: h == 0 || STATE(h) == BUSY -> break
           :: h != 0 && (STATE(h) == 0 || LEN(h) == 0 || e + LEN(h) > K) ->
              assert(seq[s] != n);                      /* else badHeader on a healthy lane */
              break
           :: else -> atomic { runRecords = (DATA(h) -> runRecords + 1 : runRecords); e = e + LEN(h) }
           fi
        od;
        if
        :: e == start -> break
        :: else -> skip
        fi;
        i = start;                                      /* the copy: plain loads */
        do
        :: i == e -> break
        :: else -> bh[i] = hdr[AT(s, i)]; bp[i] = pay[AT(s, i)]; i++
        od;
        atomic { from = n * K + start; to = (e >= K -> (n + 1) * K : n * K + e) };
        atomic { valid = (tail == from); tail = (valid -> to : tail) }  /* CAS(L_TAIL_POS8, from, to) */
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
  atomic { s = 0; where = 0; start = 0; e = 0; h = 0; i = 0; from = 0; to = 0; valid = 0 }
}

/* head(): decode the validated copy. */
inline deliver() {
  d_step {
    i = bPos; cnt = 0;
    do
    :: i >= bEnd -> break
    :: else ->
       if
       :: DATA(bh[i]) ->
          id = INFO(bh[i]);
          assert(id != 0 && bp[i] == id);               /* header and payload of one record */
          assert(LEN(bh[i]) == 1 || bh[i + 1] == id);   /* all of it */
          assert(rec_committed[id] && rec_page[id] == runPage && rec_off[id] == i && rec_len[id] == LEN(bh[i]));
          assert(id > last);                            /* lane order, never twice */
          last = id; handed++; cnt++
       :: STATE(bh[i]) == COMMITTED && INFO(bh[i]) == LOSTK -> reported = reported + bp[i]
       :: else -> skip                                  /* padding, discarded */
       fi;
       i = i + LEN(bh[i])
    od;
    assert(cnt == runRecords);
    i = 0; cnt = 0; id = 0; bPos = 0; bEnd = 0; runRecords = 0
  }
}

proctype consumer() {
  short where, j;
  byte n, rseq, overrun, reported, before, wasN, crec, t, from, to, q, oldest, p, off, start, e, i, h;
  byte runRecords, runPage, bPos, bEnd, handed, last, cnt, s, wasOff, id;
  byte bh[K], bp[K];
  byte wrecords, wo;
  bit known, got, done, valid, lok, pok, cok, held, ok, wbusy, wthrow;

  /* created before the producers start: at page 0, seq 0 */
  do
  :: done = (producers_done == 2);
     fill();
     if
     :: got -> deliver()
     :: !got && done -> break
     :: else -> skip
     fi
  od;
  skip;
  d_step {
    assert(handed + overrun == gcommitted);             /* exact */
#ifdef DISCARD
    assert(overrun == 0 && reported == lost_written);   /* discard mode: nothing overwritten */
#endif
    assert(reported <= lost_written && lost_written + pending[1] + pending[2] == dropped)
  }
}

init {
  atomic {
    seq[0] = 0; seq[1] = 1 - P; cumready[0] = 1;
#ifndef NO_EARLIER_DROP
    pending[1] = 1; dropped = 1;                        /* producer 1 dropped a record before: its first claim reports it */
#endif
    run producer(1, 1, RECS1);
    run producer(2, 2, RECS2);
    run consumer()
  }
}

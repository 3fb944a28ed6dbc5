/**
 * What the torture's and the soak's main thread does besides consuming: non-consuming iterators
 * that follow the writers (each pass a fresh iterator, so that starting at the tail of a live ring
 * is exercised again and again), snapshots (`ring.snapshot()`, read back with `openTrace`), and
 * resizes (`resizeRing()` to twice or to the same number of pages per lane, taken while the writers
 * write, the copy then read with an iterator: its records checked, and exactly as many as it says
 * it copied and kept).
 * Every record they see goes through a {@link RecordChecker} of its own (role `iterator` or
 * `snapshot`): no torn, stale, discarded or duplicated record, order per writer, losses never more
 * than the gaps. A snapshot must also read back without a warning, with exactly the committed
 * records the snapshot says it copied.
 *
 * Once the writers have stopped, {@link SideReaders.quiescentCheck} takes one more snapshot and one
 * more iterator pass of the same, now still, ring: they must hold the same records.
 */
import { bytesSource, openTrace, resizeRing, type RingBuffer, type RingReader } from "../../src/index.js";
import type { RecordChecker, RecordLike } from "./checker.js";
import { fnv1a } from "./protocol.js";

export interface SideOptions {
  /** Iterators following the writers (0: none). */
  iterators: number;
  /** A new iterator (and checker) after this many ms. */
  iteratorPassMs: number;
  /** Take a snapshot this often (0: never). */
  snapshotEveryMs: number;
  /** Resize (copy) the ring this often (0: never). */
  resizeEveryMs: number;
}

export interface SideCounts {
  iteratorPasses: number;
  iteratorRecords: number;
  iteratorLostMarkers: number;
  iteratorLost: number;
  /** Iterator lost markers whose count could not be known (NaN): the tail's page was being recycled at every look. */
  iteratorLostUnknown: number;
  snapshots: number;
  snapshotPages: number;
  snapshotRecords: number;
  /** Records reserved but not committed when their page was copied (skipped by readers). */
  snapshotUncommitted: number;
  /** Records lost to overwrites while a snapshot copied (LOST chunks). */
  snapshotLost: number;
  /** Records compared by the quiescent snapshot-versus-iterator check. */
  quiescentRecords: number;
  resizes: number;
  /** Records read back from the resized copies. */
  resizeRecords: number;
}

export function emptySideCounts(): SideCounts {
  return {
    iteratorPasses: 0,
    iteratorRecords: 0,
    iteratorLostMarkers: 0,
    iteratorLost: 0,
    iteratorLostUnknown: 0,
    snapshots: 0,
    snapshotPages: 0,
    snapshotRecords: 0,
    snapshotUncommitted: 0,
    snapshotLost: 0,
    quiescentRecords: 0,
    resizes: 0,
    resizeRecords: 0,
  };
}

interface Pass {
  reader: RingReader;
  checker: RecordChecker;
  started: number;
}

/** A record as one comparable line: kind, lane, type, time, loss, and a hash of the payload. */
function row(r: RecordLike): string {
  return r.kind === "lost"
    ? `lost|${r.lane}|${r.timestamp}|${r.lost}`
    : `data|${r.lane}|${r.type}|${r.timestamp}|${r.length}|${fnv1a(r.bytes, r.offset, r.offset + r.length)}`;
}

export class SideReaders {
  readonly counts = emptySideCounts();
  readonly #ring: RingBuffer;
  readonly #o: SideOptions;
  readonly #checker: (role: "iterator" | "snapshot" | "resize") => RecordChecker;
  readonly #fail: (check: string, message: string) => void;
  readonly #passes: Pass[] = [];
  #lastSnapshot = performance.now();
  #lastResize = performance.now();

  constructor(ring: RingBuffer, o: SideOptions, checker: (role: "iterator" | "snapshot" | "resize") => RecordChecker, fail: (check: string, message: string) => void) {
    this.#ring = ring;
    this.#o = o;
    this.#checker = checker;
    this.#fail = fail;
  }

  #newPass(): Pass {
    this.counts.iteratorPasses++;
    return { reader: this.#ring.iterator(), checker: this.#checker("iterator"), started: performance.now() };
  }

  #endPass(p: Pass): void {
    p.reader.close();
    this.counts.iteratorRecords += p.checker.data;
    this.counts.iteratorLostMarkers += p.checker.lostMarkers;
    this.counts.iteratorLost += p.checker.lost;
    this.counts.iteratorLostUnknown += p.checker.lostUnknown;
  }

  /** One step: advance each iterator (bounded), renew the old ones, take a snapshot when due. */
  tick(): void {
    const now = performance.now();
    while (this.#passes.length < this.#o.iterators) this.#passes.push(this.#newPass());
    for (let i = 0; i < this.#passes.length; i++) {
      const p = this.#passes[i] as Pass;
      try {
        p.reader.read((r) => p.checker.visit(r), 4096);
      } catch (e) {
        this.#fail("iterator/error", `iterator.read() threw: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      }
      if (now - p.started > this.#o.iteratorPassMs) {
        this.#endPass(p);
        this.#passes[i] = this.#newPass();
      }
    }
    if (this.#o.snapshotEveryMs > 0 && now - this.#lastSnapshot >= this.#o.snapshotEveryMs) {
      this.#lastSnapshot = now;
      this.snapshot();
    }
    if (this.#o.resizeEveryMs > 0 && now - this.#lastResize >= this.#o.resizeEveryMs) {
      this.#lastResize = now;
      this.resize();
    }
  }

  /** Copy the ring into one with twice (or, every other time, as many) pages per lane and check the copy. */
  resize(): void {
    const pages = this.#ring.geometry.lanePages * (this.counts.resizes % 2 === 0 ? 2 : 1);
    try {
      const { ring: copy, copied, didNotFit } = resizeRing(this.#ring, { pagesPerLane: pages });
      const checker = this.#checker("resize");
      const it = copy.iterator();
      try {
        while (it.read((r) => checker.visit(r), 1 << 16) > 0);
      } finally {
        it.close();
      }
      // The copy holds what it took, less (overwrite mode) what did not fit and was overwritten in it.
      const kept = copy.mode === "overwrite" ? copied - didNotFit : copied;
      if (checker.data !== kept) this.#fail("resize/count", `a resize says it kept ${kept} records (copied ${copied}, did not fit ${didNotFit}) but ${checker.data} read back`);
      const s = copy.stats().total;
      if (s.written !== copied) this.#fail("resize/count", `the resized ring counts ${s.written} written, the resize copied ${copied}`);
      this.counts.resizes++;
      this.counts.resizeRecords += checker.data;
    } catch (e) {
      this.#fail("resize/error", `resizeRing() failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    }
  }

  /** Take a snapshot and check every record in it; returns its rows. */
  snapshot(): string[] {
    const info = { pages: 0, records: 0, lost: 0 };
    const rows: string[] = [];
    try {
      const image = this.#ring.snapshot(info);
      const trace = openTrace(bytesSource(image));
      const checker = this.#checker("snapshot");
      trace.read((r) => {
        checker.visit(r);
        rows.push(row(r));
      });
      const st = trace.stats();
      for (const w of trace.warnings) this.#fail("snapshot/trace", `a snapshot reads back with a warning: ${w.message} (byte ${w.byteOffset})`);
      // Records that were reserved when their page was walked may be committed by the time it is
      // copied: the image then holds them too (never fewer than the walk counted).
      if (checker.data < info.records) {
        this.#fail("snapshot/count", `the snapshot says it copied ${info.records} committed records but ${checker.data} read back`);
      }
      this.counts.snapshots++;
      this.counts.snapshotPages += info.pages;
      this.counts.snapshotRecords += checker.data;
      this.counts.snapshotUncommitted += st.uncommitted;
      this.counts.snapshotLost += info.lost;
    } catch (e) {
      this.#fail("snapshot/error", `snapshot failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    }
    return rows;
  }

  /** With the writers stopped: a snapshot and an iterator pass of the same still ring hold the same records. */
  quiescentCheck(): void {
    const snap = this.snapshot();
    const it = this.#ring.iterator();
    const rows: string[] = [];
    try {
      it.read((r) => rows.push(row(r)));
    } finally {
      it.close();
    }
    this.counts.quiescentRecords += rows.length;
    if (rows.length !== snap.length || rows.some((r, i) => r !== snap[i])) {
      const i = rows.findIndex((r, k) => r !== snap[k]);
      this.#fail(
        "snapshot/quiescent",
        `with the writers stopped, a snapshot holds ${snap.length} records and an iterator ${rows.length}; first difference at ${i}: ${snap[i]} vs ${rows[i]}`,
      );
    }
  }

  close(): void {
    for (const p of this.#passes) this.#endPass(p);
    this.#passes.length = 0;
  }
}

/**
 * Fault: the disk fills while pages are handed off to a file. What must hold (docs/RELIABILITY.md):
 * the pipe throws the file system's error and takes no more pages while it cannot write (the
 * writers never wait: the lanes fill and drop in discard mode, overwrite in overwrite mode, all
 * counted); the bytes of a failed write are kept and go out first when writing works again, so
 * nothing committed and taken from the ring is lost or written twice; the file stays a readable
 * trace up to the failure (every whole chunk, then at most one warning for the cut chunk).
 *
 * Simulated three ways: /dev/full (ENOSPC on every write), a sink that fails on demand, and a child
 * process under RLIMIT_FSIZE (`prlimit`; EFBIG past the limit, as a full disk gives ENOSPC) whose
 * limit is raised while it runs.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { closeSync, existsSync, mkdtempSync, openSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { bytesSource, createRing, openTrace, type RingRecord } from "../../src/index.js";
import { TracePipe, openTraceFile, pipeToFile } from "../../src/node/index.js";
import { RecordChecker, type RecordSnapshot } from "../stress/checker.js";
import { PAYLOAD_HEADER, payloadChecksum, typeFor } from "../stress/protocol.js";
import type { DiskFullReport } from "./fixtures/disk-full-child.js";

test("/dev/full: a pipe whose first write fails throws ENOSPC and releases the lanes and the file it opened", { skip: !existsSync("/dev/full") && "no /dev/full" }, () => {
  const ring = createRing({ lanes: 1, sharedLanes: 1, pageSize: 256, pagesPerLane: 4, metadataBytes: 0 });
  assert.throws(() => pipeToFile(ring, "/dev/full"), { code: "ENOSPC" });
  const c = ring.consumer(); // the lanes are free again
  c.close();
  const fd = openSync("/dev/full", "w");
  try {
    assert.throws(() => pipeToFile(ring, fd), { code: "ENOSPC" });
  } finally {
    closeSync(fd); // a descriptor the caller passed stays the caller's
  }
  ring.consumer().close();
});

/** A record in the file as (writerId:seq), checked for its checksum. */
function key(r: RingRecord): string {
  const dv = new DataView(r.bytes.buffer, r.bytes.byteOffset + r.offset, r.length);
  assert.equal(payloadChecksum(r.bytes, r.offset, r.length), dv.getUint32(12, true), "checksum");
  return `${dv.getUint32(0, true)}:${dv.getUint32(4, true)}`;
}

for (const mode of ["discard", "overwrite"] as const) {
  test(`a sink that fails now and then (${mode} mode): every record taken from the ring reaches it once, in order`, () => {
    const ring = createRing({ lanes: 1, sharedLanes: 1, pageSize: 256, pagesPerLane: 4, mode, clock: "counter", metadataBytes: 0 });
    const out: Uint8Array[] = [];
    let failing = false;
    let failures = 0;
    const pipe = new TracePipe(ring, (parts) => {
      if (failing) {
        failures++;
        throw Object.assign(new Error("no space left on device"), { code: "ENOSPC" });
      }
      for (const p of parts) out.push(p.slice());
    });
    const ws = [ring.writer({ lane: 0 }), ring.writer({ lane: "shared" })];
    const written: string[][] = [[], []];
    let seq = 0;
    for (let step = 0; step < 400; step++) {
      failing = step % 7 >= 4; // fails 3 steps out of 7
      for (let k = 0; k < 3; k++) {
        for (let wi = 0; wi < 2; wi++) {
          const w = ws[wi] as (typeof ws)[number];
          const len = PAYLOAD_HEADER + (seq % 40);
          const at = w.reserve(typeFor(wi, seq), len);
          if (at >= 0) {
            w.view.setUint32(at, wi, true);
            w.view.setUint32(at + 4, seq, true);
            w.view.setUint32(at + 8, len, true);
            w.view.setUint32(at + 12, payloadChecksum(w.bytes, at, len), true);
            w.commit(at);
            (written[wi] as string[]).push(`${wi}:${seq}`);
          }
          seq++;
        }
      }
      try {
        if (step % 3 === 0) pipe.flush();
        else pipe.pump();
      } catch (e) {
        assert.equal((e as { code?: string }).code, "ENOSPC");
      }
    }
    failing = false;
    pipe.close();
    assert.ok(failures > 50, `the sink failed ${failures} times`);
    let n = 0;
    for (const p of out) n += p.length;
    const bytes = new Uint8Array(n);
    n = 0;
    for (const p of out) {
      bytes.set(p, n);
      n += p.length;
    }
    const trace = openTrace(bytesSource(bytes));
    const got: string[][] = [[], []];
    let lost = 0;
    trace.read((r) => {
      if (r.kind === "lost") lost += r.lost;
      else (got[r.lane] as string[]).push(key(r));
    });
    assert.deepEqual(trace.warnings, []);
    assert.ok(trace.intact, "closed cleanly");
    const s = ring.stats().total;
    for (const lane of [0, 1]) {
      const g = got[lane] as string[];
      assert.equal(new Set(g).size, g.length, `lane ${lane}: no record twice`);
      const w = written[lane] as string[];
      // In lane order: what the file holds is what was written, minus what was overwritten.
      let i = 0;
      for (const k of g) {
        while (i < w.length && w[i] !== k) i++;
        assert.ok(i < w.length, `lane ${lane}: ${k} is out of order or was never written`);
        i++;
      }
      if (mode === "discard") assert.deepEqual(g, w, `lane ${lane}: every committed record, in order`);
    }
    assert.equal(got[0]!.length + got[1]!.length, s.read, "every record taken from the ring is in the file");
    assert.equal(s.written, s.read + s.overrun, "written == in the file + overrun");
    if (mode === "overwrite") assert.equal(lost, s.overrun, "the file reports the overrun exactly");
  });
}

function prlimitWorks(): boolean {
  const r = spawnSync("prlimit", ["--version"], { stdio: "ignore" });
  return r.status === 0;
}

for (const mode of ["discard", "overwrite"] as const) {
  test(
    `a full disk while handing off pages (${mode} mode, a child under RLIMIT_FSIZE): nothing committed is lost, the file is readable up to the failure`,
    { skip: !prlimitWorks() && "prlimit (util-linux) is not installed", timeout: 60_000 },
    async () => {
      const dir = mkdtempSync(join(tmpdir(), "urb-disk-full-"));
      const file = join(dir, "handoff.urb");
      try {
        const child = spawn("prlimit", ["--fsize=40000:unlimited", process.execPath, fileURLToPath(new URL("./fixtures/disk-full-child.js", import.meta.url)), mode, file], {
          stdio: ["ignore", "inherit", "inherit", "ipc"],
        });
        const report = await new Promise<DiskFullReport>((resolve, reject) => {
          child.on("message", (m: { type: string; report?: DiskFullReport; message?: string }) => {
            if (m.type === "full") {
              // The disk frees up: raise the child's file size limit while it runs.
              const r = spawnSync("prlimit", ["--pid", String(child.pid), "--fsize=unlimited:unlimited"], { encoding: "utf8" });
              if (r.status !== 0) reject(new Error(`prlimit --pid failed: ${r.stderr}`));
              child.send("raised");
            } else if (m.type === "done") resolve(m.report as DiskFullReport);
            else reject(new Error(`child failed: ${m.message}`));
          });
          child.on("exit", (code) => reject(new Error(`child exited (code ${code}) without a report`)));
        });
        console.log(`disk full (${mode}): ${JSON.stringify(report)}`);
        assert.ok((report.errors["EFBIG"] ?? 0) + (report.errors["ENOSPC"] ?? 0) > 100, `the pipe kept failing while the disk was full: ${JSON.stringify(report.errors)}`);
        const writerLane = Int32Array.from(report.writers.map((w) => w.lane));
        const failures: string[] = [];
        const checker = (): RecordChecker =>
          new RecordChecker({
            role: "consumer",
            nWriters: 2,
            lanes: 2,
            ownLanes: 1,
            overwrite: mode === "overwrite",
            strictSharedTime: true,
            writerLane,
            fail: (check: string, message: string, record?: RecordSnapshot) => failures.push(`[${check}] ${message} ${JSON.stringify(record)}`),
          });

        // The file as it was when the first write failed: every whole chunk reads, at most the cut one is reported.
        const cut = openTraceFile(`${file}.at-failure`);
        const before = checker();
        cut.read((r) => before.visit(r));
        cut.close();
        assert.deepEqual(failures, [], "the file up to the failure holds only intact records, in order");
        assert.ok(cut.warnings.length <= 1 && cut.warnings.every((w) => /[Tt]runcated/.test(w.message)), `at most one warning, for the cut chunk: ${cut.warnings.map((w) => w.message).join("; ")}`);
        assert.ok(before.data > 100, `the file held ${before.data} records when the disk filled`);

        // The finished file: intact, every record once, and the books balance.
        const trace = openTraceFile(file);
        const after = checker();
        trace.read((r) => after.visit(r));
        trace.close();
        assert.deepEqual(failures, []);
        assert.deepEqual(trace.warnings, []);
        assert.ok(trace.intact, "closed cleanly after the disk freed up");
        const s = report.stats;
        assert.equal(after.data, s.read, "every record taken from the ring is in the file (none of the failed writes' bytes were lost or doubled)");
        assert.equal(s.inRing, 0);
        for (const w of report.writers) {
          const t = after.tallies[w.writerId]!;
          assert.equal(w.pending, 0, `writer ${w.writerId} reported its drops in-band`);
          if (mode === "discard") {
            assert.equal(t.seen, w.committed, `writer ${w.writerId}: every committed record is in the file`);
            assert.equal(t.gaps, w.dropped, `writer ${w.writerId}: the gaps are exactly its drops`);
          } else {
            assert.ok(t.seen <= w.committed);
          }
        }
        const dropped = report.writers.reduce((a, w) => a + w.dropped, 0);
        const committed = report.writers.reduce((a, w) => a + w.committed, 0);
        assert.equal(s.dropped, dropped, "stats count every drop");
        if (mode === "discard") {
          assert.ok(dropped > 0, "the lanes filled while the disk was full");
          assert.equal(after.lost, dropped, "the file reports every drop");
          assert.equal(s.overrun, 0);
        } else {
          assert.ok(s.overrun > 0, "the ring overwrote while the disk was full");
          assert.equal(committed, after.data + s.overrun, "committed == in the file + overrun");
          assert.ok(after.lost >= s.overrun && after.lost <= s.overrun + dropped, `lost reported ${after.lost} within [overrun ${s.overrun}, + dropped ${dropped}]`);
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
}

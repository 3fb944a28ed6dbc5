/**
 * A worker of traced-app.ts: runs `jobs` jobs, each a `job_start`/`job_end` slice with three `step`
 * instants inside, samples its queue depth (a counter) and writes one raw (schema-less) record.
 */
import { workerData } from "node:worker_threads";
import { defineEvent, t } from "unified-ring-buffer";
import { recordingRing } from "unified-ring-buffer/record";

const { id, jobs } = workerData as { id: number; jobs: number };
const ring = recordingRing();
if (ring === undefined) throw new Error(`worker ${id}: no recording ring`);
const w = ring.writer();
const jobStart = defineEvent(ring, "job_start", { worker: t.u8, job: t.u32 });
const jobEnd = defineEvent(ring, "job_end", { worker: t.u8, job: t.u32 });
const step = defineEvent(ring, "step", { job: t.u32, n: t.u8, ok: t.bool });
const queueDepth = defineEvent(ring, "queue_depth", { depth: t.u32 });

for (let job = 0; job < jobs; job++) {
  jobStart.write(w, { worker: id, job });
  for (let n = 0; n < 3; n++) {
    let x = 0;
    for (let i = 0; i < 3000; i++) x += Math.sin(i);
    step.write(w, { job, n, ok: x > -1e9 });
  }
  jobEnd.write(w, { worker: id, job });
  queueDepth.write(w, { depth: jobs - job - 1 });
  if (job % 10 === 0) await new Promise((ok) => setTimeout(ok, 1));
}
w.write(7, new TextEncoder().encode(`worker ${id} done`));
w.close();

/**
 * A small program to record with `urb record`: the main thread serves fake HTTP requests and
 * samples its heap, worker threads run jobs, and everything is written to the ring that
 * `urb record` set up (`recordingRing()`), as typed events that the exporters draw as slices
 * (`durationNs`, `*_start`/`*_end`), counters (one numeric field) and instants.
 *
 *   npm run build
 *   node dist/src/cli/main.js record -o app.urb -- node dist/examples/traced-app.js
 *   node dist/src/cli/main.js view app.urb -o app.html
 *
 * Options: --workers N (2), --jobs N per worker (40), --requests N (60), --forever (write until
 * SIGINT/SIGTERM; prints "ready" once events flow), --fork-child (start a Node child process and
 * print whether it got a recording ring), --exit-event (write a last event from an 'exit' handler),
 * --burst N (first write N events as fast as possible: with a small ring, some are dropped).
 */
import { fork } from "node:child_process";
import { Worker } from "node:worker_threads";
import { defineEvent, t } from "unified-ring-buffer";
import { recordingRing } from "unified-ring-buffer/record";

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const flag = (name: string): boolean => process.argv.includes(`--${name}`);

if (flag("child")) {
  // Started by --fork-child: report whether this process records too (it must not).
  process.send?.({ childHasRing: recordingRing() !== undefined });
  process.exit(0);
}

const ring = recordingRing();
if (ring === undefined) {
  console.error("traced-app: not recording (run me under urb record)");
  process.exit(3);
}

const w = ring.writer();
const httpRequest = defineEvent(ring, "http_request", { method: t.enum(["GET", "POST"]), status: t.u16, durationNs: t.u64, url: t.string(64) });
const heap = defineEvent(ring, "heap", { usedBytes: t.f64 });
const tickStart = defineEvent(ring, "tick_start", { n: t.u32 });
const tickEnd = defineEvent(ring, "tick_end", { n: t.u32 });
const log = defineEvent(ring, "log", { level: t.enum(["info", "warn"]), msg: t.string(80) });

if (flag("exit-event")) {
  process.on("exit", (code) => log.write(w, { level: "info", msg: `exit ${code}` }));
}

/** One main-thread "request": a nested, synchronous tick around some work, then the request event. */
function serve(n: number): void {
  const started = ring!.now();
  let parsed = 0;
  for (let i = 0; i < 300; i++) parsed += i % 7; // "parse the request": inside http_request, before tick
  tickStart.write(w, { n: n + (parsed < 0 ? 1 : 0) });
  let x = 0;
  for (let i = 0; i < 2000 + (n % 7) * 500; i++) x += Math.sqrt(i);
  tickEnd.write(w, { n });
  httpRequest.write(w, { method: n % 3 === 0 ? "POST" : "GET", status: n % 10 === 9 ? 500 : 200, durationNs: Math.max(0, ring!.now() - started), url: `/item/${n}?x=${x > 0 ? 1 : 0}` });
  if (n % 5 === 0) heap.write(w, { usedBytes: process.memoryUsage().heapUsed });
  if (n % 10 === 9) log.write(w, { level: "warn", msg: `request ${n} failed` });
}

for (let i = 0, n = arg("burst", 0); i < n; i++) log.write(w, { level: "info", msg: `burst ${i}` });

const workers = Array.from({ length: arg("workers", 2) }, (_, id) =>
  new Worker(new URL("./traced-app-worker.js", import.meta.url), { workerData: { id, jobs: arg("jobs", 40) } }),
);
const finished = Promise.all(workers.map((wk) => new Promise<void>((ok, fail) => {
  wk.once("error", fail);
  wk.once("exit", () => ok());
})));

if (flag("fork-child")) {
  const child = fork(new URL(import.meta.url).pathname, ["--child"], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  child.on("message", (m) => console.log(`child: ${JSON.stringify(m)}`));
  await new Promise((ok) => child.once("exit", ok));
}

if (flag("forever")) {
  let n = 0;
  const timer = setInterval(() => {
    serve(n++);
    if (n === 20) console.log("ready");
  }, 2);
  // Runs until a signal ends the process (urb record forwards Ctrl-C).
  void timer;
} else {
  const requests = arg("requests", 60);
  for (let n = 0; n < requests; n++) {
    serve(n);
    if (n % 10 === 0) await new Promise((ok) => setTimeout(ok, 1));
  }
  await finished;
  console.log(`traced-app: ${requests} requests, ${workers.length} workers done`);
}

/**
 * A checker of the Chrome Trace Event format's rules, as its specification states them ("Trace
 * Event Format", the JSON Object Format): what `urb export --format chrome` must satisfy so that
 * chrome://tracing and Perfetto's JSON importer draw it without repairing anything.
 *
 * - the document is an object with a `traceEvents` array (optional `displayTimeUnit` "ms"/"ns",
 *   `otherData` object);
 * - every event has `name` (string), `ph` (a known phase), `pid` and `tid` (integers), `ts`
 *   (finite number, microseconds);
 * - `X` (complete) has `dur` >= 0; `i`/`I` (instant) has scope `s` of g, p or t when present;
 *   `C` (counter) has `args` whose values are all numbers; `M` (metadata) is one of the known
 *   names with the argument it needs;
 * - `B`/`E` (duration) on one thread must nest: each `E` ends the most recent open `B` of that
 *   thread (same name when the `E` has one), with `ts` not decreasing along the thread's
 *   B/E events, and nothing left open at the end;
 * - the slices of a thread (`B`/`E` pairs and `X` events together) nest: a slice that starts inside
 *   another ends inside it (a viewer ends or drops the one that does not);
 * - nestable async events `b`/`e`/`n` have a `cat` and an `id` (or `id2`); in time order (a viewer
 *   sorts them, keeping file order at equal times) each `e` ends the innermost open `b` of its
 *   (pid, cat, id), with the same name, and nothing stays open;
 * - metadata: every process with events has `process_name`, every thread `thread_name`;
 * - `args`, when present, is an object.
 *
 * Returns the list of violations (empty when valid) and counts by phase.
 */

const PHASES = new Set(["B", "E", "X", "i", "I", "C", "M", "b", "n", "e", "s", "t", "f", "P", "N", "O", "D", "R", "c", "(", ")"]);
const METADATA: Record<string, string> = { process_name: "name", thread_name: "name", process_sort_index: "sort_index", thread_sort_index: "sort_index", process_labels: "labels" };

export interface TraceEvent {
  name?: unknown;
  ph?: unknown;
  pid?: unknown;
  tid?: unknown;
  ts?: unknown;
  dur?: unknown;
  s?: unknown;
  args?: unknown;
  cat?: unknown;
  cname?: unknown;
  id?: unknown;
  id2?: unknown;
}

export interface RulesReport {
  violations: string[];
  phases: Record<string, number>;
}

interface Interval {
  start: number;
  end: number;
  name: string;
  at: number;
}

/** The first pair of intervals (sorted by start, longest first) where one starts inside another and ends after it. */
function crossing(intervals: Interval[]): [Interval, Interval] | undefined {
  const sorted = [...intervals].sort((a, b) => a.start - b.start || b.end - a.end || a.at - b.at);
  const stack: Interval[] = [];
  for (const iv of sorted) {
    while (stack.length > 0 && (stack[stack.length - 1] as Interval).end <= iv.start) stack.pop();
    const top = stack[stack.length - 1];
    if (top !== undefined && iv.end > top.end) return [top, iv];
    stack.push(iv);
  }
  return undefined;
}

export function checkTraceEvents(doc: unknown): RulesReport {
  const violations: string[] = [];
  const phases: Record<string, number> = {};
  const bad = (i: number, what: string) => {
    if (violations.length < 50) violations.push(`event ${i}: ${what}`);
  };
  if (typeof doc !== "object" || doc === null || !Array.isArray((doc as { traceEvents?: unknown }).traceEvents)) {
    return { violations: ["the document is not an object with a traceEvents array"], phases };
  }
  const d = doc as { traceEvents: TraceEvent[]; displayTimeUnit?: unknown; otherData?: unknown };
  if (d.displayTimeUnit !== undefined && d.displayTimeUnit !== "ms" && d.displayTimeUnit !== "ns") violations.push(`displayTimeUnit is ${JSON.stringify(d.displayTimeUnit)}`);
  if (d.otherData !== undefined && (typeof d.otherData !== "object" || d.otherData === null)) violations.push("otherData is not an object");
  const stacks = new Map<string, { name: string; ts: number; at: number }[]>();
  const lastBE = new Map<string, number>();
  const slices = new Map<string, Interval[]>();
  const async = new Map<string, { ph: string; name: string; ts: number; at: number }[]>();
  const processesUsed = new Set<number>();
  const threadsUsed = new Set<string>();
  const processNamed = new Set<number>();
  const threadNamed = new Set<string>();
  const sliceOf = (thread: string, iv: Interval) => {
    let list = slices.get(thread);
    if (list === undefined) slices.set(thread, (list = []));
    list.push(iv);
  };
  d.traceEvents.forEach((e, i) => {
    if (typeof e !== "object" || e === null) return bad(i, "not an object");
    if (typeof e.name !== "string") bad(i, "name is not a string");
    if (typeof e.ph !== "string" || !PHASES.has(e.ph)) return bad(i, `unknown phase ${JSON.stringify(e.ph)}`);
    phases[e.ph] = (phases[e.ph] ?? 0) + 1;
    if (!Number.isInteger(e.pid)) bad(i, "pid is not an integer");
    if (!Number.isInteger(e.tid)) bad(i, "tid is not an integer");
    if (typeof e.ts !== "number" || !Number.isFinite(e.ts)) bad(i, "ts is not a finite number");
    if (e.args !== undefined && (typeof e.args !== "object" || e.args === null || Array.isArray(e.args))) bad(i, "args is not an object");
    const thread = `${String(e.pid)}/${String(e.tid)}`;
    const ts = e.ts as number;
    if (e.ph !== "M") {
      processesUsed.add(e.pid as number);
      if (e.ph !== "C") threadsUsed.add(thread);
    }
    switch (e.ph) {
      case "X":
        if (typeof e.dur !== "number" || !(e.dur >= 0)) bad(i, `X with dur ${JSON.stringify(e.dur)}`);
        else sliceOf(thread, { start: ts, end: ts + e.dur, name: String(e.name), at: i });
        break;
      case "i":
      case "I":
        if (e.s !== undefined && e.s !== "g" && e.s !== "p" && e.s !== "t") bad(i, `instant scope ${JSON.stringify(e.s)}`);
        break;
      case "C":
        if (typeof e.args !== "object" || e.args === null || Object.keys(e.args).length === 0) bad(i, "counter without args");
        else for (const [k, v] of Object.entries(e.args)) if (typeof v !== "number") bad(i, `counter value ${k} is ${JSON.stringify(v)}, not a number`);
        break;
      case "M": {
        const arg = METADATA[e.name as string];
        if (arg === undefined) bad(i, `unknown metadata ${JSON.stringify(e.name)}`);
        else if (typeof e.args !== "object" || e.args === null || !(arg in e.args)) bad(i, `metadata ${String(e.name)} without args.${arg}`);
        else if (e.name === "process_name") processNamed.add(e.pid as number);
        else if (e.name === "thread_name") threadNamed.add(thread);
        break;
      }
      case "B":
      case "E": {
        const prev = lastBE.get(thread);
        if (prev !== undefined && ts < prev) bad(i, `${e.ph} at ts ${ts} before the previous B/E of thread ${thread} (${prev})`);
        lastBE.set(thread, ts);
        let stack = stacks.get(thread);
        if (stack === undefined) stacks.set(thread, (stack = []));
        if (e.ph === "B") stack.push({ name: e.name as string, ts, at: i });
        else {
          const open = stack.pop();
          if (open === undefined) bad(i, `E ${JSON.stringify(e.name)} on thread ${thread} with no open B`);
          else {
            if (typeof e.name === "string" && e.name !== "" && e.name !== open.name) bad(i, `E ${JSON.stringify(e.name)} closes B ${JSON.stringify(open.name)} on thread ${thread}`);
            sliceOf(thread, { start: open.ts, end: ts, name: open.name, at: open.at });
          }
        }
        break;
      }
      case "b":
      case "e":
      case "n": {
        const id = e.id ?? e.id2;
        if (typeof e.cat !== "string" || e.cat === "") bad(i, `async ${e.ph} without a category`);
        if (id === undefined) bad(i, `async ${e.ph} without an id`);
        const key = `${String(e.pid)}/${String(e.cat)}/${JSON.stringify(id)}`;
        let list = async.get(key);
        if (list === undefined) async.set(key, (list = []));
        list.push({ ph: e.ph, name: String(e.name), ts, at: i });
        break;
      }
    }
  });
  for (const [thread, stack] of stacks) if (stack.length > 0) violations.push(`thread ${thread}: ${stack.length} B without E (${stack.map((s) => s.name).join(", ")})`);
  for (const [thread, list] of slices) {
    const pair = crossing(list);
    if (pair !== undefined) violations.push(`thread ${thread}: slice ${JSON.stringify(pair[1].name)} (event ${pair[1].at}, ${pair[1].start}..${pair[1].end}) starts inside ${JSON.stringify(pair[0].name)} (event ${pair[0].at}, ${pair[0].start}..${pair[0].end}) and ends after it`);
  }
  for (const [key, list] of async) {
    const sorted = [...list].sort((a, b) => a.ts - b.ts || a.at - b.at);
    const stack: { name: string; at: number }[] = [];
    for (const ev of sorted) {
      if (ev.ph === "b") stack.push(ev);
      else if (ev.ph === "e") {
        const open = stack.pop();
        if (open === undefined) violations.push(`async ${key}: e ${JSON.stringify(ev.name)} (event ${ev.at}) at ts ${ev.ts} with no open b`);
        else if (open.name !== ev.name) violations.push(`async ${key}: e ${JSON.stringify(ev.name)} (event ${ev.at}) closes b ${JSON.stringify(open.name)} (event ${open.at})`);
      }
    }
    if (stack.length > 0) violations.push(`async ${key}: ${stack.length} b without e`);
  }
  for (const pid of processesUsed) if (!processNamed.has(pid)) violations.push(`process ${pid} has no process_name`);
  for (const thread of threadsUsed) if (!threadNamed.has(thread)) violations.push(`thread ${thread} has no thread_name`);
  return { violations: violations.slice(0, 50), phases };
}

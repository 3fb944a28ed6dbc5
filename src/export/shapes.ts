/**
 * How an event's schema maps to a timeline: the conventions shared by the Chrome, Perfetto and
 * HTML exporters (docs/CLI.md, "Conventions").
 *
 * 1. A numeric field named `durationNs`, `duration_ns` or `duration` (ring clock units: ns for the
 *    `mono` clock) makes an *interval*: an operation written as one event when it finished (HTTP
 *    requests, fetches, spans, GC pauses, worker lifetimes: src/node/events.ts). It starts at its
 *    numeric `startNs` (or `start_ns`) field when it has one, else at the record's time minus the
 *    duration. Intervals of one thread may overlap without nesting (concurrent requests, a GC pause
 *    inside two requests), so they are *asynchronous*: the exporters put them on async tracks under
 *    their thread, never on the thread's own (nesting) track.
 * 2. Events named `<base>_start` / `<base>_begin` and `<base>_end` open and close a *synchronous*
 *    slice `<base>` on the thread that wrote them (its producer: pid and thread, or its lane when the
 *    trace does not say), innermost first.
 * 3. An event with exactly one field, numeric (not bool or enum), is a *counter* sample: its value
 *    over time (`heap { used: u32 }`).
 * 4. Anything else is an *instant*, with its fields as arguments.
 * 5. Names: an interval or instant is named by its content when its schema says what it is about
 *    ({@link labelRule}): a string field `name` (an OpenTelemetry span's name), `msg` or `message` (a
 *    log line; a pino line's JSON `msg`), `method` with `url` or `path` (an HTTP request), `host` (a
 *    connection or lookup); else by the event's name, which is always its category.
 * 6. An event named `process_name` with a string field `name` names the process that wrote it.
 */
import type { EventView } from "../schema/codec.js";
import type { EventSchema, FieldSchema } from "../schema/types.js";

export type EventShape =
  | { readonly kind: "duration"; readonly field: number; readonly start: number }
  | { readonly kind: "begin"; readonly base: string }
  | { readonly kind: "end"; readonly base: string }
  | { readonly kind: "counter"; readonly field: number }
  | { readonly kind: "instant" };

/** Field names that carry a duration (convention 1). */
export const DURATION_FIELDS: readonly string[] = ["durationNs", "duration_ns", "duration"];
/** Field names that carry an interval's start in ring time (convention 1). */
export const START_FIELDS: readonly string[] = ["startNs", "start_ns"];
/** The event that names its writer's process (convention 6). */
export const PROCESS_NAME_EVENT = "process_name";

const NUMERIC = new Set(["i8", "u8", "i16", "u16", "i32", "u32", "i64", "u64", "f32", "f64"]);

function isNumeric(f: FieldSchema | undefined): boolean {
  return f !== undefined && NUMERIC.has(f.type);
}

function numericField(s: EventSchema, names: readonly string[]): number {
  for (const name of names) {
    const i = s.fields.findIndex((f) => f.name === name);
    if (i >= 0 && isNumeric(s.fields[i])) return i;
  }
  return -1;
}

const INSTANT: EventShape = { kind: "instant" };

/** The shape of events with schema `s` (see the module comment for the rules, in their order). */
export function eventShape(s: EventSchema): EventShape {
  const field = numericField(s, DURATION_FIELDS);
  if (field >= 0) return { kind: "duration", field, start: numericField(s, START_FIELDS) };
  const pair = /^(.+)_(start|begin|end)$/.exec(s.name);
  if (pair !== null) return pair[2] === "end" ? { kind: "end", base: pair[1] as string } : { kind: "begin", base: pair[1] as string };
  if (s.fields.length === 1 && isNumeric(s.fields[0])) return { kind: "counter", field: 0 };
  return INSTANT;
}

/** How an event's label is made from its fields (convention 5); field indices, -1 when absent. */
export type LabelRule =
  | { readonly kind: "event" }
  | { readonly kind: "field"; readonly field: number }
  | { readonly kind: "jsonMsg"; readonly field: number }
  | { readonly kind: "request"; readonly method: number; readonly where: number; readonly target: number };

function stringField(s: EventSchema, name: string): number {
  const i = s.fields.findIndex((f) => f.name === name);
  const f = s.fields[i];
  return f !== undefined && (f.type === "string" || f.type === "enum") ? i : -1;
}

/** The label rule of events with schema `s`. */
export function labelRule(s: EventSchema): LabelRule {
  for (const name of ["name", "msg", "message"]) {
    const i = stringField(s, name);
    if (i >= 0) return { kind: "field", field: i };
  }
  const line = stringField(s, "line");
  if (line >= 0) return { kind: "jsonMsg", field: line };
  const method = stringField(s, "method");
  const target = Math.max(stringField(s, "url"), stringField(s, "path"));
  if (method >= 0 && target >= 0) return { kind: "request", method, where: Math.max(stringField(s, "origin"), stringField(s, "host")), target };
  const host = stringField(s, "host");
  if (host >= 0) return { kind: "field", field: host };
  return { kind: "event" };
}

/** Longest label made from a field; longer text is cut with "…" (the whole value stays in the arguments). */
export const MAX_LABEL = 120;

function cut(s: string): string {
  return s.length > MAX_LABEL ? `${s.slice(0, MAX_LABEL - 1)}…` : s;
}

/** The label of the event bound in `view` by `rule`; the event's name when its fields give none. */
export function labelOf(rule: LabelRule, view: EventView, s: EventSchema): string {
  let label = "";
  switch (rule.kind) {
    case "event": return s.name;
    case "field": label = view.string(rule.field); break;
    case "jsonMsg": {
      const line = view.string(rule.field);
      label = line;
      if (line.startsWith("{")) {
        try {
          const msg = (JSON.parse(line) as { msg?: unknown }).msg;
          label = typeof msg === "string" ? msg : "";
        } catch {
          // A truncated line is not JSON: its text is the label.
        }
      }
      break;
    }
    case "request":
      label = `${view.string(rule.method)} ${rule.where >= 0 ? view.string(rule.where) : ""}${view.string(rule.target)}`.trim();
      break;
  }
  return label === "" ? s.name : cut(label);
}

/** The shapes and label rules of a registry's schemas, by event id, computed once. */
export class ShapeCache {
  readonly #byId = new Map<number, EventShape>();
  readonly #labels = new Map<number, LabelRule>();
  get(s: EventSchema): EventShape {
    let shape = this.#byId.get(s.id);
    if (shape === undefined) {
      shape = eventShape(s);
      this.#byId.set(s.id, shape);
    }
    return shape;
  }
  label(s: EventSchema, view: EventView): string {
    let rule = this.#labels.get(s.id);
    if (rule === undefined) {
      rule = labelRule(s);
      this.#labels.set(s.id, rule);
    }
    return labelOf(rule, view, s);
  }
}

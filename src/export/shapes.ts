/**
 * How an event's schema maps to a timeline: the conventions shared by the Chrome, Perfetto and
 * HTML exporters (docs/CLI.md, "Conventions").
 *
 * 1. A numeric field named `durationNs`, `duration_ns` or `duration` (ring clock units: ns for the
 *    `mono` clock) makes a *complete* slice that ends at the record's time: the record is written
 *    when the operation finishes, as `http_request { durationNs }` is.
 * 2. Events named `<base>_start` / `<base>_begin` and `<base>_end` open and close a slice `<base>`
 *    on their lane (one thread), innermost first: for nested, synchronous spans.
 * 3. An event with exactly one field, numeric (not bool or enum), is a *counter* sample: its value
 *    over time (`heap { used: u32 }`).
 * 4. Anything else is an *instant*, with its fields as arguments.
 */
import type { EventSchema, FieldSchema } from "../schema/types.js";

export type EventShape =
  | { readonly kind: "duration"; readonly field: number }
  | { readonly kind: "begin"; readonly base: string }
  | { readonly kind: "end"; readonly base: string }
  | { readonly kind: "counter"; readonly field: number }
  | { readonly kind: "instant" };

/** Field names that carry a duration (convention 1). */
export const DURATION_FIELDS: readonly string[] = ["durationNs", "duration_ns", "duration"];

const NUMERIC = new Set(["i8", "u8", "i16", "u16", "i32", "u32", "i64", "u64", "f32", "f64"]);

function isNumeric(f: FieldSchema | undefined): boolean {
  return f !== undefined && NUMERIC.has(f.type);
}

const INSTANT: EventShape = { kind: "instant" };

/** The shape of events with schema `s` (see the module comment for the rules, in their order). */
export function eventShape(s: EventSchema): EventShape {
  for (const name of DURATION_FIELDS) {
    const i = s.fields.findIndex((f) => f.name === name);
    if (i >= 0 && isNumeric(s.fields[i])) return { kind: "duration", field: i };
  }
  const pair = /^(.+)_(start|begin|end)$/.exec(s.name);
  if (pair !== null) return pair[2] === "end" ? { kind: "end", base: pair[1] as string } : { kind: "begin", base: pair[1] as string };
  if (s.fields.length === 1 && isNumeric(s.fields[0])) return { kind: "counter", field: 0 };
  return INSTANT;
}

/** The shapes of a registry's schemas, by event id, computed once. */
export class ShapeCache {
  readonly #byId = new Map<number, EventShape>();
  get(s: EventSchema): EventShape {
    let shape = this.#byId.get(s.id);
    if (shape === undefined) {
      shape = eventShape(s);
      this.#byId.set(s.id, shape);
    }
    return shape;
  }
}

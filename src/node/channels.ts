/** Subscribing a set of handlers to Node's diagnostics channels, and undoing it. */
import dc from "node:diagnostics_channel";

/** A channel name and its handler (Node calls it with the message and the channel name). */
export type Subscription = readonly [name: string, handler: (message: never) => void];

/** Subscribe each handler to its channel; returns a function that unsubscribes them all. */
export function subscribeAll(subs: readonly Subscription[]): () => void {
  for (const [name, fn] of subs) dc.subscribe(name, fn as (m: unknown) => void);
  return () => {
    for (const [name, fn] of subs) dc.unsubscribe(name, fn as (m: unknown) => void);
  };
}

/**
 * Runs the portability round trip in whatever runtime executes this file (Deno, Bun) and prints its
 * report as one JSON line; deno.test.ts and bun.test.ts start it and assert on that line.
 */
import { runRoundTrip } from "./round-trip.js";

console.log(JSON.stringify(await runRoundTrip()));

/** The Node side's checks of a round-trip report produced in another runtime (see round-trip.ts). */
import assert from "node:assert/strict";
import { ROUND_TRIP_DEFAULTS, type RoundTripReport } from "./round-trip.js";
import { eventsBelow } from "./round-trip-protocol.js";

/** Assert that a default-sized round trip ran completely and found nothing wrong. */
export function assertRoundTrip(report: RoundTripReport): void {
  const { writers, records, eventEvery, tailRecords } = ROUND_TRIP_DEFAULTS;
  const all = records + tailRecords;
  const events = writers * eventsBelow(all, eventEvery);
  assert.deepEqual(report.problems, [], `problems in ${report.userAgent}`);
  assert.deepEqual(report.recordsPerProducer, new Array<number>(writers).fill(all));
  assert.equal(report.events, events);
  assert.equal(report.merged, writers * (tailRecords + eventsBelow(all, eventEvery) - eventsBelow(records, eventEvery)));
  assert.deepEqual(report.total, { written: writers * all + events, read: writers * all + events, dropped: 0, overrun: 0, inRing: 0 });
}

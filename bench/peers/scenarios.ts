/**
 * The peer/reference scenarios. Each reports references under their own name
 * (ref = name, ratio 1). Scenarios comparing our ring with a reference import
 * the loops and sessions from raw.ts / ringbufjs.ts and alternate with them.
 */
import { planFor, referenceMetric, type Scenario } from '../harness.js';
import { postMessageLatency, postMessageRps, rawBatchedRingRps, rawClockStorePublishNs, rawStorePublishNs } from './raw.js';
import { ringbufjsRps } from './ringbufjs.js';

export const rawStorePublishScenario: Scenario = {
  name: 'raw_store_publish',
  run(opts) {
    const plan = planFor(opts);
    const ns = rawStorePublishNs(plan.opsPerRun, plan.nsReps);
    return Promise.resolve([referenceMetric('raw_store_publish_ns', ns, 'ns/op')]);
  },
};

export const rawClockStorePublishScenario: Scenario = {
  name: 'raw_clock_store_publish',
  run(opts) {
    const plan = planFor(opts);
    const ns = rawClockStorePublishNs(plan.opsPerRun, plan.nsReps);
    return Promise.resolve([referenceMetric('raw_clock_store_publish_ns', ns, 'ns/op')]);
  },
};

export const rawBatchedRingScenario: Scenario = {
  name: 'raw_batched_ring',
  async run(opts) {
    const plan = planFor(opts);
    const rps = await rawBatchedRingRps(plan.durationMs, { reps: plan.reps });
    return [referenceMetric('raw_batched_ring_rps', rps, 'records/s')];
  },
};

export const ringbufjsScenario: Scenario = {
  name: 'ringbufjs',
  async run(opts) {
    const plan = planFor(opts);
    const rps = await ringbufjsRps(plan.durationMs, { reps: plan.reps });
    return [referenceMetric('ringbufjs_rps', rps, 'records/s')];
  },
};

export const postMessageScenario: Scenario = {
  name: 'postmessage',
  async run(opts) {
    const plan = planFor(opts);
    const rps = await postMessageRps(plan.durationMs, { reps: plan.reps });
    const latency = await postMessageLatency(plan.latencySamples, { reps: plan.latencyReps });
    return [
      referenceMetric('postmessage_rps', rps, 'msgs/s'),
      referenceMetric('postmessage_latency_p50_ns', latency.p50Ns, 'ns'),
      referenceMetric('postmessage_latency_p99_ns', latency.p99Ns, 'ns'),
    ];
  },
};

export const peerScenarios: readonly Scenario[] = [
  rawStorePublishScenario,
  rawClockStorePublishScenario,
  rawBatchedRingScenario,
  ringbufjsScenario,
  postMessageScenario,
];

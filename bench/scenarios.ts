/**
 * The scenario registry read by bench/run.ts, in run order.
 *
 * To add a scenario: write `bench/<name>.ts` exporting
 * `export const fooScenario: Scenario = { name: 'foo', async run(opts) { ... return metrics; } };`,
 * import it below and append it to the array. Measure the figure and its
 * reference in the same scenario with alternating repetitions
 * (harness.ts#measureNsPerOpInterleaved() / alternateMedians()), and report it
 * with harness.ts#metric(name, value, unit, { name: ref, value: refValue }).
 */
import type { Scenario } from './harness.js';
import { peerScenarios } from './peers/scenarios.js';
import { curveScenarios } from './curves.js';
import { exportScenario } from './export.js';
import { groupScenario } from './group.js';
import { latencyScenario } from './latency.js';
import { mergedReadScenario } from './merged-read.js';
import { pipeScenario } from './pipe.js';
import { readableScenario } from './readable.js';
import { ringScenarios } from './ring.js';
import { typedHeapScenario, typedScenario } from './typed.js';
import { xprocessScenario } from './xprocess.js';
import { integrationScenarios } from './integrations.js';
import { recordTreeScenario } from './record-tree.js';
import { ringTransportScenario } from './ring-transport.js';

export type { Scenario } from './harness.js';

export const scenarios: readonly Scenario[] = [
  ...ringScenarios,
  mergedReadScenario,
  xprocessScenario,
  typedScenario,
  typedHeapScenario,
  ...integrationScenarios,
  recordTreeScenario,
  ringTransportScenario,
  ...peerScenarios,
  pipeScenario,
  groupScenario,
  readableScenario,
  exportScenario,
  latencyScenario,
  ...curveScenarios,
];

import { writePolicyFile } from './policy-file.js';
import type { TrainingRun } from './run-setup.js';
import { saveRun } from './run-state.js';
import type { TrainConfig } from './train-config.js';

/**
 * Saves the run every checkpoint.everySteps, or `now` (the last step, a stop asked for): a
 * checkpoint of every part, random streams included, so that a resumed run continues exactly
 * as the uninterrupted one, and `<run>/policy.onnx` to deploy meanwhile. Called between rounds,
 * where no env holds state.
 */
export function checkpointIfDue(run: TrainingRun, config: TrainConfig['checkpoint'], now: boolean): void {
  const { parts, files, policyMetadata } = run;
  const { state } = parts;
  if (!now && state.envSteps < state.nextCheckpoint) return;
  while (state.nextCheckpoint <= state.envSteps) state.nextCheckpoint += config.everySteps;
  saveRun(files.checkpoints, config.keep, parts);
  writePolicyFile(files.policy, parts.average.policy(parts.learner), parts.normalizer, policyMetadata);
}

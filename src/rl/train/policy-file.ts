import type { ArmEnv } from '../../../sim/env.js';
import type { DeterministicPolicy } from '../learner.js';
import type { RunningNormalizer } from '../normalizer.js';
import { exportPolicy, type PolicyMetadata, policyInputFields } from '../policy-export.js';
import { identityNormalizer } from './learner-factory.js';
import { writeFileAtomic } from './run-dir.js';

/** Writes the deterministic policy (normalisation inside) as ONNX, atomically. */
export function writePolicyFile(
  file: string,
  policy: DeterministicPolicy,
  normalizer: RunningNormalizer | undefined,
  metadata: PolicyMetadata,
): void {
  writeFileAtomic(file, encodePolicy(policy, normalizer, metadata));
}

/** The deterministic policy as ONNX bytes, with `extra` key/value metadata. */
export function encodePolicy(
  policy: DeterministicPolicy,
  normalizer: RunningNormalizer | undefined,
  metadata: PolicyMetadata,
  extra: Record<string, string> = {},
): Uint8Array {
  return exportPolicy(
    policy.policyParameters(),
    normalizer ?? identityNormalizer(metadata.inputSize),
    metadata,
    extra,
  );
}

/** What an exported policy says about itself: task, sizes, input fields, algorithm, how to feed it and act on it. */
export function policyMetadataFor(env: ArmEnv, algorithm: string): PolicyMetadata {
  const fields = policyInputFields(env);
  return {
    task: env.task.name,
    inputSize: env.observationSize + env.goalSize,
    actionSize: env.actionSize,
    observationFields: fields.map((f) => f.name),
    algorithm,
    described: {
      robot: env.robot.name,
      observationSizes: fields.map((f) => f.size),
      actionNames: env.task.usesGripper ? ['dx', 'dy', 'dz', 'gripper'] : ['dx', 'dy', 'dz'],
      maxEeStepM: env.robot.control.maxEeStepM,
      ctrlDtSec: env.task.config.ctrlDtSec,
    },
  };
}

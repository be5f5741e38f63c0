import type { ArmEnv } from '../../sim/env.js';
import { GraphBuilder } from './graph/builder.js';
import { type MlpParameters, mlpGraph } from './graph/mlp.js';
import type { RunningNormalizer } from './normalizer.js';

/** The fields of a policy's input for `env`: the observation's, then `desired_<goal field>`, with their sizes. */
export function policyInputFields(
  env: Pick<ArmEnv, 'observationFields' | 'task'>,
): { name: string; size: number }[] {
  return [
    ...env.observationFields.map((f) => ({ name: f.name, size: f.size })),
    ...env.task.goalFields.map((f) => ({ name: `desired_${f.name}`, size: f.size })),
  ];
}

/** What an exported policy carries besides its weights (ONNX metadata, read back at load). */
export interface PolicyMetadata {
  task: string;
  /** Size of the raw input: the observation and the desired goal, concatenated. */
  inputSize: number;
  actionSize: number;
  /** Names of the input's fields, in order: the observation's, then `desired_<goal field>`. */
  observationFields: string[];
  algorithm: string;
  /**
   * What a user of the file needs to feed it and act on it (issue #21); absent from files
   * exported before they were written.
   */
  described?: PolicyDescription;
}

/** How to feed an exported policy and what its actions mean. */
export interface PolicyDescription {
  robot: string;
  /** Sizes of `observationFields`, in order (checked against the env at load). */
  observationSizes: number[];
  /** `dx, dy, dz[, gripper]`. */
  actionNames: string[];
  /** Metres the end effector moves per step, on each axis, at an action of ±1. */
  maxEeStepM: number;
  /** Seconds between actions (the control period the policy was trained at). */
  ctrlDtSec: number;
}

/**
 * The policy as one ONNX model: raw observation+goal in, action out. Normalisation (the
 * running statistics at export time, clipped) is inside the graph, then the actor MLP with tanh,
 * so what `armprior run` loads is exactly the network that was trained, with nothing to
 * re-implement on the robot side.
 */
export function exportPolicy(
  actor: MlpParameters,
  normalizer: RunningNormalizer,
  metadata: PolicyMetadata,
  /** More key/value metadata (a best policy's evaluation, src/rl/train/best-policy.ts). */
  extraMetadata: Record<string, string> = {},
): Uint8Array {
  if (normalizer.size !== metadata.inputSize || actor.sizes[0] !== metadata.inputSize) {
    throw new Error(
      `policy export: the normaliser has ${normalizer.size} inputs, the actor ${actor.sizes[0]}, the metadata ${metadata.inputSize}`,
    );
  }
  const g = new GraphBuilder('policy');
  const input = g.input('input', ['batch', metadata.inputSize]);
  const { mean, variance } = normalizer.statistics();
  const scale = Float32Array.from(variance, (v) => 1 / Math.sqrt(v + normalizer.epsilon));
  const normalized = g.clip(
    g.mul(
      g.sub(input, g.constant('norm.mean', Float32Array.from(mean), [metadata.inputSize])),
      g.constant('norm.scale', scale, [metadata.inputSize]),
    ),
    -normalizer.clip,
    normalizer.clip,
  );
  g.output(mlpGraph(g, normalized, actor, { prefix: 'actor', output: 'tanh' }), 'action');
  return g.toBytes(
    {
      'armprior.task': metadata.task,
      'armprior.input_size': String(metadata.inputSize),
      'armprior.action_size': String(metadata.actionSize),
      'armprior.observation_fields': metadata.observationFields.join(','),
      'armprior.algorithm': metadata.algorithm,
      ...(metadata.described ? descriptionEntries(metadata.described) : {}),
      ...extraMetadata,
    },
    metadata.described ? docString(metadata, metadata.described) : undefined,
  );
}

function descriptionEntries(d: PolicyDescription): Record<string, string> {
  return {
    'armprior.robot': d.robot,
    'armprior.observation_sizes': d.observationSizes.join(','),
    'armprior.action_names': d.actionNames.join(','),
    'armprior.action_scale_m': String(d.maxEeStepM),
    'armprior.control_period_s': String(d.ctrlDtSec),
  };
}

/** The model's doc string: everything needed to run it, in words (Netron and onnx.load show it). */
function docString(m: PolicyMetadata, d: PolicyDescription): string {
  const fields = m.observationFields.map((name, i) => `${name} (${d.observationSizes[i]})`).join(', ');
  const gripper = d.actionNames.includes('gripper') ? '; gripper: 1 open … -1 closed' : '';
  return (
    `armprior policy (${m.algorithm}) for the task ${m.task} on the robot ${d.robot}. ` +
    `Input 'input': float32 [batch, ${m.inputSize}], the raw values (metres, metres per second; normalised inside) of ${fields}, in that order. ` +
    `Output 'action': float32 [batch, ${m.actionSize}] in [-1, 1]: ${d.actionNames.join(', ')}; ` +
    `dx, dy, dz × ${d.maxEeStepM} m is the end effector's displacement target for one step${gripper}. ` +
    `One action every ${d.ctrlDtSec} s.`
  );
}

import { GraphBuilder } from './graph/builder.js';
import { type MlpParameters, mlpGraph } from './graph/mlp.js';
import type { RunningNormalizer } from './normalizer.js';

/** What an exported policy carries besides its weights (ONNX metadata, read back at load). */
export interface PolicyMetadata {
  task: string;
  /** Size of the raw input: the observation and the desired goal, concatenated. */
  inputSize: number;
  actionSize: number;
  /** Names of the observation fields, in order (checked against the robot/env at load). */
  observationFields: string[];
  algorithm: string;
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
  return g.toBytes({
    'armprior.task': metadata.task,
    'armprior.input_size': String(metadata.inputSize),
    'armprior.action_size': String(metadata.actionSize),
    'armprior.observation_fields': metadata.observationFields.join(','),
    'armprior.algorithm': metadata.algorithm,
    ...extraMetadata,
  });
}

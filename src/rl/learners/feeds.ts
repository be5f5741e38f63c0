import ort from 'onnxruntime-node';
import { adamStepScalars, DEFAULT_ADAM } from '../graph/adam.js';
import type { LearnerBatch } from '../learner.js';
import type { NetworkSizes } from './update-graph.js';

/** Graph inputs by name, as the host feeds them to an update graph. */
export type Feeds = Record<string, ort.Tensor>;

/** An update graph's outputs, as onnxruntime returns them. */
export type Outputs = ort.InferenceSession.OnnxValueMapType;

/** A float32 tensor of `data` with shape `dims` (the data is not copied). */
export function tensor(data: Float32Array, dims: readonly number[]): ort.Tensor {
  return new ort.Tensor('float32', data, dims);
}

/** A scalar input (a weight, a switch, a rate). */
export function scalarFeed(value: number): ort.Tensor {
  return tensor(Float32Array.of(value), []);
}

/** The value of a scalar output; NaN when the graph has no such output. */
export function scalarOutput(value: ort.OnnxValue | undefined): number {
  return ((value as ort.Tensor | undefined)?.data as Float32Array | undefined)?.[0] ?? Number.NaN;
}

/** The batch inputs of {@link UpdateGraphBuilder.batch}: `obs`, `action`, `reward`, `not_done`, `next_obs`. */
export function batchFeeds(batch: LearnerBatch, sizes: NetworkSizes): Feeds {
  const n = batch.size;
  const { observationSize: o, actionSize: a } = sizes;
  return {
    obs: tensor(batch.input, [n, o]),
    action: tensor(batch.action, [n, a]),
    reward: tensor(batch.reward, [n, 1]),
    not_done: tensor(batch.notDone, [n, 1]),
    next_obs: tensor(batch.nextInput, [n, o]),
  };
}

/** Adam's step scalars for step `t` (1-based), as the graph inputs `<prefix>lr_t`, `<prefix>eps_hat`. */
export function adamFeeds(prefix: string, t: number, learningRate: number): Feeds {
  const { lrT, epsHat } = adamStepScalars(t, { ...DEFAULT_ADAM, learningRate });
  return { [`${prefix}lr_t`]: scalarFeed(lrT), [`${prefix}eps_hat`]: scalarFeed(epsHat) };
}

/** `rows` × `width` draws of `draw()`, row-major (noise inputs). */
export function noiseFeed(rows: number, width: number, draw: () => number): ort.Tensor {
  return tensor(Float32Array.from({ length: rows * width }, draw), [rows, width]);
}

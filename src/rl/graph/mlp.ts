import type { Rng } from '../../core/rng.js';
import type { GraphBuilder, Value } from './builder.js';

/** Weights of a fully connected network; layer i maps sizes[i] → sizes[i + 1], W stored [out, in]. */
export interface MlpParameters {
  readonly sizes: readonly number[];
  readonly weights: Float32Array[];
  readonly biases: Float32Array[];
}

export type OutputActivation = 'tanh' | 'none';

/** PyTorch's default Linear initialisation: U(−1/√in, 1/√in) for weights and biases. */
export function initMlp(sizes: readonly number[], rng: Rng): MlpParameters {
  const weights: Float32Array[] = [];
  const biases: Float32Array[] = [];
  for (let i = 0; i + 1 < sizes.length; i++) {
    const fanIn = sizes[i]!;
    const bound = 1 / Math.sqrt(fanIn);
    weights.push(Float32Array.from({ length: sizes[i + 1]! * fanIn }, () => rng.uniform(-bound, bound)));
    biases.push(Float32Array.from({ length: sizes[i + 1]! }, () => rng.uniform(-bound, bound)));
  }
  return { sizes: [...sizes], weights, biases };
}

/** Adds the network's forward pass to a graph, its weights as constants; ReLU between layers. */
export function mlpGraph(
  builder: GraphBuilder,
  input: Value,
  params: MlpParameters,
  options: { prefix: string; output: OutputActivation },
): Value {
  let x = input;
  const layers = params.weights.length;
  for (let i = 0; i < layers; i++) {
    const out = params.sizes[i + 1]!;
    const w = builder.constant(`${options.prefix}.${i}.weight`, params.weights[i]!, [out, params.sizes[i]!]);
    const b = builder.constant(`${options.prefix}.${i}.bias`, params.biases[i]!, [out]);
    x = builder.linear(x, w, b);
    if (i + 1 < layers) x = builder.relu(x);
    else if (options.output === 'tanh') x = builder.tanh(x);
  }
  return x;
}

/** The same network in plain JavaScript (float64), the reference the graphs are tested against. */
export function mlpReference(
  params: MlpParameters,
  input: ArrayLike<number>,
  rows: number,
  output: OutputActivation,
): Float64Array {
  let x = Float64Array.from(input);
  for (let i = 0; i < params.weights.length; i++) {
    const inSize = params.sizes[i]!;
    const outSize = params.sizes[i + 1]!;
    const w = params.weights[i]!;
    const b = params.biases[i]!;
    const y = new Float64Array(rows * outSize);
    for (let r = 0; r < rows; r++) {
      for (let o = 0; o < outSize; o++) {
        let s = b[o]!;
        for (let k = 0; k < inSize; k++) s += w[o * inSize + k]! * x[r * inSize + k]!;
        const last = i + 1 === params.weights.length;
        y[r * outSize + o] = !last ? Math.max(0, s) : output === 'tanh' ? Math.tanh(s) : s;
      }
    }
    x = y;
  }
  return x;
}

/**
 * The forward pass on the host in float32-stored, float64-accumulated loops: acting for a few
 * envs per step is a handful of rows, for which an onnxruntime call (~40 µs plus copying the
 * weights in) costs more than the arithmetic. Last layer: `output` activation.
 */
export function mlpForward(
  params: MlpParameters,
  input: Float32Array,
  rows: number,
  output: OutputActivation,
): Float32Array {
  let x = input;
  for (let i = 0; i < params.weights.length; i++) {
    const inSize = params.sizes[i]!;
    const outSize = params.sizes[i + 1]!;
    const w = params.weights[i]!;
    const b = params.biases[i]!;
    const last = i + 1 === params.weights.length;
    const y = new Float32Array(rows * outSize);
    for (let r = 0; r < rows; r++) {
      const xOffset = r * inSize;
      for (let o = 0; o < outSize; o++) {
        let s = b[o]!;
        const wOffset = o * inSize;
        for (let k = 0; k < inSize; k++) s += w[wOffset + k]! * x[xOffset + k]!;
        y[r * outSize + o] = !last ? (s > 0 ? s : 0) : output === 'tanh' ? Math.tanh(s) : s;
      }
    }
    x = y;
  }
  return x;
}

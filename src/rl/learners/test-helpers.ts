/**
 * What the learners' tests share: random batches, and the float64 references the update graphs
 * are checked against (a plain MLP, finite differences, Adam), with a runner that feeds a graph
 * per-layer values and reads its `new.*` outputs back per layer.
 */
import ort from 'onnxruntime-node';
import type { Rng } from '../../core/rng.js';
import { adamStepScalars, DEFAULT_ADAM } from '../graph/adam.js';
import { packedSize } from '../graph/packed.js';
import type { LearnerBatch } from '../learner.js';
import type { UpdateGraph } from './update-graph.js';

/** Values by name: graph inputs, per layer for the packed ones (`<input><suffix>`, e.g. `m.q1.0.weight`). */
export type Feeds = Record<string, Float64Array>;

/** Rows in the tests' graphs and batches. */
export const BATCH = 5;

/** A learner batch of `size` rows of 5 inputs and 2 actions, uniform in [−1, 1]; `poison`: one reward is NaN. */
export function randomBatch(rng: Rng, o: { size?: number; poison?: boolean } = {}): LearnerBatch {
  const n = o.size ?? 8;
  const values = (k: number) => Float32Array.from({ length: n * k }, () => rng.uniform(-1, 1));
  const reward = values(1);
  if (o.poison) reward[3] = Number.NaN;
  return {
    size: n,
    input: values(5),
    action: values(2),
    reward,
    notDone: new Float32Array(n).fill(1),
    nextInput: values(5),
  };
}

/** Runs `body` with `learner`, then closes it whatever happened. */
export async function using<L extends { close(): Promise<void> }, T>(
  learner: L,
  body: (learner: L) => Promise<T>,
): Promise<T> {
  try {
    return await body(learner);
  } finally {
    await learner.close();
  }
}

/** Random values for every input of `graph` (`draw(input name)` per value), per layer for the packed ones. */
export function randomFeeds(graph: UpdateGraph, draw: (input: string) => number): Feeds {
  const feeds: Feeds = {};
  for (const name of graph.inputs) {
    const slots = graph.packed[name];
    if (slots) {
      for (const { suffix, length } of slots)
        feeds[name + suffix] = Float64Array.from({ length }, () => draw(name));
      continue;
    }
    const size = graph.inputShapes[name]!.reduce<number>(
      (n, d) => n * (typeof d === 'number' ? d : BATCH),
      1,
    );
    feeds[name] = Float64Array.from({ length: size }, () => draw(name));
  }
  return feeds;
}

/** Adam's step scalars `<prefix>lr_t`, `<prefix>eps_hat` for step `t` at `learningRate`. */
export function adamScalarFeeds(prefix: string, t: number, learningRate: number): Feeds {
  const { lrT, epsHat } = adamStepScalars(t, { ...DEFAULT_ADAM, learningRate });
  return { [`${prefix}lr_t`]: Float64Array.of(lrT), [`${prefix}eps_hat`]: Float64Array.of(epsHat) };
}

/** Runs a graph on per-layer feeds: packs the network inputs, unpacks the `new.*` outputs per layer. */
export async function runGraph(graph: UpdateGraph, feeds: Feeds): Promise<Record<string, Float32Array>> {
  const session = await ort.InferenceSession.create(graph.bytes);
  try {
    const tensors: Record<string, ort.Tensor> = {};
    for (const name of graph.inputs) {
      const slots = graph.packed[name];
      if (slots) {
        const packed = new Float32Array(packedSize(slots));
        for (const { suffix, offset } of slots) packed.set(feeds[name + suffix]!, offset);
        tensors[name] = new ort.Tensor('float32', packed, [packed.length]);
        continue;
      }
      const dims = graph.inputShapes[name]!.map((d) => (typeof d === 'number' ? d : BATCH));
      tensors[name] = new ort.Tensor('float32', Float32Array.from(feeds[name]!), dims);
    }
    const out: Record<string, Float32Array> = {};
    for (const [name, tensor] of Object.entries(await session.run(tensors))) {
      const data = tensor.data as Float32Array;
      const slots = name.startsWith('new.') ? graph.packed[name.slice(4)] : undefined;
      if (!slots) out[name] = data;
      else
        for (const { suffix, offset, length } of slots)
          out[name + suffix] = data.slice(offset, offset + length);
    }
    return out;
  } finally {
    await session.release();
  }
}

/** `data` as rows of `width`. */
export const rows = (data: Float64Array, width: number): number[][] =>
  Array.from({ length: data.length / width }, (_, r) =>
    Array.from(data.subarray(r * width, (r + 1) * width)),
  );

export const mean = (xs: readonly number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;

/** Plain float64 forward pass (ReLU between layers) of the network stored in `f` under `prefix`. */
export function net(
  f: Feeds,
  prefix: string,
  sizes: readonly number[],
  x: readonly number[][],
  output: 'tanh' | 'none' = 'none',
  options: { layerNorm?: boolean | undefined } = {},
): number[][] {
  return x.map((row) => {
    let h = row;
    for (let i = 0; i + 1 < sizes.length; i++) {
      const w = f[`${prefix}.${i}.weight`]!;
      const b = f[`${prefix}.${i}.bias`]!;
      const last = i + 2 === sizes.length;
      const z = Array.from({ length: sizes[i + 1]! }, (_, o) => {
        let s = b[o]!;
        for (let k = 0; k < sizes[i]!; k++) s += w[o * sizes[i]! + k]! * h[k]!;
        return s;
      });
      if (last) h = output === 'tanh' ? z.map(Math.tanh) : z;
      else h = (options.layerNorm ? layerNormRow(z) : z).map((v) => Math.max(0, v));
    }
    return h;
  });
}

/** A row scaled to mean 0 and variance 1 (ε 1e-5 under the root), computed plainly. */
function layerNormRow(z: readonly number[]): number[] {
  const mean = z.reduce((a, v) => a + v, 0) / z.length;
  const variance = z.reduce((a, v) => a + (v - mean) ** 2, 0) / z.length;
  return z.map((v) => (v - mean) / Math.sqrt(variance + 1e-5));
}

/** Central differences of `loss` with respect to each value of `f[name]`. */
export function finiteDifference(f: Feeds, name: string, loss: (f: Feeds) => number): Float64Array {
  const p = f[name]!;
  return p.map((keep, i) => {
    p[i] = keep + 1e-6;
    const up = loss(f);
    p[i] = keep - 1e-6;
    const down = loss(f);
    p[i] = keep;
    return (up - down) / 2e-6;
  });
}

/** One Adam step of `f[name]` along `grad` (float64), at step `t` and `learningRate`. */
export function adamReference(
  f: Feeds,
  name: string,
  grad: Float64Array,
  t: number,
  learningRate: number,
): { param: Float64Array; m: Float64Array; v: Float64Array; grad: Float64Array } {
  const { lrT, epsHat } = adamStepScalars(t, { ...DEFAULT_ADAM, learningRate });
  const { beta1, beta2 } = DEFAULT_ADAM;
  const m = f[`m.${name}`]!.map((mi, i) => beta1 * mi + (1 - beta1) * grad[i]!);
  const v = f[`v.${name}`]!.map((vi, i) => beta2 * vi + (1 - beta2) * grad[i]! ** 2);
  const param = f[name]!.map((p, i) => p - (lrT * m[i]!) / (Math.sqrt(v[i]!) + epsHat));
  return { param, m, v, grad };
}

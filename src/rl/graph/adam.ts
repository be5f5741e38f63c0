import type { GraphBuilder, Value } from './builder.js';

/** Adam's hyperparameters (Kingma & Ba 2015; PyTorch's defaults but the learning rate). */
export interface AdamConfig {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
}

export const DEFAULT_ADAM: Omit<AdamConfig, 'learningRate'> = { beta1: 0.9, beta2: 0.999, epsilon: 1e-8 };

/** A parameter with its gradient and first and second moments, as graph values. */
export interface AdamSlot {
  param: Value;
  grad: Value;
  m: Value;
  v: Value;
}

/** The two per-step scalars the update takes as inputs, from the step count t (1-based). */
export function adamStepScalars(t: number, config: AdamConfig): { lrT: number; epsHat: number } {
  const c2 = Math.sqrt(1 - config.beta2 ** t);
  // Kingma & Ba's Algorithm 1 with the bias corrections folded into the step size:
  // lr_t = lr · sqrt(1 − β2^t) / (1 − β1^t), ε̂ = ε · sqrt(1 − β2^t).
  return { lrT: (config.learningRate * c2) / (1 - config.beta1 ** t), epsHat: config.epsilon * c2 };
}

/**
 * Adds Adam's update as graph ops (the standard onnxruntime build has no Adam op): for each
 * slot, m' = β1 m + (1 − β1) g, v' = β2 v + (1 − β2) g², p' = p − lr_t m' / (√v' + ε̂), with
 * `lrT` and `epsHat` scalar inputs from {@link adamStepScalars}. Returns p', m', v' per slot.
 */
export function adamUpdate(
  g: GraphBuilder,
  slots: readonly AdamSlot[],
  lrT: Value,
  epsHat: Value,
  config: Omit<AdamConfig, 'learningRate'> = DEFAULT_ADAM,
): { param: Value; m: Value; v: Value }[] {
  const b1 = g.scalar(config.beta1);
  const oneMinusB1 = g.scalar(1 - config.beta1);
  const b2 = g.scalar(config.beta2);
  const oneMinusB2 = g.scalar(1 - config.beta2);
  return slots.map(({ param, grad, m, v }) => {
    const m2 = g.add(g.mul(b1, m), g.mul(oneMinusB1, grad));
    const v2 = g.add(g.mul(b2, v), g.mul(oneMinusB2, g.square(grad)));
    const denominator = g.add(g.op('Sqrt', [v2], v2.shape), epsHat);
    const param2 = g.sub(param, g.mul(lrT, g.div(m2, denominator)));
    return { param: param2, m: m2, v: v2 };
  });
}

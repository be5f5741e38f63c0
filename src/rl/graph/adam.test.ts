import ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../core/rng.js';
import { type AdamConfig, adamStepScalars, adamUpdate, DEFAULT_ADAM } from './adam.js';
import { gradients } from './autodiff.js';
import { GraphBuilder, type Value } from './builder.js';
import { initMlp, mlpReference } from './mlp.js';

const config: AdamConfig = { ...DEFAULT_ADAM, learningRate: 3e-3 };
const sizes = [1, 32, 1];

/** One training step of a 1 → 32 → 1 regression MLP: inputs params, moments, data, step scalars. */
function trainStepGraph(): { bytes: Uint8Array; names: string[] } {
  const g = new GraphBuilder('train-step');
  const x = g.input('x', ['batch', 1]);
  const y = g.input('y', ['batch', 1]);
  const lrT = g.input('lr_t', []);
  const epsHat = g.input('eps_hat', []);
  const names = ['w0', 'b0', 'w1', 'b1'];
  const shapes = [[32, 1], [32], [1, 32], [1]];
  const params: Value[] = names.map((n, i) => g.input(n, shapes[i]!));
  const moments = names.map((n, i) => ({
    m: g.input(`m_${n}`, shapes[i]!),
    v: g.input(`v_${n}`, shapes[i]!),
  }));
  const h = g.relu(g.linear(x, params[0]!, params[1]!));
  const loss = g.reduceMean(g.square(g.sub(g.linear(h, params[2]!, params[3]!), y)));
  g.output(loss, 'loss');
  const grads = gradients(g, loss, params);
  const updated = adamUpdate(
    g,
    params.map((param, i) => ({ param, grad: grads[i]!, m: moments[i]!.m, v: moments[i]!.v })),
    lrT,
    epsHat,
  );
  updated.forEach((u, i) => {
    g.output(u.param, `new_${names[i]}`);
    g.output(u.m, `new_m_${names[i]}`);
    g.output(u.v, `new_v_${names[i]}`);
  });
  return { bytes: g.toBytes(), names };
}

describe('Adam as graph ops', () => {
  it('makes the same first step as a plain Adam on the same gradients', () => {
    const grad = [0.5, -2, 1e-3];
    const param = [1, 2, 3];
    const { lrT, epsHat } = adamStepScalars(1, config);
    // Plain Adam, step 1: m̂ = g, v̂ = g², p − lr · g / (|g| + ε).
    const expected = param.map(
      (p, i) => p - (config.learningRate * grad[i]!) / (Math.abs(grad[i]!) + config.epsilon),
    );
    const viaScalars = param.map((p, i) => {
      const m = (1 - config.beta1) * grad[i]!;
      const v = (1 - config.beta2) * grad[i]! ** 2;
      return p - (lrT * m) / (Math.sqrt(v) + epsHat);
    });
    for (const [i, v] of viaScalars.entries()) expect(v).toBeCloseTo(expected[i]!, 12);
  });

  it('trains a small network through onnxruntime: the loss falls by 20× on y = sin(3x)', async () => {
    const rng = Rng.fromSeed(7);
    const { bytes, names } = trainStepGraph();
    const session = await ort.InferenceSession.create(bytes);
    try {
      const init = initMlp(sizes, rng);
      const state: Record<string, Float32Array> = {};
      [init.weights[0]!, init.biases[0]!, init.weights[1]!, init.biases[1]!].forEach((p, i) => {
        state[names[i]!] = p;
        state[`m_${names[i]}`] = new Float32Array(p.length);
        state[`v_${names[i]}`] = new Float32Array(p.length);
      });
      const shapes: Record<string, number[]> = { w0: [32, 1], b0: [32], w1: [1, 32], b1: [1] };
      const n = 64;
      const xs = Float32Array.from({ length: n }, (_, i) => -1 + (2 * i) / (n - 1));
      const ys = xs.map((x) => Math.sin(3 * x));
      let first = 0;
      let last = 0;
      for (let t = 1; t <= 400; t++) {
        const { lrT, epsHat } = adamStepScalars(t, config);
        const feeds: Record<string, ort.Tensor> = {
          x: new ort.Tensor('float32', xs, [n, 1]),
          y: new ort.Tensor('float32', ys, [n, 1]),
          lr_t: new ort.Tensor('float32', Float32Array.of(lrT), []),
          eps_hat: new ort.Tensor('float32', Float32Array.of(epsHat), []),
        };
        for (const name of names) {
          for (const key of [name, `m_${name}`, `v_${name}`])
            feeds[key] = new ort.Tensor('float32', state[key]!, shapes[name]!);
        }
        const out = await session.run(feeds);
        const loss = (out.loss!.data as Float32Array)[0]!;
        if (t === 1) {
          first = loss;
          // The graph's loss is the reference network's loss on the same weights.
          const prediction = mlpReference(init, xs, n, 'none');
          const reference = prediction.reduce((s, p, i) => s + (p - ys[i]!) ** 2, 0) / n;
          expect(loss).toBeCloseTo(reference, 5);
        }
        last = loss;
        for (const name of names) {
          state[name] = out[`new_${name}`]!.data as Float32Array;
          state[`m_${name}`] = out[`new_m_${name}`]!.data as Float32Array;
          state[`v_${name}`] = out[`new_v_${name}`]!.data as Float32Array;
        }
      }
      expect(last).toBeLessThan(first / 20);
    } finally {
      await session.release();
    }
  });
});

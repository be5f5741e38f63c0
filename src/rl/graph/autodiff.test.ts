import ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../core/rng.js';
import { gradients } from './autodiff.js';
import { GraphBuilder } from './builder.js';

type Feeds = Record<string, { data: Float64Array; dims: number[] }>;

async function run(g: GraphBuilder, feeds: Feeds): Promise<Record<string, Float32Array>> {
  const session = await ort.InferenceSession.create(g.toBytes());
  try {
    const tensors = Object.fromEntries(
      Object.entries(feeds).map(([k, v]) => [
        k,
        new ort.Tensor('float32', Float32Array.from(v.data), v.dims),
      ]),
    );
    const out = await session.run(tensors);
    return Object.fromEntries(Object.entries(out).map(([k, t]) => [k, t.data as Float32Array]));
  } finally {
    await session.release();
  }
}

/** Central finite differences of a float64 loss with respect to every value of every feed. */
function finiteDifferences(loss: (feeds: Feeds) => number, feeds: Feeds, names: string[], eps = 1e-5) {
  const out: Record<string, Float64Array> = {};
  for (const name of names) {
    const data = feeds[name]!.data;
    const grad = new Float64Array(data.length);
    for (let i = 0; i < data.length; i++) {
      const keep = data[i]!;
      data[i] = keep + eps;
      const up = loss(feeds);
      data[i] = keep - eps;
      const down = loss(feeds);
      data[i] = keep;
      grad[i] = (up - down) / (2 * eps);
    }
    out[name] = grad;
  }
  return out;
}

function expectClose(got: Float32Array, expected: Float64Array, what: string): void {
  expect(got.length, what).toBe(expected.length);
  const scale = Math.max(1e-3, ...Array.from(expected, Math.abs));
  for (let i = 0; i < expected.length; i++) {
    expect(Math.abs(got[i]! - expected[i]!) / scale, `${what}[${i}]`).toBeLessThan(2e-3);
  }
}

const random = (rng: Rng, n: number, scale = 1) =>
  Float64Array.from({ length: n }, () => rng.uniform(-scale, scale));

describe('gradients', () => {
  it('match finite differences for an MLP regression loss (Gemm, ReLU, tanh, Sub, square, mean)', async () => {
    const rng = Rng.fromSeed(4);
    const [n, inSize, hidden, outSize] = [5, 4, 8, 2];
    const feeds: Feeds = {
      x: { data: random(rng, n * inSize, 2), dims: [n, inSize] },
      y: { data: random(rng, n * outSize, 0.8), dims: [n, outSize] },
      w0: { data: random(rng, hidden * inSize), dims: [hidden, inSize] },
      b0: { data: random(rng, hidden, 0.5), dims: [hidden] },
      w1: { data: random(rng, outSize * hidden), dims: [outSize, hidden] },
      b1: { data: random(rng, outSize, 0.5), dims: [outSize] },
    };
    const g = new GraphBuilder('mlp-loss');
    const x = g.input('x', ['batch', inSize]);
    const y = g.input('y', ['batch', outSize]);
    const w0 = g.input('w0', [hidden, inSize]);
    const b0 = g.input('b0', [hidden]);
    const w1 = g.input('w1', [outSize, hidden]);
    const b1 = g.input('b1', [outSize]);
    const prediction = g.tanh(g.linear(g.relu(g.linear(x, w0, b0)), w1, b1));
    const loss = g.reduceMean(g.square(g.sub(prediction, y)));
    g.output(loss, 'loss');
    const wrt = ['w0', 'b0', 'w1', 'b1', 'x'];
    for (const [i, grad] of gradients(g, loss, [w0, b0, w1, b1, x]).entries()) g.output(grad, `d_${wrt[i]}`);

    const reference = (f: Feeds) => {
      let total = 0;
      for (let r = 0; r < n; r++) {
        const h = Array.from({ length: hidden }, (_, o) => {
          let s = f.b0!.data[o]!;
          for (let k = 0; k < inSize; k++) s += f.w0!.data[o * inSize + k]! * f.x!.data[r * inSize + k]!;
          return Math.max(0, s);
        });
        for (let o = 0; o < outSize; o++) {
          let s = f.b1!.data[o]!;
          for (let k = 0; k < hidden; k++) s += f.w1!.data[o * hidden + k]! * h[k]!;
          total += (Math.tanh(s) - f.y!.data[r * outSize + o]!) ** 2;
        }
      }
      return total / (n * outSize);
    };
    const out = await run(g, feeds);
    expect(out.loss![0]).toBeCloseTo(reference(feeds), 5);
    const fd = finiteDifferences(reference, feeds, wrt);
    for (const name of wrt) expectClose(out[`d_${name}`]!, fd[name]!, name);
  });

  it('match finite differences through Min, Clip, Div, Exp, Log, Neg and broadcasting', async () => {
    const rng = Rng.fromSeed(5);
    const feeds: Feeds = {
      a: { data: random(rng, 6, 1.5), dims: [3, 2] },
      b: { data: random(rng, 2, 0.5), dims: [2] },
    };
    const g = new GraphBuilder('ops-loss');
    const a = g.input('a', ['n', 2]);
    const b = g.input('b', [2]);
    const ratio = g.div(g.exp(a), g.add(b, g.scalar(2)));
    const smaller = g.min(ratio, g.log(g.add(g.square(a), g.scalar(1))));
    const clipped = g.clip(g.sub(a, b), -0.5, 0.5);
    const loss = g.reduceMean(g.add(smaller, g.neg(g.mul(clipped, b))));
    g.output(loss, 'loss');
    for (const [i, grad] of gradients(g, loss, [a, b]).entries()) g.output(grad, `d_${['a', 'b'][i]}`);
    const reference = (f: Feeds) => {
      let total = 0;
      for (let r = 0; r < 3; r++) {
        for (let c = 0; c < 2; c++) {
          const av = f.a!.data[r * 2 + c]!;
          const bv = f.b!.data[c]!;
          const m = Math.min(Math.exp(av) / (bv + 2), Math.log(av * av + 1));
          total += m - Math.min(0.5, Math.max(-0.5, av - bv)) * bv;
        }
      }
      return total / 6;
    };
    const out = await run(g, feeds);
    expect(out.loss![0]).toBeCloseTo(reference(feeds), 5);
    const fd = finiteDifferences(reference, feeds, ['a', 'b']);
    expectClose(out.d_a!, fd.a!, 'a');
    expectClose(out.d_b!, fd.b!, 'b');
  });

  it('match finite differences through Sqrt and a row-wise LayerNorm (mean and variance over features)', async () => {
    const rng = Rng.fromSeed(6);
    const feeds: Feeds = {
      h: { data: random(rng, 12, 2), dims: [3, 4] },
      w: { data: random(rng, 4, 1), dims: [4] },
    };
    const g = new GraphBuilder('layer-norm-loss');
    const h = g.input('h', ['n', 4]);
    const w = g.input('w', [4]);
    const centred = g.sub(h, g.reduceMean(h, [1], true));
    const variance = g.reduceMean(g.square(centred), [1], true);
    const normalised = g.div(centred, g.sqrt(g.add(variance, g.scalar(1e-5))));
    const loss = g.reduceMean(g.mul(g.tanh(normalised), w));
    g.output(loss, 'loss');
    for (const [i, grad] of gradients(g, loss, [h, w]).entries()) g.output(grad, `d_${['h', 'w'][i]}`);
    const reference = (f: Feeds) => {
      let total = 0;
      for (let r = 0; r < 3; r++) {
        const row = Array.from(f.h!.data.subarray(r * 4, r * 4 + 4));
        const mean = row.reduce((a, v) => a + v, 0) / 4;
        const variance = row.reduce((a, v) => a + (v - mean) ** 2, 0) / 4;
        row.forEach((v, c) => {
          total += Math.tanh((v - mean) / Math.sqrt(variance + 1e-5)) * f.w!.data[c]!;
        });
      }
      return total / 12;
    };
    const out = await run(g, feeds);
    expect(out.loss![0]).toBeCloseTo(reference(feeds), 5);
    const fd = finiteDifferences(reference, feeds, ['h', 'w']);
    expectClose(out.d_h!, fd.h!, 'h');
    expectClose(out.d_w!, fd.w!, 'w');
  });

  it('match finite differences through Concat and column slices (a critic on [observation, action])', async () => {
    const rng = Rng.fromSeed(6);
    const feeds: Feeds = {
      s: { data: random(rng, 8), dims: [4, 2] },
      a: { data: random(rng, 4), dims: [4, 1] },
      w: { data: random(rng, 6), dims: [2, 3] },
      c: { data: random(rng, 2), dims: [2] },
    };
    const g = new GraphBuilder('concat-loss');
    const s = g.input('s', ['n', 2]);
    const a = g.input('a', ['n', 1]);
    const w = g.input('w', [2, 3]);
    const c = g.input('c', [2]);
    const q = g.tanh(g.linear(g.concat([s, a]), w, c));
    const loss = g.add(g.reduceMean(g.square(q)), g.reduceMean(g.columns(s, 1, 2)));
    g.output(loss, 'loss');
    const names = ['s', 'a', 'w', 'c'];
    for (const [i, grad] of gradients(g, loss, [s, a, w, c]).entries()) g.output(grad, `d_${names[i]}`);
    const reference = (f: Feeds) => {
      let total = 0;
      let second = 0;
      for (let r = 0; r < 4; r++) {
        const input = [f.s!.data[2 * r]!, f.s!.data[2 * r + 1]!, f.a!.data[r]!];
        for (let o = 0; o < 2; o++) {
          let z = f.c!.data[o]!;
          for (let k = 0; k < 3; k++) z += f.w!.data[o * 3 + k]! * input[k]!;
          total += Math.tanh(z) ** 2;
        }
        second += f.s!.data[2 * r + 1]!;
      }
      return total / 8 + second / 4;
    };
    const out = await run(g, feeds);
    expect(out.loss![0]).toBeCloseTo(reference(feeds), 5);
    const fd = finiteDifferences(reference, feeds, names);
    for (const name of names) expectClose(out[`d_${name}`]!, fd[name]!, name);
  });

  it('adds no nodes for gradients nothing asked for (onnxruntime would run them anyway)', () => {
    const g = new GraphBuilder('pruned');
    const x = g.input('x', ['n', 4]);
    const w = g.input('w', [3, 4]);
    const b = g.input('b', [3]);
    // A critic read by an actor loss: gradients reach x through W, but W and b want none.
    const loss = g.reduceMean(g.square(g.linear(x, g.stopGradient(w), g.stopGradient(b))));
    const before = g.tape.length;
    gradients(g, loss, [x]);
    const added = g.tape.slice(before);
    expect(added.some((e) => e.opType === 'MatMul')).toBe(true); // dX = dY · W
    expect(added.some((e) => e.opType === 'Gemm')).toBe(false); // no dW = dYᵀ · X
    expect(added.some((e) => e.opType === 'ReduceSum')).toBe(false); // no dB
  });

  it('gives zeros for an input the loss does not depend on, and refuses a non-scalar loss', async () => {
    const g = new GraphBuilder('unused');
    const a = g.input('a', ['n', 2]);
    const unused = g.input('u', ['n', 3]);
    const loss = g.reduceMean(g.square(a));
    g.output(loss, 'loss');
    g.output(gradients(g, loss, [unused])[0]!, 'd_u');
    const out = await run(g, {
      a: { data: Float64Array.of(1, 2), dims: [1, 2] },
      u: { data: Float64Array.of(1, 2, 3), dims: [1, 3] },
    });
    expect(Array.from(out.d_u!)).toEqual([0, 0, 0]);
    expect(() => gradients(g, a, [a])).toThrow(/must be a scalar/);
  });
});

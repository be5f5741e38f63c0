import onnxProto from 'onnx-proto';
import ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../core/rng.js';
import { GraphBuildError, GraphBuilder } from './builder.js';
import { initMlp, mlpGraph, mlpReference } from './mlp.js';

async function run(bytes: Uint8Array, feeds: Record<string, { data: Float32Array; dims: number[] }>) {
  const session = await ort.InferenceSession.create(bytes);
  try {
    const tensors = Object.fromEntries(
      Object.entries(feeds).map(([k, v]) => [k, new ort.Tensor('float32', v.data, v.dims)]),
    );
    return await session.run(tensors);
  } finally {
    await session.release();
  }
}

describe('GraphBuilder', () => {
  it('builds an actor MLP that onnxruntime runs with the same outputs as the reference (1e-5)', async () => {
    const rng = Rng.fromSeed(0);
    const params = initMlp([18, 64, 64, 3], rng);
    const g = new GraphBuilder('actor');
    const obs = g.input('obs', ['batch', 18]);
    g.output(mlpGraph(g, obs, params, { prefix: 'actor', output: 'tanh' }), 'action');
    const rows = 7;
    const input = Float32Array.from({ length: rows * 18 }, () => rng.uniform(-2, 2));
    const out = await run(g.toBytes(), { obs: { data: input, dims: [rows, 18] } });
    const expected = mlpReference(params, input, rows, 'tanh');
    const got = out.action!.data as Float32Array;
    expect(out.action!.dims).toEqual([rows, 3]);
    for (let i = 0; i < expected.length; i++) expect(Math.abs(got[i]! - expected[i]!)).toBeLessThan(1e-5);
  });

  it('runs elementwise ops, clipping and reductions with broadcasting', async () => {
    const g = new GraphBuilder('ops');
    const a = g.input('a', ['n', 2]);
    const b = g.input('b', [2]);
    const diff = g.sub(a, b);
    g.output(g.reduceMean(g.square(diff)), 'mse');
    g.output(g.clip(g.mul(a, g.scalar(10)), -5, 5), 'clipped');
    g.output(g.min(g.exp(g.neg(a)), g.scalar(1)), 'capped');
    const out = await run(g.toBytes(), {
      a: { data: Float32Array.of(1, 2, 3, 4), dims: [2, 2] },
      b: { data: Float32Array.of(1, 1), dims: [2] },
    });
    expect((out.mse!.data as Float32Array)[0]).toBeCloseTo((0 + 1 + 4 + 9) / 4, 6);
    expect(Array.from(out.clipped!.data as Float32Array)).toEqual([5, 5, 5, 5]);
    expect((out.capped!.data as Float32Array)[0]).toBeCloseTo(Math.exp(-1), 6);
  });

  it('serialises only the nodes the outputs need, and names outputs without copying them', async () => {
    const g = new GraphBuilder('pruned');
    const x = g.input('x', [2]);
    const y = g.add(x, g.scalar(1));
    g.mul(y, g.scalar(3)); // read by no output
    g.output(y, 'y');
    g.output(y, 'y_again');
    const bytes = g.toBytes();
    const nodes = onnxProto.onnx.ModelProto.decode(bytes).graph?.node ?? [];
    expect(nodes.map((n) => n.opType)).toEqual(['Add', 'Identity']);
    const out = await run(bytes, { x: { data: Float32Array.of(1, 2), dims: [2] } });
    expect(Array.from(out.y!.data as Float32Array)).toEqual([2, 3]);
    expect(Array.from(out.y_again!.data as Float32Array)).toEqual([2, 3]);
  });

  it('reports shape mistakes where they are made', () => {
    const g = new GraphBuilder('bad');
    const x = g.input('x', ['n', 4]);
    const w = g.constant('w', new Float32Array(6), [2, 3]);
    const b = g.constant('b', new Float32Array(2), [2]);
    expect(() => g.linear(x, w, b)).toThrow(GraphBuildError);
    expect(() => g.linear(x, w, b)).toThrow(/input has 4 features, weight w expects 3/);
    expect(() => g.add(x, g.constant('v', new Float32Array(3), [3]))).toThrow(/do not broadcast/);
    expect(() => g.input('x', [1])).toThrow(/'x' is already used/);
    expect(() => g.constant('c', new Float32Array(5), [2, 2])).toThrow(/5 values for shape \[2,2\]/);
  });
});

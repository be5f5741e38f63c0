import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Rng } from '../core/rng.js';
import { mlpReference } from './graph/mlp.js';
import { type LearnerBatch, LearnerStateMismatchError } from './learner.js';
import { RunningNormalizer } from './normalizer.js';
import { OnnxPolicy } from './onnx-policy.js';
import { exportPolicy } from './policy-export.js';
import { SacConfigSchema, SacLearner } from './sac.js';
import { NonFiniteUpdateError } from './td3.js';

const config = SacConfigSchema.parse({ hidden: [16, 16], batchSize: 8 });
const sizes = { input: 5, action: 2 };

function batch(rng: Rng, poison = false): LearnerBatch {
  const n = 8;
  const values = (k: number) => Float32Array.from({ length: n * k }, () => rng.uniform(-1, 1));
  const reward = values(1);
  if (poison) reward[3] = Number.NaN;
  return {
    size: n,
    input: values(5),
    action: values(2),
    reward,
    notDone: new Float32Array(n).fill(1),
    nextInput: values(5),
  };
}

async function withLearner<T>(
  cfg: typeof config,
  seed: number,
  body: (learner: SacLearner) => Promise<T>,
): Promise<T> {
  const learner = await SacLearner.create(cfg, sizes, Rng.fromSeed(seed));
  try {
    return await body(learner);
  } finally {
    await learner.close();
  }
}

describe('SacLearner', () => {
  it('has RL Zoo’s panda-gym SAC+HER defaults, with HER’s 3 × 256 networks', () => {
    const d = SacConfigSchema.parse({});
    expect(d).toMatchObject({
      learningRate: 1e-3,
      batchSize: 256,
      gamma: 0.95,
      tau: 0.05,
      hidden: [256, 256, 256],
      entCoef: 'auto',
      initialEntCoef: 1,
      targetEntropy: 'auto',
      targetUpdateInterval: 1,
      imitation: { enabled: false },
    });
  });

  it('moves actor, critics, targets and α in one step, and reports SB3’s stats', async () => {
    await withLearner(config, 0, async (learner) => {
      const rng = Rng.fromSeed(1);
      const names = ['actor.2.weight', 'q1.0.weight', 'q2.1.bias', 'q1_target.2.weight', 'log_alpha'];
      const before = names.map((n) => learner.parameter(n));
      const stats = await learner.update(batch(rng), rng);
      for (const [i, n] of names.entries()) expect(learner.parameter(n), n).not.toEqual(before[i]);
      expect(Object.keys(stats).sort()).toEqual([
        'train/actor_loss',
        'train/critic_loss',
        'train/ent_coef',
        'train/ent_coef_loss',
        'train/q1_mean',
      ]);
      for (const v of Object.values(stats)) expect(Number.isFinite(v)).toBe(true);
      // The first step uses α = initialEntCoef: SB3 reads α before its own update.
      expect(stats['train/ent_coef']).toBeCloseTo(1, 6);
      expect(learner.steps).toBe(1);
    });
  });

  it('lowers α when the policy’s entropy is above the target and raises it when below', async () => {
    const logAlphaAfter = (targetEntropy: number) =>
      withLearner({ ...config, targetEntropy }, 0, async (learner) => {
        const rng = Rng.fromSeed(2);
        for (let i = 0; i < 5; i++) await learner.update(batch(rng), rng);
        return learner.parameter('log_alpha')[0]!;
      });
    // The entropy of a tanh-squashed Gaussian on [-1, 1]² is at most 2 log 2 ≈ 1.39.
    expect(await logAlphaAfter(-50)).toBeLessThan(0);
    expect(await logAlphaAfter(2)).toBeGreaterThan(0);
  });

  it('keeps a fixed entropy coefficient when configured as a number', async () => {
    await withLearner({ ...config, entCoef: 0.1 }, 0, async (learner) => {
      const rng = Rng.fromSeed(3);
      const stats = await learner.update(batch(rng), rng);
      expect(stats['train/ent_coef']).toBeCloseTo(0.1, 6);
      expect(stats['train/ent_coef_loss']).toBeUndefined();
      expect(() => learner.parameter('log_alpha')).toThrow(/no parameter/);
    });
  });

  it('updates the targets every targetUpdateInterval steps, the first included', async () => {
    await withLearner({ ...config, targetUpdateInterval: 2 }, 0, async (learner) => {
      const rng = Rng.fromSeed(4);
      const target = () => learner.parameter('q2_target.0.weight');
      const t0 = target();
      await learner.update(batch(rng), rng);
      const t1 = target();
      expect(t1).not.toEqual(t0);
      await learner.update(batch(rng), rng);
      expect(target()).toEqual(t1);
      await learner.update(batch(rng), rng);
      expect(target()).not.toEqual(t1);
    });
  });

  it('rejects an update with NaN in the batch and keeps everything it had', async () => {
    await withLearner(config, 0, async (learner) => {
      const rng = Rng.fromSeed(5);
      await learner.update(batch(rng), rng);
      const before = learner.getState();
      await expect(learner.update(batch(rng, true), rng)).rejects.toThrow(NonFiniteUpdateError);
      expect(learner.getState()).toEqual(before);
      expect(learner.steps).toBe(1);
      expect(Number.isFinite((await learner.update(batch(rng), rng))['train/critic_loss'])).toBe(true);
    });
  });

  it('is deterministic: same seeds, same weights after several updates', async () => {
    const train = () =>
      withLearner(config, 6, async (learner) => {
        const rng = Rng.fromSeed(7);
        for (let i = 0; i < 6; i++) await learner.update(batch(rng), rng);
        return [...learner.parameter('actor.2.weight'), ...learner.parameter('log_alpha')];
      });
    expect(await train()).toEqual(await train());
  });

  it('saves and restores its whole state (log α and its Adam moments included)', async () => {
    const original = await SacLearner.create(config, sizes, Rng.fromSeed(8));
    const restored = await SacLearner.create(config, sizes, Rng.fromSeed(99));
    try {
      const rng = Rng.fromSeed(9);
      for (let i = 0; i < 3; i++) await original.update(batch(rng), rng);
      const state = original.getState();
      expect(Object.keys(state.tensors)).toEqual(
        expect.arrayContaining(['log_alpha', 'm.log_alpha', 'v.log_alpha']),
      );
      restored.loadState(state);
      expect(restored.steps).toBe(3);
      const next = batch(rng);
      const rngState = rng.getState();
      const a = await original.update(next, rng);
      const b = await restored.update(next, Rng.fromState(rngState));
      expect(b).toEqual(a);
      expect(restored.getState()).toEqual(original.getState());
    } finally {
      await original.close();
      await restored.close();
    }
  });

  it('refuses a saved state of another size, algorithm or entropy setting', async () => {
    const auto = await SacLearner.create(config, sizes, Rng.fromSeed(0));
    const wide = await SacLearner.create({ ...config, hidden: [32, 16] }, sizes, Rng.fromSeed(0));
    const fixed = await SacLearner.create({ ...config, entCoef: 0.2 }, sizes, Rng.fromSeed(0));
    try {
      expect(() => wide.loadState(auto.getState())).toThrow(LearnerStateMismatchError);
      expect(() => wide.loadState(auto.getState())).toThrow(
        /actor\.0\.weight is \[16, 5\], expected \[32, 5\]/,
      );
      expect(() => fixed.loadState(auto.getState())).toThrow(/log_alpha is not a tensor of this learner/);
      expect(() => auto.loadState({ ...auto.getState(), algorithm: 'td3' })).toThrow(/saved learner is td3/);
    } finally {
      await auto.close();
      await wide.close();
      await fixed.close();
    }
  });

  it('acts with tanh(μ) deterministically and samples the squashed Gaussian to explore', async () => {
    await withLearner(config, 10, async (learner) => {
      const rng = Rng.fromSeed(11);
      for (let i = 0; i < 4; i++) await learner.update(batch(rng), rng);
      const input = Float32Array.from({ length: 15 }, () => rng.uniform(-2, 2));
      const policy = learner.policyParameters();
      expect(policy.sizes).toEqual([5, 16, 16, 2]);
      // The full actor's first `action` outputs are μ.
      const full = {
        sizes: [5, 16, 16, 4],
        weights: [0, 1, 2].map((i) => learner.parameter(`actor.${i}.weight`)),
        biases: [0, 1, 2].map((i) => learner.parameter(`actor.${i}.bias`)),
      };
      const out = mlpReference(full, input, 3, 'none');
      const deterministic = learner.act(input, 3, 'deterministic', rng);
      for (let r = 0; r < 3; r++)
        for (let j = 0; j < 2; j++)
          expect(deterministic[r * 2 + j]).toBeCloseTo(Math.tanh(out[r * 4 + j]!), 5);
      const explored = learner.act(input, 3, 'explore', rng);
      expect(explored).not.toEqual(deterministic);
      for (const v of explored) expect(Math.abs(v)).toBeLessThanOrEqual(1);
    });
  });

  it('exports tanh(μ) through policy-export.ts unchanged: the ONNX policy acts as the learner does', async () => {
    await withLearner(config, 13, async (learner) => {
      const rng = Rng.fromSeed(14);
      for (let i = 0; i < 3; i++) await learner.update(batch(rng), rng);
      const normalizer = new RunningNormalizer(5, { clip: 5 });
      normalizer.update(
        Float64Array.from({ length: 5 * 50 }, () => rng.normal() * 0.7 + 0.2),
        50,
      );
      const file = join(mkdtempSync(join(tmpdir(), 'armprior-sac-')), 'policy.onnx');
      const metadata = {
        task: 'reach',
        inputSize: 5,
        actionSize: 2,
        observationFields: ['x'],
        algorithm: 'sac',
      };
      writeFileSync(file, exportPolicy(learner.policyParameters(), normalizer, metadata));
      const policy = await OnnxPolicy.load(file, { inputSize: 5, actionSize: 2 });
      try {
        const observation = Float64Array.of(0.3, -0.2, 0.5);
        const goal = Float64Array.of(0.1, -0.4);
        const normalized = new Float64Array(5);
        normalizer.normalize(Float64Array.of(0.3, -0.2, 0.5, 0.1, -0.4), 1, normalized);
        const expected = learner.act(Float32Array.from(normalized), 1, 'deterministic', rng);
        const action = await policy.act(observation, goal);
        for (let j = 0; j < 2; j++) expect(action[j]).toBeCloseTo(expected[j]!, 5);
      } finally {
        await policy.close();
      }
    });
  });

  it('pulls tanh(μ) toward the prior’s actions with the imitation term, its weight decaying', async () => {
    const imitationConfig = SacConfigSchema.parse({
      hidden: [16, 16],
      learningRate: 3e-3,
      imitation: { enabled: true, qFilter: false, initialWeight: 5, finalWeight: 1, decaySteps: 100 },
    });
    await withLearner(imitationConfig, 0, async (learner) => {
      const rng = Rng.fromSeed(12);
      const withPrior = () => ({
        ...batch(rng),
        reward: new Float32Array(8),
        priorAction: Float32Array.from({ length: 16 }, (_, i) => (i % 2 === 0 ? 0.5 : -0.5)),
        hasPriorAction: new Float32Array(8).fill(1),
      });
      const first = await learner.update(withPrior(), rng);
      let last = first;
      for (let i = 0; i < 150; i++) last = await learner.update(withPrior(), rng);
      expect(first['train/imitation_weight']).toBe(5);
      expect(last['train/imitation_weight']).toBe(1);
      expect(last['train/imitation_fraction']).toBe(1);
      expect(last['train/imitation_loss']!).toBeLessThan(first['train/imitation_loss']! / 4);
      await expect(learner.update(batch(rng), rng)).rejects.toThrow(/needs priorAction/);
    });
  });

  it('reports every bad config field at once', () => {
    const result = SacConfigSchema.safeParse({
      gamma: 2,
      tau: -1,
      batchSize: 0,
      entCoef: 'auto_0.1',
      initialEntCoef: 0,
      targetUpdateInterval: 0,
      policyDelay: 2,
    });
    expect(result.success).toBe(false);
    const paths = result.error?.issues.map((i) => i.path[0] ?? i.message) ?? [];
    expect(paths).toEqual(
      expect.arrayContaining([
        'gamma',
        'tau',
        'batchSize',
        'entCoef',
        'initialEntCoef',
        'targetUpdateInterval',
      ]),
    );
    expect(JSON.stringify(result.error?.issues)).toContain('policyDelay');
  });
});

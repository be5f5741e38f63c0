import { describe, expect, it } from 'vitest';
import { Rng } from '../core/rng.js';
import { mlpReference } from './graph/mlp.js';
import { LearnerStateMismatchError } from './learner.js';
import { NonFiniteUpdateError, type Td3Batch, Td3ConfigSchema, Td3Learner } from './td3.js';

const config = Td3ConfigSchema.parse({ hidden: [16, 16], batchSize: 8, policyDelay: 2 });
const sizes = { input: 5, action: 2 };

function batch(rng: Rng, poison = false): Td3Batch {
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

describe('Td3Learner', () => {
  it('updates the critics every step and the actor every policyDelay steps', async () => {
    const learner = await Td3Learner.create(config, sizes, Rng.fromSeed(0));
    try {
      const rng = Rng.fromSeed(1);
      const actorBefore = learner.parameter('actor.0.weight');
      const criticBefore = learner.parameter('q1.0.weight');
      const first = await learner.update(batch(rng), rng);
      expect(Number.isFinite(first['train/critic_loss'])).toBe(true);
      expect(first['train/actor_loss']).toBeUndefined();
      expect(learner.parameter('q1.0.weight')).not.toEqual(criticBefore);
      expect(learner.parameter('actor.0.weight')).toEqual(actorBefore);
      const second = await learner.update(batch(rng), rng);
      expect(Number.isFinite(second['train/actor_loss'])).toBe(true);
      expect(learner.parameter('actor.0.weight')).not.toEqual(actorBefore);
      expect(learner.steps).toBe(2);
    } finally {
      await learner.close();
    }
  });

  it('rejects an update with NaN in the batch and keeps the weights it had', async () => {
    const learner = await Td3Learner.create(config, sizes, Rng.fromSeed(0));
    try {
      const rng = Rng.fromSeed(2);
      await learner.update(batch(rng), rng);
      const before = learner.parameter('q2.1.weight');
      await expect(learner.update(batch(rng, true), rng)).rejects.toThrow(NonFiniteUpdateError);
      expect(learner.parameter('q2.1.weight')).toEqual(before);
      expect(learner.steps).toBe(1);
      expect(Number.isFinite((await learner.update(batch(rng), rng))['train/critic_loss'])).toBe(true);
    } finally {
      await learner.close();
    }
  });

  it('is deterministic: same seeds, same weights after several updates', async () => {
    const train = async () => {
      const learner = await Td3Learner.create(config, sizes, Rng.fromSeed(5));
      const rng = Rng.fromSeed(6);
      for (let i = 0; i < 6; i++) await learner.update(batch(rng), rng);
      const weights = learner.parameter('actor.2.weight');
      await learner.close();
      return Array.from(weights);
    };
    expect(await train()).toEqual(await train());
  });

  it('pulls the actor toward the prior’s actions with the imitation term, its weight decaying', async () => {
    const imitationConfig = Td3ConfigSchema.parse({
      hidden: [16, 16],
      batchSize: 8,
      policyDelay: 1,
      learningRate: 3e-3,
      imitation: { enabled: true, qFilter: false, initialWeight: 5, finalWeight: 1, decaySteps: 100 },
    });
    const learner = await Td3Learner.create(imitationConfig, sizes, Rng.fromSeed(0));
    try {
      const rng = Rng.fromSeed(3);
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
    } finally {
      await learner.close();
    }
  });

  it('gates the imitation term with the Q-filter only from qFilterFromStep environment steps on', async () => {
    const filterConfig = Td3ConfigSchema.parse({
      hidden: [16, 16],
      batchSize: 8,
      policyDelay: 1,
      imitation: { enabled: true, qFilter: true, qFilterFromStep: 1000 },
    });
    /** The imitation fraction of one actor step from the same learner and batch, at `envSteps`. */
    const fraction = async (envSteps: number | undefined) => {
      const learner = await Td3Learner.create(filterConfig, sizes, Rng.fromSeed(0));
      try {
        const rng = Rng.fromSeed(4);
        const stats = await learner.update(
          {
            ...batch(rng),
            priorAction: Float32Array.from({ length: 16 }, () => rng.uniform(-1, 1)),
            hasPriorAction: new Float32Array(8).fill(1),
          },
          rng,
          envSteps,
        );
        return stats['train/imitation_fraction']!;
      } finally {
        await learner.close();
      }
    };
    expect(await fraction(999)).toBe(1); // before the switch every labelled row imitates
    const filtered = await fraction(1000);
    expect(filtered).toBeLessThan(1); // the untrained critic rates some prior actions lower
    expect(filtered).toBeGreaterThan(0);
    expect(await fraction(undefined)).toBe(filtered); // no step count: the filter is on
  });

  it('saves and restores its whole state: a restored learner continues exactly like the original', async () => {
    const original = await Td3Learner.create(config, sizes, Rng.fromSeed(7));
    const restored = await Td3Learner.create(config, sizes, Rng.fromSeed(99));
    try {
      const rng = Rng.fromSeed(8);
      for (let i = 0; i < 3; i++) await original.update(batch(rng), rng);
      restored.loadState(original.getState());
      expect(restored.steps).toBe(3);
      const next = batch(rng);
      const rngState = rng.getState();
      const a = await original.update(next, rng);
      const b = await restored.update(next, Rng.fromState(rngState));
      expect(b).toEqual(a);
      expect(restored.parameter('actor.1.weight')).toEqual(original.parameter('actor.1.weight'));
      expect(restored.parameter('m.q2.0.weight')).toEqual(original.parameter('m.q2.0.weight'));
    } finally {
      await original.close();
      await restored.close();
    }
  });

  it('refuses a saved state of another network size, naming the tensors that differ', async () => {
    const small = await Td3Learner.create(config, sizes, Rng.fromSeed(0));
    const wide = await Td3Learner.create({ ...config, hidden: [32, 16] }, sizes, Rng.fromSeed(0));
    try {
      expect(() => wide.loadState(small.getState())).toThrow(LearnerStateMismatchError);
      expect(() => wide.loadState(small.getState())).toThrow(
        /actor\.0\.weight is \[16, 5\], expected \[32, 5\]/,
      );
      expect(() => wide.loadState({ ...small.getState(), algorithm: 'sac' })).toThrow(/saved learner is sac/);
    } finally {
      await small.close();
      await wide.close();
    }
  });

  it('acts on the host with the trained actor; exploration adds clipped noise', async () => {
    const learner = await Td3Learner.create(config, sizes, Rng.fromSeed(4));
    try {
      const rng = Rng.fromSeed(5);
      for (let i = 0; i < 4; i++) await learner.update(batch(rng), rng);
      const input = Float32Array.from({ length: 15 }, () => rng.uniform(-2, 2));
      const deterministic = learner.act(input, 3, 'deterministic', rng);
      const reference = mlpReference(learner.policyParameters(), input, 3, 'tanh');
      for (let i = 0; i < 6; i++) expect(deterministic[i]).toBeCloseTo(reference[i]!, 5);
      const explored = learner.act(input, 3, 'explore', rng);
      expect(explored).not.toEqual(deterministic);
      for (const v of explored) expect(Math.abs(v)).toBeLessThanOrEqual(1);
    } finally {
      await learner.close();
    }
  });

  it('reports every bad config field at once', () => {
    const result = Td3ConfigSchema.safeParse({ gamma: 2, tau: -1, batchSize: 0, learningrate: 1 });
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => i.path[0] ?? i.message).sort()).toEqual(
      expect.arrayContaining(['batchSize', 'gamma', 'tau']),
    );
  });
});

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../core/rng.js';
import { mlpReference } from '../graph/mlp.js';
import { type Learner, type LearnerBatch, type LearnerState, LearnerStateMismatchError } from '../learner.js';
import { RunningNormalizer } from '../normalizer.js';
import { OnnxPolicy } from '../onnx-policy.js';
import { exportPolicy } from '../policy-export.js';
import { NonFiniteUpdateError } from './actor-critic.js';
import { SacConfigSchema, SacLearner } from './sac.js';
import { Td3ConfigSchema, Td3Learner } from './td3.js';
import { randomBatch, using } from './test-helpers.js';

/** A learner as its tests see it: the contract, and its state tensors by name. */
type Subject = Learner & { parameter(name: string): Float32Array };

interface LearnerCase {
  algorithm: Learner['algorithm'];
  /** A learner of `hidden` [16, 16] (unless overridden) on 5 inputs and 2 actions. */
  create(overrides: Record<string, unknown>, seed: number): Promise<Subject>;
  /** Overrides under which every update also moves the actor. */
  actorEveryUpdate: Record<string, unknown>;
  /** Its config schema. */
  schema: typeof Td3ConfigSchema | typeof SacConfigSchema;
  /** Every per-layer tensor of its saved state for hidden [h]: the checkpoint format. */
  stateShapes(h: number): [string, number[]][];
}

/** The per-layer tensors of an MLP `name` of these sizes: `<name>.<i>.weight` [out, in], `.bias` [out]. */
const mlp = (name: string, sizes: number[]): [string, number[]][] =>
  sizes.slice(1).flatMap((out, i): [string, number[]][] => [
    [`${name}.${i}.weight`, [out, sizes[i]!]],
    [`${name}.${i}.bias`, [out]],
  ]);
const withMoments = (tensors: [string, number[]][]): [string, number[]][] =>
  tensors.flatMap(([name, shape]): [string, number[]][] => [
    [name, shape],
    [`m.${name}`, shape],
    [`v.${name}`, shape],
  ]);

/** `create` for a learner class and its config schema. */
function creator<Config>(
  schema: { parse(input: unknown): Config },
  learner: { create(config: Config, sizes: { input: number; action: number }, rng: Rng): Promise<Subject> },
): LearnerCase['create'] {
  return (overrides, seed) =>
    learner.create(
      schema.parse({ hidden: [16, 16], batchSize: 8, ...overrides }),
      { input: 5, action: 2 },
      Rng.fromSeed(seed),
    );
}

const learners: LearnerCase[] = [
  {
    algorithm: 'td3',
    create: creator(Td3ConfigSchema, Td3Learner),
    actorEveryUpdate: { policyDelay: 1 },
    schema: Td3ConfigSchema,
    stateShapes: (h) => [
      ...withMoments(mlp('actor', [5, h, 2])),
      ...mlp('actor_target', [5, h, 2]),
      ...withMoments(mlp('q1', [7, h, 1])),
      ...mlp('q1_target', [7, h, 1]),
      ...withMoments(mlp('q2', [7, h, 1])),
      ...mlp('q2_target', [7, h, 1]),
    ],
  },
  {
    algorithm: 'sac',
    create: creator(SacConfigSchema, SacLearner),
    actorEveryUpdate: {},
    schema: SacConfigSchema,
    // No target actor; the actor's last layer holds the mean and the log std; log α.
    stateShapes: (h) => [
      ...withMoments(mlp('actor', [5, h, 4])),
      ...withMoments(mlp('q1', [7, h, 1])),
      ...mlp('q1_target', [7, h, 1]),
      ...withMoments(mlp('q2', [7, h, 1])),
      ...mlp('q2_target', [7, h, 1]),
      ...withMoments([['log_alpha', [1]]]),
    ],
  },
];

/** A batch whose every row is labelled with the same prior action (0.5, −0.5). */
function labelled(rng: Rng, zeroReward = false): LearnerBatch {
  return {
    ...randomBatch(rng),
    ...(zeroReward ? { reward: new Float32Array(8) } : {}),
    priorAction: Float32Array.from({ length: 16 }, (_, i) => (i % 2 === 0 ? 0.5 : -0.5)),
    hasPriorAction: new Float32Array(8).fill(1),
  };
}

describe.each(learners)('every learner: $algorithm', (c) => {
  it('saves its state as per-layer tensors under the checkpoint names and shapes', async () => {
    await using(await c.create({ hidden: [16] }, 0), async (learner) => {
      const saved = learner.getState();
      expect(saved.algorithm).toBe(c.algorithm);
      const shapes = Object.entries(saved.tensors).map(([name, t]) => [name, t.shape]);
      expect(shapes.sort()).toEqual(c.stateShapes(16).sort());
      for (const { shape, data } of Object.values(saved.tensors))
        expect(data.length).toBe(shape.reduce((a, b) => a * b, 1));
    });
  });

  it('restores a state saved before the learners shared their core, and continues as it did', async () => {
    const fixture = JSON.parse(
      readFileSync(fileURLToPath(new URL('fixtures/states-7d75bb7.json', import.meta.url)), 'utf8'),
    );
    const old = fixture[c.algorithm] as {
      counters: Record<string, number>;
      tensors: Record<string, [number[], string]>;
      stats: Record<string, number>[];
    };
    const imitation = { enabled: true, qFilter: true, qFilterFromStep: 0, decaySteps: 10 };
    const overrides = {
      hidden: [3],
      batchSize: 4,
      imitation,
      ...(c.algorithm === 'td3' ? { normalizeActorQ: true } : {}),
    };
    await using(await c.create(overrides, 99), async (learner) => {
      const state: LearnerState = { algorithm: c.algorithm, counters: old.counters, tensors: {} };
      for (const [name, [shape, base64]] of Object.entries(old.tensors)) {
        const bytes = Buffer.from(base64, 'base64');
        state.tensors[name] = { shape, data: new Float32Array(new Uint8Array(bytes).buffer) };
      }
      learner.loadState(state);
      expect(learner.steps).toBe(old.counters.updates);
      expect(learner.getState()).toEqual(state);
      const rng = Rng.fromSeed(2);
      for (const expected of old.stats) {
        const batch = {
          ...randomBatch(rng, { size: 4 }),
          priorAction: Float32Array.from({ length: 8 }, () => rng.uniform(-1, 1)),
          hasPriorAction: Float32Array.of(1, 0, 1, 1),
        };
        const stats = await learner.update(batch, rng);
        expect(Object.keys(stats)).toEqual(Object.keys(expected));
        for (const [key, value] of Object.entries(expected))
          expect(stats[key as `train/${string}`], key).toBeCloseTo(value, 5);
      }
    });
  });

  it('rejects an update with NaN in the batch and keeps everything it had', async () => {
    await using(await c.create({}, 0), async (learner) => {
      const rng = Rng.fromSeed(2);
      await learner.update(randomBatch(rng), rng);
      const before = learner.getState();
      await expect(learner.update(randomBatch(rng, { poison: true }), rng)).rejects.toThrow(
        NonFiniteUpdateError,
      );
      expect(learner.getState()).toEqual(before);
      expect(learner.steps).toBe(1);
      expect(Number.isFinite((await learner.update(randomBatch(rng), rng))['train/critic_loss'])).toBe(true);
    });
  });

  it('rejects an update whose new parameters are not finite though its losses are, naming the layer', async () => {
    await using(await c.create(c.actorEveryUpdate, 0), async (learner) => {
      // A negative second moment: the losses are finite, the actor's Adam step is √(v < 0) = NaN.
      const state = learner.getState();
      state.tensors['v.actor.0.weight']!.data.fill(-1);
      learner.loadState(state);
      const rng = Rng.fromSeed(2);
      const update = learner.update(randomBatch(rng), rng);
      await expect(update).rejects.toThrow(NonFiniteUpdateError);
      await expect(update).rejects.toThrow(/update 1 rejected: actor(_target)?\.0\.weight became NaN/);
      expect(learner.getState()).toEqual(state);
      expect(learner.steps).toBe(0);
    });
  });

  it('is deterministic: same seeds, same state after several updates', async () => {
    const train = async () =>
      using(await c.create({}, 5), async (learner) => {
        const rng = Rng.fromSeed(6);
        for (let i = 0; i < 6; i++) await learner.update(randomBatch(rng), rng);
        return learner.getState();
      });
    const first = await train();
    expect(first.counters.updates).toBe(6);
    expect(await train()).toEqual(first);
  });

  it('saves and restores its whole state: a restored learner continues exactly like the original', async () => {
    const original = await c.create({}, 7);
    await using(await c.create({}, 99), async (restored) => {
      try {
        const rng = Rng.fromSeed(8);
        for (let i = 0; i < 3; i++) await original.update(randomBatch(rng), rng);
        restored.loadState(original.getState());
        expect(restored.steps).toBe(3);
        expect(restored.getState()).toEqual(original.getState());
        const next = randomBatch(rng);
        const rngState = rng.getState();
        const a = await original.update(next, rng);
        const b = await restored.update(next, Rng.fromState(rngState));
        expect(b).toEqual(a);
        expect(restored.getState()).toEqual(original.getState());
      } finally {
        await original.close();
      }
    });
  });

  it('refuses a saved state of another network size or algorithm, naming what differs', async () => {
    const small = await c.create({}, 0);
    await using(await c.create({ hidden: [32, 16] }, 0), async (wide) => {
      try {
        expect(() => wide.loadState(small.getState())).toThrow(LearnerStateMismatchError);
        expect(() => wide.loadState(small.getState())).toThrow(
          /actor\.0\.weight is \[16, 5\], expected \[32, 5\]/,
        );
        const other = c.algorithm === 'td3' ? 'sac' : 'td3';
        const foreign = { ...small.getState(), algorithm: other };
        expect(() => small.loadState(foreign)).toThrow(new RegExp(`saved learner is ${other}`));
      } finally {
        await small.close();
      }
    });
  });

  it('pulls the actor toward the prior’s actions with the imitation term, its weight decaying', async () => {
    const imitation = { enabled: true, qFilter: false, initialWeight: 5, finalWeight: 1, decaySteps: 100 };
    await using(
      await c.create({ ...c.actorEveryUpdate, learningRate: 3e-3, imitation }, 0),
      async (learner) => {
        const rng = Rng.fromSeed(3);
        const first = await learner.update(labelled(rng, true), rng);
        let last = first;
        for (let i = 0; i < 150; i++) last = await learner.update(labelled(rng, true), rng);
        expect(first['train/imitation_weight']).toBe(5);
        expect(last['train/imitation_weight']).toBe(1);
        expect(last['train/imitation_fraction']).toBe(1);
        expect(last['train/imitation_loss']!).toBeLessThan(first['train/imitation_loss']! / 4);
        // A batch without labels is the caller's bug, not bad input: a plain Error.
        const unlabelled = learner.update(randomBatch(rng), rng);
        await expect(unlabelled).rejects.toThrow(/needs priorAction/);
        await expect(unlabelled).rejects.not.toBeInstanceOf(RangeError);
      },
    );
  });

  it('gates the imitation term with the Q-filter only from qFilterFromStep environment steps on', async () => {
    const imitation = { enabled: true, qFilter: true, qFilterFromStep: 1000 };
    /** The imitation fraction of one actor step from the same learner and batch, at `envSteps`. */
    const fraction = async (envSteps: number | undefined) =>
      using(await c.create({ ...c.actorEveryUpdate, imitation }, 0), async (learner) => {
        const rng = Rng.fromSeed(4);
        const batch = {
          ...randomBatch(rng),
          priorAction: Float32Array.from({ length: 16 }, () => rng.uniform(-1, 1)),
          hasPriorAction: new Float32Array(8).fill(1),
        };
        return (await learner.update(batch, rng, envSteps))['train/imitation_fraction']!;
      });
    expect(await fraction(999)).toBe(1); // before the switch every labelled row imitates
    const filtered = await fraction(1000);
    expect(filtered).toBeLessThan(1); // the untrained critic rates some prior actions lower
    expect(filtered).toBeGreaterThan(0);
    expect(await fraction(undefined)).toBe(filtered); // no step count: the filter is on
  });

  it('acts on the host with its deterministic policy; exploration stays in [-1, 1] and differs', async () => {
    await using(await c.create({}, 4), async (learner) => {
      const rng = Rng.fromSeed(5);
      for (let i = 0; i < 4; i++) await learner.update(randomBatch(rng), rng);
      const input = Float32Array.from({ length: 15 }, () => rng.uniform(-2, 2));
      const deterministic = learner.act(input, 3, 'deterministic', rng);
      const reference = mlpReference(learner.policyParameters(), input, 3, 'tanh');
      for (let i = 0; i < 6; i++) expect(deterministic[i]).toBeCloseTo(reference[i]!, 5);
      const explored = learner.act(input, 3, 'explore', rng);
      expect(explored).not.toEqual(deterministic);
      for (const v of explored) expect(Math.abs(v)).toBeLessThanOrEqual(1);
    });
  });

  it('exports its policy through policy-export.ts: the ONNX policy acts as the learner does', async () => {
    await using(await c.create({}, 13), async (learner) => {
      const rng = Rng.fromSeed(14);
      for (let i = 0; i < 3; i++) await learner.update(randomBatch(rng), rng);
      const normalizer = new RunningNormalizer(5, { clip: 5 });
      normalizer.update(
        Float64Array.from({ length: 5 * 50 }, () => rng.normal() * 0.7 + 0.2),
        50,
      );
      const file = join(mkdtempSync(join(tmpdir(), `armprior-${c.algorithm}-`)), 'policy.onnx');
      const metadata = {
        task: 'reach',
        inputSize: 5,
        actionSize: 2,
        observationFields: ['x'],
        algorithm: c.algorithm,
      };
      writeFileSync(file, exportPolicy(learner.policyParameters(), normalizer, metadata));
      const policy = await OnnxPolicy.load(file, { inputSize: 5, actionSize: 2 });
      try {
        const normalized = new Float64Array(5);
        normalizer.normalize(Float64Array.of(0.3, -0.2, 0.5, 0.1, -0.4), 1, normalized);
        const expected = learner.act(Float32Array.from(normalized), 1, 'deterministic', rng);
        const action = await policy.act(Float64Array.of(0.3, -0.2, 0.5), Float64Array.of(0.1, -0.4));
        for (let j = 0; j < 2; j++) expect(action[j]).toBeCloseTo(expected[j]!, 5);
      } finally {
        await policy.close();
      }
    });
  });

  it('names an unknown parameter with a plain Error (a bug of the caller)', async () => {
    await using(await c.create({}, 0), async (learner) => {
      expect(() => learner.parameter('actor.9.weight')).toThrow(/no parameter named actor\.9\.weight/);
      expect(() => learner.parameter('actor.9.weight')).not.toThrow(RangeError);
    });
  });

  it('reports every bad config field at once', () => {
    const result = c.schema.safeParse({ gamma: 2, tau: -1, batchSize: 0, learningrate: 1 });
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => i.path[0] ?? i.message).sort()).toEqual(
      expect.arrayContaining(['batchSize', 'gamma', 'tau']),
    );
  });
});

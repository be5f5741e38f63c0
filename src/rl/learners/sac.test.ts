import { describe, expect, it } from 'vitest';
import { Rng } from '../../core/rng.js';
import { DEFAULT_ADAM } from '../graph/adam.js';
import { mlpReference } from '../graph/mlp.js';
import {
  buildSacUpdate,
  LOG_STD_MAX,
  LOG_STD_MIN,
  type SacConfig,
  SacConfigSchema,
  type SacGraphConfig,
  SacLearner,
  sacActorSizes,
} from './sac.js';
import {
  adamReference,
  adamScalarFeeds,
  BATCH,
  type Feeds,
  finiteDifference,
  mean,
  net,
  randomBatch,
  randomFeeds,
  rows,
  runGraph,
  using,
} from './test-helpers.js';
import { criticSizes, networkShapes } from './update-graph.js';

// What every learner does is in learner-contract.test.ts; here, what only SAC does.

const config = SacConfigSchema.parse({ hidden: [16, 16], batchSize: 8 });
const sizes = { input: 5, action: 2 };

function withLearner<T>(cfg: SacConfig, seed: number, body: (learner: SacLearner) => Promise<T>): Promise<T> {
  return SacLearner.create(cfg, sizes, Rng.fromSeed(seed)).then((learner) => using(learner, body));
}

describe('SacLearner', () => {
  it('has RL Zoo’s panda-gym SAC+HER defaults, with HER’s 3 × 256 networks', () => {
    expect(SacConfigSchema.parse({})).toMatchObject({
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
      const stats = await learner.update(randomBatch(rng), rng);
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
        for (let i = 0; i < 5; i++) await learner.update(randomBatch(rng), rng);
        return learner.parameter('log_alpha')[0]!;
      });
    // The entropy of a tanh-squashed Gaussian on [-1, 1]² is at most 2 log 2 ≈ 1.39.
    expect(await logAlphaAfter(-50)).toBeLessThan(0);
    expect(await logAlphaAfter(2)).toBeGreaterThan(0);
  });

  it('keeps a fixed entropy coefficient when configured as a number', async () => {
    await withLearner({ ...config, entCoef: 0.1 }, 0, async (learner) => {
      const rng = Rng.fromSeed(3);
      const stats = await learner.update(randomBatch(rng), rng);
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
      await learner.update(randomBatch(rng), rng);
      const t1 = target();
      expect(t1).not.toEqual(t0);
      await learner.update(randomBatch(rng), rng);
      expect(target()).toEqual(t1);
      await learner.update(randomBatch(rng), rng);
      expect(target()).not.toEqual(t1);
    });
  });

  it('saves log α and its Adam moments, and refuses a state of the other entropy setting', async () => {
    await withLearner(config, 0, async (auto) => {
      const rng = Rng.fromSeed(9);
      await auto.update(randomBatch(rng), rng);
      const state = auto.getState();
      expect(Object.keys(state.tensors)).toEqual(
        expect.arrayContaining(['log_alpha', 'm.log_alpha', 'v.log_alpha']),
      );
      expect(state.tensors.log_alpha!.shape).toEqual([1]);
      await withLearner({ ...config, entCoef: 0.2 }, 0, async (fixed) => {
        expect(() => fixed.loadState(state)).toThrow(/log_alpha is not a tensor of this learner/);
      });
    });
  });

  it('acts with tanh(μ) deterministically and samples the squashed Gaussian to explore', async () => {
    await withLearner(config, 10, async (learner) => {
      const rng = Rng.fromSeed(11);
      for (let i = 0; i < 4; i++) await learner.update(randomBatch(rng), rng);
      const input = Float32Array.from({ length: 15 }, () => rng.uniform(-2, 2));
      expect(learner.policyParameters().sizes).toEqual([5, 16, 16, 2]);
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
    });
  });

  it('reports every bad field of its own at once', () => {
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

const base: SacGraphConfig = {
  observationSize: 3,
  actionSize: 2,
  hidden: [8, 8],
  gamma: 0.95,
  entCoef: 'auto',
  targetEntropy: -2,
};
const STEP = 3;
const TAU = 0.05;
// Large enough that the critics move visibly in one step, so an actor step against the old
// critics (instead of the updated ones, as SB3) shows in the comparison.
const LR = 0.05;

function sacFeeds(c: SacGraphConfig, rng: Rng): Feeds {
  // Small first moments so the gradient can be read back from m' = β1 m + (1 − β1) g precisely.
  const feeds = randomFeeds(buildSacUpdate(c), (name) =>
    name.startsWith('v.')
      ? rng.uniform(1e-4, 4e-4)
      : name.startsWith('m.')
        ? rng.uniform(-1e-2, 1e-2)
        : rng.uniform(-0.6, 0.6),
  );
  feeds.noise = Float64Array.from(feeds.noise!, (v) => v * 2);
  feeds.not_done = Float64Array.from({ length: BATCH }, (_, i) => (i === 2 ? 0 : 1));
  // The log std of the first action is far below SB3's lower bound: the clip must hold it there.
  feeds[`actor.${c.hidden.length}.bias`]![c.actionSize] = -25;
  feeds.target_tau = Float64Array.of(TAU);
  return { ...feeds, ...adamScalarFeeds('', STEP, LR) };
}

/** Ways to get SAC wrong; the comparison must notice each of them. */
interface Mutation {
  maxInsteadOfMin?: boolean;
  noTanhCorrection?: boolean;
  actorSeesOldCritics?: boolean;
  newAlphaInLosses?: boolean;
}

/** SB3's squashed Gaussian sample and log-probability, plainly. */
function sample(f: Feeds, c: SacGraphConfig, obs: number[][], noise: number[][], m: Mutation) {
  const a = c.actionSize;
  const out = net(f, 'actor', sacActorSizes(c), obs);
  return out.map((o, r) => {
    let logProb = 0;
    const action: number[] = [];
    for (let j = 0; j < a; j++) {
      const logStd = Math.min(LOG_STD_MAX, Math.max(LOG_STD_MIN, o[a + j]!));
      const u = o[j]! + Math.exp(logStd) * noise[r]![j]!;
      const t = Math.tanh(u);
      action.push(t);
      // log N(u; μ, σ) written out, not simplified to the ε form the graph uses.
      const std = Math.exp(logStd);
      logProb += -((u - o[j]!) ** 2) / (2 * std * std) - logStd - 0.5 * Math.log(2 * Math.PI);
      if (!m.noTanhCorrection) logProb -= Math.log(1 - t * t + 1e-6);
    }
    return { action, logProb, deterministic: o.slice(0, a).map(Math.tanh) };
  });
}

type Expected = Record<string, ReturnType<typeof adamReference>>;

/** One SAC step in SB3's order (sac/sac.py, `train`), in float64 with finite-difference gradients. */
function reference(c: SacGraphConfig, f: Feeds, m: Mutation = {}) {
  const { observationSize: o, actionSize: a } = c;
  const obs = rows(f.obs!, o);
  const nextObs = rows(f.next_obs!, o);
  const pi = (g: Feeds) => sample(g, c, obs, rows(f.noise!, a), m);
  const adam = (g: Feeds, name: string, grad: Float64Array) => adamReference(g, name, grad, STEP, LR);
  const expected: Expected = {};
  const losses: Record<string, number> = {};

  // Entropy coefficient: the α of the losses is the one before its own step.
  let alpha = typeof c.entCoef === 'number' ? c.entCoef : Math.exp(f.log_alpha![0]!);
  if (c.entCoef === 'auto') {
    const shifted = pi(f).map((s) => s.logProb + c.targetEntropy);
    losses.ent_coef_loss = -f.log_alpha![0]! * mean(shifted);
    expected.log_alpha = adam(f, 'log_alpha', Float64Array.of(-mean(shifted)));
    if (m.newAlphaInLosses) alpha = Math.exp(expected.log_alpha.param[0]!);
  }
  losses.ent_coef = alpha;

  // Critics.
  const next = sample(f, c, nextObs, rows(f.next_noise!, a), m);
  const nextInput = nextObs.map((s, r) => [...s, ...next[r]!.action]);
  const t1 = net(f, 'q1_target', criticSizes(c), nextInput);
  const t2 = net(f, 'q2_target', criticSizes(c), nextInput);
  const pick = m.maxInsteadOfMin ? Math.max : Math.min;
  const y = t1.map(
    (q, r) =>
      f.reward![r]! + c.gamma * f.not_done![r]! * (pick(q[0]!, t2[r]![0]!) - alpha * next[r]!.logProb),
  );
  const input = obs.map((s, r) => [...s, ...rows(f.action!, a)[r]!]);
  const criticLoss = (g: Feeds) => {
    const q1 = net(g, 'q1', criticSizes(c), input);
    const q2 = net(g, 'q2', criticSizes(c), input);
    return (
      0.5 * (mean(q1.map((q, r) => (q[0]! - y[r]!) ** 2)) + mean(q2.map((q, r) => (q[0]! - y[r]!) ** 2)))
    );
  };
  losses.critic_loss = criticLoss(f);
  losses.q1_mean = mean(net(f, 'q1', criticSizes(c), input).map((q) => q[0]!));
  const criticNames = [...networkShapes('q1', criticSizes(c)), ...networkShapes('q2', criticSizes(c))].map(
    (s) => s.name,
  );
  for (const name of criticNames) expected[name] = adam(f, name, finiteDifference(f, name, criticLoss));

  // Actor, against the updated critics.
  const g: Feeds = { ...f };
  if (!m.actorSeesOldCritics) for (const name of criticNames) g[name] = expected[name]!.param;
  /** The imitation term on tanh(μ) (unweighted) and the share of rows it imitates. */
  const imitation = (h: Feeds, s: ReturnType<typeof pi>) => {
    const prior = rows(h.prior_action!, a);
    const q = (actions: number[][]) =>
      net(
        h,
        'q1',
        criticSizes(c),
        obs.map((x, r) => [...x, ...actions[r]!]),
      );
    const policyQ = q(s.map((x) => x.deterministic));
    const priorQ = q(prior);
    let weighted = 0;
    let count = 0;
    for (let r = 0; r < BATCH; r++) {
      const filtering = c.qFilter === true && h.q_filter_on![0] === 1;
      const mask = h.has_prior![r]! * (!filtering || priorQ[r]![0]! > policyQ[r]![0]! ? 1 : 0);
      weighted += mask * s[r]!.deterministic.reduce((sum, v, j) => sum + (v - prior[r]![j]!) ** 2, 0);
      count += mask;
    }
    return { term: weighted / (count + 1e-6), fraction: count / BATCH };
  };
  const actorLoss = (h: Feeds) => {
    const s = pi(h);
    const qIn = obs.map((x, r) => [...x, ...s[r]!.action]);
    const q1 = net(h, 'q1', criticSizes(c), qIn);
    const q2 = net(h, 'q2', criticSizes(c), qIn);
    const loss = mean(s.map((x, r) => alpha * x.logProb - pick(q1[r]![0]!, q2[r]![0]!)));
    return c.imitation ? loss + h.imitation_weight![0]! * imitation(h, s).term : loss;
  };
  if (c.imitation) {
    const { term, fraction } = imitation(g, pi(g));
    losses.imitation_loss = term;
    losses.imitation_fraction = fraction;
  }
  losses.actor_loss = actorLoss(g);
  for (const { name } of networkShapes('actor', sacActorSizes(c)))
    expected[name] = adam(g, name, finiteDifference(g, name, actorLoss));

  const targets: Record<string, Float64Array> = {};
  for (const name of criticNames) {
    const target = name.replace(/^q(\d)/, 'q$1_target');
    targets[target] = f[target]!.map((t, i) => TAU * expected[name]!.param[i]! + (1 - TAU) * t);
  }
  return { losses, expected, targets };
}

/**
 * The worst disagreements between the graph's outputs and the reference: losses (relative),
 * gradients read back from the new first moments (relative to the tensor's largest), parameter
 * steps (relative to the learning rate) and soft targets (absolute).
 */
function disagreement(f: Feeds, out: Record<string, Float32Array>, ref: ReturnType<typeof reference>) {
  const { beta1 } = DEFAULT_ADAM;
  let loss = 0;
  for (const [name, value] of Object.entries(ref.losses))
    loss = Math.max(loss, Math.abs(out[name]![0]! - value) / Math.max(1e-3, Math.abs(value)));
  let grad = 0;
  let step = 0;
  for (const [name, e] of Object.entries(ref.expected)) {
    const scale = Math.max(1e-6, ...Array.from(e.grad, Math.abs));
    const newM = out[`new.m.${name}`]!;
    const newP = out[`new.${name}`]!;
    for (let i = 0; i < e.grad.length; i++) {
      const graphGrad = (newM[i]! - beta1 * f[`m.${name}`]![i]!) / (1 - beta1);
      grad = Math.max(grad, Math.abs(graphGrad - e.grad[i]!) / scale);
      step = Math.max(step, Math.abs(newP[i]! - e.param[i]!) / LR);
    }
  }
  let target = 0;
  for (const [name, values] of Object.entries(ref.targets))
    for (const [i, v] of values.entries()) target = Math.max(target, Math.abs(out[`new.${name}`]![i]! - v));
  return { loss, grad, step, target };
}

async function graphAndReference(c: SacGraphConfig, seed: number, qFilterOn = 1) {
  const feeds = sacFeeds(c, Rng.fromSeed(seed));
  if (c.imitation) {
    feeds.has_prior = Float64Array.of(1, 1, 0, 1, 1);
    feeds.imitation_weight = Float64Array.of(2.5);
  }
  if (c.qFilter) feeds.q_filter_on = Float64Array.of(qFilterOn);
  return { feeds, out: await runGraph(buildSacUpdate(c), feeds) };
}

const TOLERANCE = { loss: 1e-5, grad: 1e-4, step: 1e-3, target: 1e-6 };

/** Every disagreement within its tolerance. */
function expectAgreement(d: ReturnType<typeof disagreement>): void {
  for (const key of Object.keys(TOLERANCE) as (keyof typeof TOLERANCE)[])
    expect(d[key], key).toBeLessThan(TOLERANCE[key]);
}

describe('SAC update graph', () => {
  it('makes one SAC step of a plain float64 SAC in SB3’s order (α, critics, actor, targets)', async () => {
    const { feeds, out } = await graphAndReference(base, 31);
    const d = disagreement(feeds, out, reference(base, feeds));
    expectAgreement(d);
    // The clipped log std gives that action no gradient through σ; it is still sampled.
    expect(Number.isFinite(out.actor_loss![0]!)).toBe(true);
  });

  it('notices a wrong SAC: each mutation of the reference disagrees with the graph', async () => {
    const { feeds, out } = await graphAndReference(base, 31);
    const mutations: Mutation[] = [
      { maxInsteadOfMin: true },
      { noTanhCorrection: true },
      { actorSeesOldCritics: true },
      { newAlphaInLosses: true },
    ];
    for (const mutation of mutations) {
      const d = disagreement(feeds, out, reference(base, feeds, mutation));
      const fails = (Object.keys(TOLERANCE) as (keyof typeof TOLERANCE)[]).some(
        (key) => d[key] > TOLERANCE[key],
      );
      expect(fails, JSON.stringify(mutation)).toBe(true);
    }
  });

  it('adds RLingua’s Q-filtered imitation term on tanh(μ), with a fixed entropy coefficient', async () => {
    const c: SacGraphConfig = { ...base, entCoef: 0.2, imitation: true, qFilter: true };
    // A seed on which the filter drops some labelled rows (on others it keeps all or none).
    const { feeds, out } = await graphAndReference(c, 30);
    const d = disagreement(feeds, out, reference(c, feeds));
    expectAgreement(d);
    expect(out.ent_coef![0]).toBeCloseTo(0.2, 6);
    expect(out.ent_coef_loss).toBeUndefined();
    expect(out.imitation_fraction![0]).toBeGreaterThan(0);
    expect(out.imitation_fraction![0]).toBeLessThan(0.79);
  });

  it('lets every labelled row imitate while the Q-filter is switched off (q_filter_on = 0)', async () => {
    const c: SacGraphConfig = { ...base, entCoef: 0.2, imitation: true, qFilter: true };
    const { feeds, out } = await graphAndReference(c, 30, 0);
    const d = disagreement(feeds, out, reference(c, feeds));
    expectAgreement(d);
    expect(out.imitation_fraction![0]).toBeCloseTo(0.8, 6); // 4 of the 5 rows have a label
  });

  it('leaves the targets exactly as they were when target_tau is 0', async () => {
    const feeds: Feeds = { ...sacFeeds(base, Rng.fromSeed(33)), target_tau: Float64Array.of(0) };
    const out = await runGraph(buildSacUpdate(base), feeds);
    for (const { name } of networkShapes('q2_target', criticSizes(base)))
      expect(out[`new.${name}`]).toEqual(Float32Array.from(feeds[name]!));
  });
});

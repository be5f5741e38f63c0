import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../core/errors.js';
import { Rng } from '../../core/rng.js';
import type { LearnerState } from '../learner.js';
import {
  actorSizes,
  buildActorUpdate,
  buildCriticActorUpdate,
  buildCriticUpdate,
  returnRange,
  Td3ConfigSchema,
  type Td3GraphConfig,
  Td3Learner,
} from './td3.js';
import {
  adamReference,
  adamScalarFeeds,
  BATCH,
  type Feeds,
  finiteDifference,
  net,
  randomBatch,
  randomFeeds,
  rows,
  runGraph,
} from './test-helpers.js';
import { criticSizes, networkShapes, type UpdateGraph } from './update-graph.js';

// What every learner does is in learner-contract.test.ts; here, what only TD3 does.

describe('Td3Learner', () => {
  it('with actorQ: online, moves the actor as behaviour cloning does offline and as TD3 does online', async () => {
    const make = (actorQ: boolean | 'online') =>
      Td3Learner.create(
        Td3ConfigSchema.parse({
          hidden: [16, 16],
          batchSize: 8,
          policyDelay: 1,
          actorQ,
          imitation: { enabled: true },
        }),
        { input: 5, action: 2 },
        Rng.fromSeed(0),
      );
    const batch = (seed: number) => {
      const rng = Rng.fromSeed(seed);
      const random = randomBatch(rng);
      const priorAction = Float32Array.from({ length: random.size * 2 }, () => rng.uniform(-1, 1));
      return { ...random, priorAction, hasPriorAction: new Float32Array(random.size).fill(1) };
    };
    const offlineThenOnline = async (learner: Td3Learner, from?: LearnerState) => {
      try {
        if (from) learner.loadState(from);
        else await learner.update(batch(1), Rng.fromSeed(2), 0, true);
        const afterOffline = learner.getState();
        await learner.update(batch(3), Rng.fromSeed(4), 0, false);
        return { afterOffline, actor: learner.parameter('actor.0.weight') };
      } finally {
        await learner.close();
      }
    };
    const online = await offlineThenOnline(await make('online'));
    const cloning = await offlineThenOnline(await make(false));
    const td3 = await offlineThenOnline(await make(true));
    const actorOf = (state: LearnerState) => state.tensors['actor.0.weight']!.data;
    // Offline: the step behaviour cloning takes, not TD3's.
    expect(actorOf(online.afterOffline)).toEqual(actorOf(cloning.afterOffline));
    expect(actorOf(online.afterOffline)).not.toEqual(actorOf(td3.afterOffline));
    // Online: TD3's step, from the same state.
    const td3FromThere = await offlineThenOnline(await make(true), online.afterOffline);
    expect(online.actor).toEqual(td3FromThere.actor);
    expect(online.actor).not.toEqual(cloning.actor);
  });

  it("clips its critics' targets to the returns a bounded reward allows, and refuses to without bounds", async () => {
    const [low, high] = returnRange(0.95, [-1, 0]);
    expect([low, high]).toEqual([expect.closeTo(-20, 9), 0]);
    expect(returnRange(0.9, [0.5, 2])).toEqual([0, expect.closeTo(20, 9)]); // an episode may end at once: 0 is in
    const config = Td3ConfigSchema.parse({ hidden: [16, 16], batchSize: 8, clipTargets: true });
    await expect(Td3Learner.create(config, { input: 5, action: 2 }, Rng.fromSeed(0))).rejects.toThrow(
      ConfigError,
    );
    const learner = await Td3Learner.create(config, { input: 5, action: 2 }, Rng.fromSeed(0), [-1, 0]);
    try {
      // Rewards far outside [−1, 0]: the targets are clipped to [−20, 0], so one step's loss is bounded.
      const rng = Rng.fromSeed(1);
      const random = randomBatch(rng);
      const batch = { ...random, reward: new Float32Array(random.size).fill(1000) };
      const stats = await learner.update(batch, rng);
      expect(stats['train/critic_loss']).toBeLessThan(2 * 21 ** 2);
    } finally {
      await learner.close();
    }
  });

  it('updates the critics every step and the actor every policyDelay steps', async () => {
    const config = Td3ConfigSchema.parse({ hidden: [16, 16], batchSize: 8, policyDelay: 2 });
    const learner = await Td3Learner.create(config, { input: 5, action: 2 }, Rng.fromSeed(0));
    try {
      const rng = Rng.fromSeed(1);
      const actorBefore = learner.parameter('actor.0.weight');
      const criticBefore = learner.parameter('q1.0.weight');
      const first = await learner.update(randomBatch(rng), rng);
      expect(Number.isFinite(first['train/critic_loss'])).toBe(true);
      expect(first['train/actor_loss']).toBeUndefined();
      expect(learner.parameter('q1.0.weight')).not.toEqual(criticBefore);
      expect(learner.parameter('actor.0.weight')).toEqual(actorBefore);
      const second = await learner.update(randomBatch(rng), rng);
      expect(Number.isFinite(second['train/actor_loss'])).toBe(true);
      expect(learner.parameter('actor.0.weight')).not.toEqual(actorBefore);
      expect(learner.steps).toBe(2);
      expect(learner.getState().counters).toEqual({ updates: 2, actorUpdates: 1 });
    } finally {
      await learner.close();
    }
  });
});

const config: Td3GraphConfig = {
  observationSize: 3,
  actionSize: 2,
  hidden: [8, 8],
  gamma: 0.95,
  tau: 0.05,
  targetNoiseClip: 0.5,
};
const STEP = 3;
const LR = 1e-3;

/** Random values for every input (second moments positive), `not_done` 0 on row 2, Adam at step 3. */
function td3Feeds(graph: UpdateGraph, rng: Rng): Feeds {
  const feeds = randomFeeds(graph, (name) =>
    name.startsWith('v.') ? rng.uniform(1e-4, 4e-4) : rng.uniform(-0.6, 0.6),
  );
  if (feeds.not_done) feeds.not_done = Float64Array.from({ length: BATCH }, (_, i) => (i === 2 ? 0 : 1));
  return { ...feeds, ...adamScalarFeeds('', STEP, LR) };
}

const clip = (x: number, c: number) => Math.min(c, Math.max(-c, x));

/** A critic (or its target) of the graph config `c`, computed plainly. */
const criticNet = (f: Feeds, prefix: string, input: number[][], c: Td3GraphConfig) =>
  net(f, prefix, criticSizes(c), input, 'none', { layerNorm: c.criticLayerNorm });

/** TD3's critic loss, computed plainly. */
function criticLoss(f: Feeds, c: Td3GraphConfig = config): number {
  const { observationSize: o, actionSize: a, gamma, targetNoiseClip } = c;
  const nextObs = rows(f.next_obs!, o);
  const noise = rows(f.noise!, a);
  const nextAction = net(f, 'actor_target', actorSizes(config), nextObs, 'tanh').map((act, r) =>
    act.map((v, j) => clip(v + clip(noise[r]![j]!, targetNoiseClip), 1)),
  );
  const nextInput = nextObs.map((s, r) => [...s, ...nextAction[r]!]);
  const t1 = criticNet(f, 'q1_target', nextInput, c);
  const t2 = criticNet(f, 'q2_target', nextInput, c);
  const input = rows(f.obs!, o).map((s, r) => [...s, ...rows(f.action!, a)[r]!]);
  const q1 = criticNet(f, 'q1', input, c);
  const q2 = criticNet(f, 'q2', input, c);
  let loss = 0;
  for (let r = 0; r < BATCH; r++) {
    const bootstrapped = f.reward![r]! + gamma * f.not_done![r]! * Math.min(t1[r]![0]!, t2[r]![0]!);
    const [low, high] = c.targetRange ?? [-Infinity, Infinity];
    const y = Math.min(high, Math.max(low, bootstrapped));
    loss += (q1[r]![0]! - y) ** 2 + (q2[r]![0]! - y) ** 2;
  }
  return loss / BATCH;
}

/** Q1(s, π(s)) per row, and π(s), computed plainly. */
function policyQ(f: Feeds, c: Td3GraphConfig = config): { action: number[][]; q: number[][] } {
  const obs = rows(f.obs!, c.observationSize);
  const action = net(f, 'actor', actorSizes(c), obs, 'tanh');
  const q = criticNet(
    f,
    'q1',
    obs.map((s, r) => [...s, ...action[r]!]),
    c,
  );
  return { action, q };
}

/** TD3's actor loss, −mean Q1(s, π(s)), computed plainly. */
function actorLoss(f: Feeds, c: Td3GraphConfig = config): number {
  return -policyQ(f, c).q.reduce((sum, v) => sum + v[0]!, 0) / BATCH;
}

/** The expected Adam update of `params` from finite-difference gradients of a plain loss. */
function expectAdamStep(
  f: Feeds,
  out: Record<string, Float32Array>,
  params: string[],
  loss: (f: Feeds) => number,
): void {
  let worst = 0;
  for (const name of params) {
    const expected = adamReference(f, name, finiteDifference(f, name, loss), STEP, LR);
    for (let i = 0; i < expected.param.length; i++) {
      // Compare the step taken, relative to the learning rate.
      worst = Math.max(worst, Math.abs(out[`new.${name}`]![i]! - expected.param[i]!) / LR);
      expect(out[`new.m.${name}`]![i]!).toBeCloseTo(expected.m[i]!, 4);
    }
  }
  expect(worst).toBeLessThan(0.02);
}

const actorParams = () => networkShapes('actor', actorSizes(config)).map((s) => s.name);
const criticParams = () =>
  [...networkShapes('q1', criticSizes(config)), ...networkShapes('q2', criticSizes(config))].map(
    (s) => s.name,
  );

describe('TD3 update graphs', () => {
  it('make the critic step of a plain TD3 on fixed inputs (targets, clipped double Q, Adam)', async () => {
    const graph = buildCriticUpdate(config);
    const feeds = td3Feeds(graph, Rng.fromSeed(21));
    const out = await runGraph(graph, feeds);
    expect(out.loss![0]).toBeCloseTo(criticLoss(feeds), 4);
    expectAdamStep(feeds, out, criticParams(), criticLoss);
  });

  it("make the critic step with LayerNorm on the critics' hidden layers (RLPD), targets included", async () => {
    const normed = { ...config, criticLayerNorm: true };
    const graph = buildCriticUpdate(normed);
    const feeds = td3Feeds(graph, Rng.fromSeed(31));
    const out = await runGraph(graph, feeds);
    expect(out.loss![0]).toBeCloseTo(criticLoss(feeds, normed), 4);
    expect(Math.abs(criticLoss(feeds, normed) - criticLoss(feeds))).toBeGreaterThan(1e-3); // it normalised
    expectAdamStep(feeds, out, criticParams(), (f) => criticLoss(f, normed));
  });

  it("make the critic step with the targets clipped to the returns' range (HER's critic)", async () => {
    // A range narrower than the random targets, so that most rows are clipped, on both sides.
    const clipped = { ...config, targetRange: [-0.1, 0.05] as const };
    const graph = buildCriticUpdate(clipped);
    const feeds = td3Feeds(graph, Rng.fromSeed(33));
    const out = await runGraph(graph, feeds);
    expect(out.loss![0]).toBeCloseTo(criticLoss(feeds, clipped), 4);
    expect(Math.abs(criticLoss(feeds, clipped) - criticLoss(feeds))).toBeGreaterThan(1e-3); // it clipped
    expectAdamStep(feeds, out, criticParams(), (f) => criticLoss(f, clipped));
  });

  it('make the actor step through a LayerNorm critic', async () => {
    const normed = { ...config, criticLayerNorm: true };
    const graph = buildActorUpdate(normed);
    const feeds = td3Feeds(graph, Rng.fromSeed(32));
    const out = await runGraph(graph, feeds);
    expect(out.actor_loss![0]).toBeCloseTo(actorLoss(feeds, normed), 4);
    expectAdamStep(feeds, out, actorParams(), (f) => actorLoss(f, normed));
  });

  it('make the actor step of a plain TD3, and the soft target updates', async () => {
    const graph = buildActorUpdate(config);
    const feeds = td3Feeds(graph, Rng.fromSeed(22));
    const out = await runGraph(graph, feeds);
    expect(out.actor_loss![0]).toBeCloseTo(actorLoss(feeds), 4);
    expectAdamStep(feeds, out, actorParams(), actorLoss);
    for (const { name } of networkShapes('q2', criticSizes(config))) {
      const target = `q2_target${name.slice(2)}`;
      const expected = feeds[target]!.map((t, i) => config.tau * feeds[name]![i]! + (1 - config.tau) * t);
      for (const [i, e] of expected.entries()) expect(out[`new.${target}`]![i]!).toBeCloseTo(e, 6);
    }
    for (const name of actorParams()) {
      const target = `actor_target${name.slice(5)}`;
      const newActor = out[`new.${name}`]!;
      for (const [i, t] of feeds[target]!.entries()) {
        expect(out[`new.${target}`]![i]!).toBeCloseTo(config.tau * newActor[i]! + (1 - config.tau) * t, 6);
      }
    }
  });

  it('make in one graph what the critic step then the actor step make', async () => {
    const fused = buildCriticActorUpdate(config);
    const feeds = { ...td3Feeds(fused, Rng.fromSeed(23)), ...adamScalarFeeds('actor_', STEP - 1, LR) };
    const out = await runGraph(fused, feeds);
    const critic = await runGraph(buildCriticUpdate(config), feeds);
    // The actor step sees the critics the critic step produced, and its own Adam step count.
    const afterCritic: Feeds = { ...feeds, lr_t: feeds.actor_lr_t!, eps_hat: feeds.actor_eps_hat! };
    for (const [name, values] of Object.entries(critic)) {
      if (name.startsWith('new.')) afterCritic[name.slice(4)] = Float64Array.from(values);
    }
    const actor = await runGraph(buildActorUpdate(config), afterCritic);
    const expected = { ...critic, ...actor };
    expect(Object.keys(out).sort()).toEqual(Object.keys(expected).sort());
    for (const name of Object.keys(out).filter((n) => n !== 'new_sum')) {
      const want = expected[name]!;
      expect(out[name]!.length).toBe(want.length);
      for (let i = 0; i < want.length; i++) expect(out[name]![i]!).toBeCloseTo(want[i]!, 6);
    }
    const sum = Object.entries(out)
      .filter(([name]) => name.startsWith('new.'))
      .reduce((total, [, values]) => total + values.reduce((a, b) => a + b, 0), 0);
    expect(out.new_sum![0]!).toBeCloseTo(sum, 2);
  });

  const imitationFeeds = (graph: UpdateGraph, filterOn: number): Feeds => ({
    ...td3Feeds(graph, Rng.fromSeed(28)),
    has_prior: Float64Array.of(1, 1, 0, 1, 1),
    imitation_weight: Float64Array.of(2.5),
    q_filter_on: Float64Array.of(filterOn),
  });

  const imitationLoss = (f: Feeds) => {
    const { action, q: policyQValues } = policyQ(f);
    const obs = rows(f.obs!, config.observationSize);
    const prior = rows(f.prior_action!, config.actionSize);
    const priorQ = net(
      f,
      'q1',
      criticSizes(config),
      obs.map((s, r) => [...s, ...prior[r]!]),
    );
    let weighted = 0;
    let count = 0;
    for (let r = 0; r < BATCH; r++) {
      const passes = f.q_filter_on![0] === 0 || priorQ[r]![0]! > policyQValues[r]![0]!;
      const mask = f.has_prior![r]! * (passes ? 1 : 0);
      weighted += mask * action[r]!.reduce((sum, v, j) => sum + (v - prior[r]![j]!) ** 2, 0);
      count += mask;
    }
    return actorLoss(f) + f.imitation_weight![0]! * (weighted / (count + 1e-6));
  };

  it('add RLingua’s imitation term, gated by the Q-filter, to the actor step', async () => {
    const graph = buildActorUpdate({ ...config, imitation: true, qFilter: true });
    const feeds = imitationFeeds(graph, 1);
    const out = await runGraph(graph, feeds);
    expect(out.actor_loss![0]).toBeCloseTo(imitationLoss(feeds), 4);
    expect(out.imitation_fraction![0]).toBeGreaterThan(0); // some rows pass the filter…
    expect(out.imitation_fraction![0]).toBeLessThan(0.79); // …row 2 has no prior action, and the filter drops some
    expectAdamStep(feeds, out, actorParams(), imitationLoss);
  });

  it('let every labelled row imitate while the Q-filter is switched off (q_filter_on = 0)', async () => {
    const graph = buildActorUpdate({ ...config, imitation: true, qFilter: true });
    const feeds = imitationFeeds(graph, 0);
    const out = await runGraph(graph, feeds);
    expect(out.actor_loss![0]).toBeCloseTo(imitationLoss(feeds), 4);
    expect(out.imitation_fraction![0]).toBeCloseTo(0.8, 6); // 4 of the 5 rows have a label
    expectAdamStep(feeds, out, actorParams(), imitationLoss);
  });

  it('leave the Q term out with actorQ: false (behaviour cloning): the imitation term alone', async () => {
    const graph = buildActorUpdate({ ...config, imitation: true, qFilter: true, actorQ: false });
    const feeds = imitationFeeds(graph, 0);
    const cloning = (f: Feeds) => imitationLoss(f) - actorLoss(f);
    const out = await runGraph(graph, feeds);
    expect(out.actor_loss![0]).toBeCloseTo(cloning(feeds), 4);
    expectAdamStep(feeds, out, actorParams(), cloning);
  });

  it('refuse actorQ: false without imitation: the actor would learn nothing', () => {
    expect(() => Td3ConfigSchema.parse({ actorQ: false })).toThrow(/actorQ/);
    expect(Td3ConfigSchema.parse({ actorQ: false, imitation: { enabled: true } }).actorQ).toBe(false);
  });

  it('divide the actor’s Q term by the batch’s mean |Q| with normalizeQ (TD3+BC), with no gradient through the divisor', async () => {
    const graph = buildActorUpdate({ ...config, normalizeQ: true });
    const feeds = td3Feeds(graph, Rng.fromSeed(29));
    const scale = policyQ(feeds).q.reduce((sum, v) => sum + Math.abs(v[0]!), 0) / BATCH + 1e-6;
    const out = await runGraph(graph, feeds);
    expect(out.actor_loss![0]).toBeCloseTo(actorLoss(feeds) / scale, 4);
    // The divisor is a constant for the gradient: finite differences of loss / (fixed scale).
    expectAdamStep(feeds, out, actorParams(), (f) => actorLoss(f) / scale);
  });
});

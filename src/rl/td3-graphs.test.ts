import ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { Rng } from '../core/rng.js';
import { adamStepScalars, DEFAULT_ADAM } from './graph/adam.js';
import { packedSize } from './graph/packed.js';
import {
  actorSizes,
  buildActorUpdate,
  buildCriticActorUpdate,
  buildCriticUpdate,
  criticSizes,
  networkShapes,
  type Td3GraphConfig,
  type UpdateGraph,
} from './td3-graphs.js';

const config: Td3GraphConfig = {
  observationSize: 3,
  actionSize: 2,
  hidden: [8, 8],
  gamma: 0.95,
  tau: 0.05,
  targetNoiseClip: 0.5,
};
const BATCH = 5;
const STEP = 3;
const LR = 1e-3;

type Feeds = Record<string, Float64Array>;

/**
 * Random values for every input, per layer for the packed ones (named `<input><suffix>`, e.g.
 * `m.q1.0.weight`); second moments positive; the Adam scalars for step 3.
 */
function randomFeeds(graph: UpdateGraph, rng: Rng): Feeds {
  const feeds: Feeds = {};
  const draw = (name: string, size: number) =>
    Float64Array.from({ length: size }, () =>
      name.startsWith('v.') ? rng.uniform(1e-4, 4e-4) : rng.uniform(-0.6, 0.6),
    );
  for (const name of graph.inputs) {
    const slots = graph.packed[name];
    if (slots) {
      for (const { suffix, length } of slots) feeds[name + suffix] = draw(name, length);
      continue;
    }
    const size = graph.inputShapes[name]!.reduce<number>(
      (n, d) => n * (typeof d === 'number' ? d : BATCH),
      1,
    );
    feeds[name] = draw(name, size);
  }
  if (feeds.not_done) feeds.not_done = Float64Array.from({ length: BATCH }, (_, i) => (i === 2 ? 0 : 1));
  const { lrT, epsHat } = adamStepScalars(STEP, { ...DEFAULT_ADAM, learningRate: LR });
  feeds.lr_t = Float64Array.of(lrT);
  feeds.eps_hat = Float64Array.of(epsHat);
  return feeds;
}

/** Runs a graph on per-layer feeds: packs the network inputs, unpacks the `new.*` outputs per layer. */
async function run(graph: UpdateGraph, feeds: Feeds): Promise<Record<string, Float32Array>> {
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

/** Plain float64 forward pass of a network stored in feeds under `prefix`. */
function net(
  feeds: Feeds,
  prefix: string,
  sizes: number[],
  x: number[][],
  output: 'tanh' | 'none',
): number[][] {
  return x.map((row) => {
    let h = row;
    for (let i = 0; i + 1 < sizes.length; i++) {
      const w = feeds[`${prefix}.${i}.weight`]!;
      const b = feeds[`${prefix}.${i}.bias`]!;
      h = Array.from({ length: sizes[i + 1]! }, (_, o) => {
        let s = b[o]!;
        for (let k = 0; k < sizes[i]!; k++) s += w[o * sizes[i]! + k]! * h[k]!;
        const last = i + 2 === sizes.length;
        return !last ? Math.max(0, s) : output === 'tanh' ? Math.tanh(s) : s;
      });
    }
    return h;
  });
}

const rows = (data: Float64Array, width: number) =>
  Array.from({ length: data.length / width }, (_, r) =>
    Array.from(data.subarray(r * width, (r + 1) * width)),
  );
const clip = (x: number, c: number) => Math.min(c, Math.max(-c, x));

/** TD3's critic loss, computed plainly. */
function criticLoss(f: Feeds): number {
  const { observationSize: o, actionSize: a, gamma, targetNoiseClip } = config;
  const nextObs = rows(f.next_obs!, o);
  const noise = rows(f.noise!, a);
  const nextAction = net(f, 'actor_target', actorSizes(config), nextObs, 'tanh').map((act, r) =>
    act.map((v, j) => clip(v + clip(noise[r]![j]!, targetNoiseClip), 1)),
  );
  const nextInput = nextObs.map((s, r) => [...s, ...nextAction[r]!]);
  const t1 = net(f, 'q1_target', criticSizes(config), nextInput, 'none');
  const t2 = net(f, 'q2_target', criticSizes(config), nextInput, 'none');
  const input = rows(f.obs!, o).map((s, r) => [...s, ...rows(f.action!, a)[r]!]);
  const q1 = net(f, 'q1', criticSizes(config), input, 'none');
  const q2 = net(f, 'q2', criticSizes(config), input, 'none');
  let loss = 0;
  for (let r = 0; r < BATCH; r++) {
    const y = f.reward![r]! + gamma * f.not_done![r]! * Math.min(t1[r]![0]!, t2[r]![0]!);
    loss += (q1[r]![0]! - y) ** 2 + (q2[r]![0]! - y) ** 2;
  }
  return loss / BATCH;
}

/** TD3's actor loss, −mean Q1(s, π(s)), computed plainly. */
function actorLoss(f: Feeds): number {
  const obs = rows(f.obs!, config.observationSize);
  const action = net(f, 'actor', actorSizes(config), obs, 'tanh');
  const q = net(
    f,
    'q1',
    criticSizes(config),
    obs.map((s, r) => [...s, ...action[r]!]),
    'none',
  );
  return -q.reduce((sum, v) => sum + v[0]!, 0) / BATCH;
}

/** The expected Adam update from finite-difference gradients of a plain loss. */
function expectAdamStep(
  f: Feeds,
  out: Record<string, Float32Array>,
  params: string[],
  loss: (f: Feeds) => number,
): void {
  const { lrT, epsHat } = adamStepScalars(STEP, { ...DEFAULT_ADAM, learningRate: LR });
  const { beta1, beta2 } = DEFAULT_ADAM;
  let worst = 0;
  for (const name of params) {
    const p = f[name]!;
    for (let i = 0; i < p.length; i++) {
      const keep = p[i]!;
      p[i] = keep + 1e-6;
      const up = loss(f);
      p[i] = keep - 1e-6;
      const down = loss(f);
      p[i] = keep;
      const grad = (up - down) / 2e-6;
      const m = beta1 * f[`m.${name}`]![i]! + (1 - beta1) * grad;
      const v = beta2 * f[`v.${name}`]![i]! + (1 - beta2) * grad * grad;
      const expected = keep - (lrT * m) / (Math.sqrt(v) + epsHat);
      // Compare the step taken, relative to the learning rate.
      worst = Math.max(worst, Math.abs(out[`new.${name}`]![i]! - expected) / LR);
      expect(out[`new.m.${name}`]![i]!).toBeCloseTo(m, 4);
    }
  }
  expect(worst).toBeLessThan(0.02);
}

describe('TD3 update graphs', () => {
  it('make the critic step of a plain TD3 on fixed inputs (targets, clipped double Q, Adam)', async () => {
    const graph = buildCriticUpdate(config);
    const feeds = randomFeeds(graph, Rng.fromSeed(21));
    const out = await run(graph, feeds);
    expect(out.loss![0]).toBeCloseTo(criticLoss(feeds), 4);
    const params = [
      ...networkShapes('q1', criticSizes(config)),
      ...networkShapes('q2', criticSizes(config)),
    ].map((s) => s.name);
    expectAdamStep(feeds, out, params, criticLoss);
  });

  it('make the actor step of a plain TD3, and the soft target updates', async () => {
    const graph = buildActorUpdate(config);
    const feeds = randomFeeds(graph, Rng.fromSeed(22));
    const out = await run(graph, feeds);
    expect(out.actor_loss![0]).toBeCloseTo(actorLoss(feeds), 4);
    const params = networkShapes('actor', actorSizes(config)).map((s) => s.name);
    expectAdamStep(feeds, out, params, actorLoss);
    for (const { name } of networkShapes('q2', criticSizes(config))) {
      const target = `q2_target${name.slice(2)}`;
      const expected = feeds[target]!.map((t, i) => config.tau * feeds[name]![i]! + (1 - config.tau) * t);
      for (const [i, e] of expected.entries()) expect(out[`new.${target}`]![i]!).toBeCloseTo(e, 6);
    }
    for (const { name } of networkShapes('actor', actorSizes(config))) {
      const target = `actor_target${name.slice(5)}`;
      const newActor = out[`new.${name}`]!;
      for (const [i, t] of feeds[target]!.entries()) {
        expect(out[`new.${target}`]![i]!).toBeCloseTo(config.tau * newActor[i]! + (1 - config.tau) * t, 6);
      }
    }
  });

  it('make in one graph what the critic step then the actor step make', async () => {
    const fused = buildCriticActorUpdate(config);
    const feeds = randomFeeds(fused, Rng.fromSeed(23));
    const actorAdam = adamStepScalars(STEP - 1, { ...DEFAULT_ADAM, learningRate: LR });
    feeds.actor_lr_t = Float64Array.of(actorAdam.lrT);
    feeds.actor_eps_hat = Float64Array.of(actorAdam.epsHat);
    const out = await run(fused, feeds);
    const critic = await run(buildCriticUpdate(config), feeds);
    // The actor step sees the critics the critic step produced, and its own Adam step count.
    const afterCritic: Feeds = { ...feeds, lr_t: feeds.actor_lr_t, eps_hat: feeds.actor_eps_hat };
    for (const [name, values] of Object.entries(critic)) {
      if (name.startsWith('new.')) afterCritic[name.slice(4)] = Float64Array.from(values);
    }
    const actor = await run(buildActorUpdate(config), afterCritic);
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

  const imitationFeeds = (graph: UpdateGraph, filterOn: number) => {
    const feeds = randomFeeds(graph, Rng.fromSeed(28));
    feeds.has_prior = Float64Array.of(1, 1, 0, 1, 1);
    feeds.imitation_weight = Float64Array.of(2.5);
    feeds.q_filter_on = Float64Array.of(filterOn);
    return feeds;
  };

  const imitationLoss = (f: Feeds) => {
    const obs = rows(f.obs!, config.observationSize);
    const action = net(f, 'actor', actorSizes(config), obs, 'tanh');
    const prior = rows(f.prior_action!, config.actionSize);
    const q = (acts: number[][]) =>
      net(
        f,
        'q1',
        criticSizes(config),
        obs.map((s, r) => [...s, ...acts[r]!]),
        'none',
      );
    const policyQ = q(action);
    const priorQ = q(prior);
    let weighted = 0;
    let count = 0;
    for (let r = 0; r < BATCH; r++) {
      const mask = f.has_prior![r]! * (f.q_filter_on![0] === 0 || priorQ[r]![0]! > policyQ[r]![0]! ? 1 : 0);
      const error = action[r]!.reduce((sum, v, j) => sum + (v - prior[r]![j]!) ** 2, 0);
      weighted += mask * error;
      count += mask;
    }
    return actorLoss(f) + f.imitation_weight![0]! * (weighted / (count + 1e-6));
  };

  it('add RLingua’s imitation term, gated by the Q-filter, to the actor step', async () => {
    const withImitation = { ...config, imitation: true, qFilter: true };
    const graph = buildActorUpdate(withImitation);
    const feeds = imitationFeeds(graph, 1);
    const out = await run(graph, feeds);
    expect(out.actor_loss![0]).toBeCloseTo(imitationLoss(feeds), 4);
    expect(out.imitation_fraction![0]).toBeGreaterThan(0); // some rows pass the filter…
    expect(out.imitation_fraction![0]).toBeLessThan(0.79); // …row 2 has no prior action, and the filter drops some
    expectAdamStep(
      feeds,
      out,
      networkShapes('actor', actorSizes(config)).map((s) => s.name),
      imitationLoss,
    );
  });

  it('let every labelled row imitate while the Q-filter is switched off (q_filter_on = 0)', async () => {
    const graph = buildActorUpdate({ ...config, imitation: true, qFilter: true });
    const feeds = imitationFeeds(graph, 0);
    const out = await run(graph, feeds);
    expect(out.actor_loss![0]).toBeCloseTo(imitationLoss(feeds), 4);
    expect(out.imitation_fraction![0]).toBeCloseTo(0.8, 6); // 4 of the 5 rows have a label
    expectAdamStep(
      feeds,
      out,
      networkShapes('actor', actorSizes(config)).map((s) => s.name),
      imitationLoss,
    );
  });

  it('divide the actor’s Q term by the batch’s mean |Q| with normalizeQ (TD3+BC), with no gradient through the divisor', async () => {
    const graph = buildActorUpdate({ ...config, normalizeQ: true });
    const feeds = randomFeeds(graph, Rng.fromSeed(29));
    const obs = rows(feeds.obs!, config.observationSize);
    const action = net(feeds, 'actor', actorSizes(config), obs, 'tanh');
    const q = net(
      feeds,
      'q1',
      criticSizes(config),
      obs.map((s, r) => [...s, ...action[r]!]),
      'none',
    );
    const scale = q.reduce((sum, v) => sum + Math.abs(v[0]!), 0) / BATCH + 1e-6;
    const out = await run(graph, feeds);
    expect(out.actor_loss![0]).toBeCloseTo(actorLoss(feeds) / scale, 4);
    // The divisor is a constant for the gradient: finite differences of loss / (fixed scale).
    expectAdamStep(
      feeds,
      out,
      networkShapes('actor', actorSizes(config)).map((s) => s.name),
      (f) => actorLoss(f) / scale,
    );
  });
});

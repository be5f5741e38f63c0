import ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { Rng } from '../core/rng.js';
import { criticSizes, networkShapes, type UpdateGraph } from './actor-critic-graphs.js';
import { adamStepScalars, DEFAULT_ADAM } from './graph/adam.js';
import {
  buildSacUpdate,
  LOG_STD_MAX,
  LOG_STD_MIN,
  type SacGraphConfig,
  sacActorSizes,
} from './sac-graphs.js';

const base: SacGraphConfig = {
  observationSize: 3,
  actionSize: 2,
  hidden: [8, 8],
  gamma: 0.95,
  entCoef: 'auto',
  targetEntropy: -2,
};
const BATCH = 5;
const STEP = 3;
const TAU = 0.05;
// Large enough that the critics move visibly in one step, so an actor step against the old
// critics (instead of the updated ones, as SB3) shows in the comparison.
const LR = 0.05;

type Feeds = Record<string, Float64Array>;

function randomFeeds(graph: UpdateGraph, rng: Rng): Feeds {
  const feeds: Feeds = {};
  for (const name of graph.inputs) {
    const size = graph.inputShapes[name]!.reduce<number>(
      (n, d) => n * (typeof d === 'number' ? d : BATCH),
      1,
    );
    // Small first moments so the gradient can be read back from m' = β1 m + (1 − β1) g precisely.
    const draw = name.startsWith('v.')
      ? () => rng.uniform(1e-4, 4e-4)
      : name.startsWith('m.')
        ? () => rng.uniform(-1e-2, 1e-2)
        : () => rng.uniform(-0.6, 0.6);
    feeds[name] = Float64Array.from({ length: size }, draw);
  }
  if (feeds.noise) feeds.noise = Float64Array.from(feeds.noise, (v) => v * 2);
  feeds.not_done = Float64Array.from({ length: BATCH }, (_, i) => (i === 2 ? 0 : 1));
  // The log std of the first action is far below SB3's lower bound: the clip must hold it there.
  feeds[`actor.${base.hidden.length}.bias`]![base.actionSize] = -25;
  const { lrT, epsHat } = adamStepScalars(STEP, { ...DEFAULT_ADAM, learningRate: LR });
  feeds.lr_t = Float64Array.of(lrT);
  feeds.eps_hat = Float64Array.of(epsHat);
  feeds.target_tau = Float64Array.of(TAU);
  return feeds;
}

async function run(graph: UpdateGraph, feeds: Feeds): Promise<Record<string, Float32Array>> {
  const session = await ort.InferenceSession.create(graph.bytes);
  try {
    const tensors: Record<string, ort.Tensor> = {};
    for (const name of graph.inputs) {
      const dims = graph.inputShapes[name]!.map((d) => (typeof d === 'number' ? d : BATCH));
      tensors[name] = new ort.Tensor('float32', Float32Array.from(feeds[name]!), dims);
    }
    const out = await session.run(tensors);
    return Object.fromEntries(Object.entries(out).map(([k, t]) => [k, t.data as Float32Array]));
  } finally {
    await session.release();
  }
}

const rows = (data: Float64Array, width: number) =>
  Array.from({ length: data.length / width }, (_, r) =>
    Array.from(data.subarray(r * width, (r + 1) * width)),
  );

/** Plain float64 MLP (ReLU between layers, linear output) stored in feeds under `prefix`. */
function net(f: Feeds, prefix: string, sizes: number[], x: number[][]): number[][] {
  return x.map((row) => {
    let h = row;
    for (let i = 0; i + 1 < sizes.length; i++) {
      const w = f[`${prefix}.${i}.weight`]!;
      const b = f[`${prefix}.${i}.bias`]!;
      h = Array.from({ length: sizes[i + 1]! }, (_, o) => {
        let s = b[o]!;
        for (let k = 0; k < sizes[i]!; k++) s += w[o * sizes[i]! + k]! * h[k]!;
        return i + 2 === sizes.length ? s : Math.max(0, s);
      });
    }
    return h;
  });
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

const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;

/** Adam on one parameter tensor, from its gradient (float64). */
function adam(f: Feeds, name: string, grad: Float64Array) {
  const { lrT, epsHat } = adamStepScalars(STEP, { ...DEFAULT_ADAM, learningRate: LR });
  const { beta1, beta2 } = DEFAULT_ADAM;
  const m = f[`m.${name}`]!.map((mi, i) => beta1 * mi + (1 - beta1) * grad[i]!);
  const v = f[`v.${name}`]!.map((vi, i) => beta2 * vi + (1 - beta2) * grad[i]! ** 2);
  const param = f[name]!.map((p, i) => p - (lrT * m[i]!) / (Math.sqrt(v[i]!) + epsHat));
  return { param, m, v, grad };
}

function finiteDifference(f: Feeds, name: string, loss: (f: Feeds) => number): Float64Array {
  const p = f[name]!;
  return p.map((keep, i) => {
    p[i] = keep + 1e-6;
    const up = loss(f);
    p[i] = keep - 1e-6;
    const down = loss(f);
    p[i] = keep;
    return (up - down) / 2e-6;
  });
}

type Expected = Record<string, { param: Float64Array; m: Float64Array; v: Float64Array; grad: Float64Array }>;

/** One SAC step in SB3's order (sac/sac.py, `train`), in float64 with finite-difference gradients. */
function reference(c: SacGraphConfig, f: Feeds, m: Mutation = {}) {
  const { observationSize: o, actionSize: a } = c;
  const obs = rows(f.obs!, o);
  const nextObs = rows(f.next_obs!, o);
  const pi = (g: Feeds) => sample(g, c, obs, rows(f.noise!, a), m);
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
  const actorLoss = (h: Feeds) => {
    const s = pi(h);
    const qIn = obs.map((x, r) => [...x, ...s[r]!.action]);
    const q1 = net(h, 'q1', criticSizes(c), qIn);
    const q2 = net(h, 'q2', criticSizes(c), qIn);
    let loss = mean(s.map((x, r) => alpha * x.logProb - pick(q1[r]![0]!, q2[r]![0]!)));
    if (c.imitation) {
      const prior = rows(h.prior_action!, a);
      const policyQ = net(
        h,
        'q1',
        criticSizes(c),
        obs.map((x, r) => [...x, ...s[r]!.deterministic]),
      );
      const priorQ = net(
        h,
        'q1',
        criticSizes(c),
        obs.map((x, r) => [...x, ...prior[r]!]),
      );
      let weighted = 0;
      let count = 0;
      for (let r = 0; r < BATCH; r++) {
        const filtering = c.qFilter === true && h.q_filter_on![0] === 1;
        const mask = h.has_prior![r]! * (!filtering || priorQ[r]![0]! > policyQ[r]![0]! ? 1 : 0);
        weighted += mask * s[r]!.deterministic.reduce((sum, v, j) => sum + (v - prior[r]![j]!) ** 2, 0);
        count += mask;
      }
      loss += h.imitation_weight![0]! * (weighted / (count + 1e-6));
    }
    return loss;
  };
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
  const graph = buildSacUpdate(c);
  const feeds = randomFeeds(graph, Rng.fromSeed(seed));
  if (c.imitation) {
    feeds.has_prior = Float64Array.of(1, 1, 0, 1, 1);
    feeds.imitation_weight = Float64Array.of(2.5);
  }
  if (c.qFilter) feeds.q_filter_on = Float64Array.of(qFilterOn);
  return { feeds, out: await run(graph, feeds) };
}

const TOLERANCE = { loss: 1e-5, grad: 1e-4, step: 1e-3, target: 1e-6 };

describe('SAC update graph', () => {
  it('makes one SAC step of a plain float64 SAC in SB3’s order (α, critics, actor, targets)', async () => {
    const { feeds, out } = await graphAndReference(base, 31);
    const d = disagreement(feeds, out, reference(base, feeds));
    expect(d.loss).toBeLessThan(TOLERANCE.loss);
    expect(d.grad).toBeLessThan(TOLERANCE.grad);
    expect(d.step).toBeLessThan(TOLERANCE.step);
    expect(d.target).toBeLessThan(TOLERANCE.target);
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
      const fails =
        d.loss > TOLERANCE.loss ||
        d.grad > TOLERANCE.grad ||
        d.step > TOLERANCE.step ||
        d.target > TOLERANCE.target;
      expect(fails, JSON.stringify(mutation)).toBe(true);
    }
  });

  it('adds RLingua’s Q-filtered imitation term on tanh(μ), with a fixed entropy coefficient', async () => {
    const c: SacGraphConfig = { ...base, entCoef: 0.2, imitation: true, qFilter: true };
    const { feeds, out } = await graphAndReference(c, 32);
    const d = disagreement(feeds, out, reference(c, feeds));
    expect(d.loss).toBeLessThan(TOLERANCE.loss);
    expect(d.grad).toBeLessThan(TOLERANCE.grad);
    expect(d.step).toBeLessThan(TOLERANCE.step);
    expect(out.ent_coef![0]).toBeCloseTo(0.2, 6);
    expect(out.ent_coef_loss).toBeUndefined();
    expect(out.imitation_fraction![0]).toBeGreaterThan(0);
    expect(out.imitation_fraction![0]).toBeLessThan(0.79);
  });

  it('lets every labelled row imitate while the Q-filter is switched off (q_filter_on = 0)', async () => {
    const c: SacGraphConfig = { ...base, entCoef: 0.2, imitation: true, qFilter: true };
    const { feeds, out } = await graphAndReference(c, 32, 0);
    const d = disagreement(feeds, out, reference(c, feeds));
    expect(d.loss).toBeLessThan(TOLERANCE.loss);
    expect(d.grad).toBeLessThan(TOLERANCE.grad);
    expect(d.step).toBeLessThan(TOLERANCE.step);
    expect(out.imitation_fraction![0]).toBeCloseTo(0.8, 6); // 4 of the 5 rows have a label
  });

  it('leaves the targets exactly as they were when target_tau is 0', async () => {
    const graph = buildSacUpdate(base);
    const feeds = randomFeeds(graph, Rng.fromSeed(33));
    feeds.target_tau = Float64Array.of(0);
    const out = await run(graph, feeds);
    for (const { name } of networkShapes('q2_target', criticSizes(base)))
      expect(out[`new.${name}`]).toEqual(Float32Array.from(feeds[name]!));
  });
});

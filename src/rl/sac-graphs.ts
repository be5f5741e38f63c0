import {
  criticSizes,
  describedInputs,
  forward,
  imitationTerm,
  type NetworkSizes,
  networkInputs,
  type UpdateGraph,
} from './actor-critic-graphs.js';
import { type AdamConfig, adamUpdate, DEFAULT_ADAM } from './graph/adam.js';
import { gradients } from './graph/autodiff.js';
import { GraphBuilder, type Value } from './graph/builder.js';

/**
 * SAC's gradient step as one ONNX graph (Haarnoja et al. 2018, "Soft Actor-Critic Algorithms
 * and Applications", arXiv 1812.05905, Algorithm 1, with automatic entropy adjustment, §5):
 * entropy coefficient, critics, actor and the critics' soft target update in a single
 * onnxruntime call, since each call costs ~0.5–0.8 ms of copying weights in and out
 * (DESIGN.md, "Facts about the dependencies").
 */
export interface SacGraphConfig extends NetworkSizes {
  gamma: number;
  /** A fixed entropy coefficient α, or 'auto': log α is a parameter with its own Adam (§5). */
  entCoef: 'auto' | number;
  /** The entropy the 'auto' coefficient steers the policy toward (SB3: −actionSize). */
  targetEntropy: number;
  /** RLingua's imitation term toward the prior's actions, as in TD3's actor (actor-critic-graphs.ts). */
  imitation?: boolean;
  /** Q-filter on the imitation term (Nair et al. 2018). */
  qFilter?: boolean;
  adam?: Omit<AdamConfig, 'learningRate'>;
}

/** SB3's bounds on the actor's log std (LOG_STD_MIN, LOG_STD_MAX in sac/policies.py). */
export const LOG_STD_MIN = -20;
export const LOG_STD_MAX = 2;

/**
 * The actor: input → hidden (ReLU) → 2 × action outputs, the mean in the first `actionSize`
 * rows of the last layer and the log std in the others (SB3's `mu` and `log_std` heads stacked
 * into one layer; the same PyTorch initialisation, the same function).
 */
export function sacActorSizes(c: NetworkSizes): number[] {
  return [c.observationSize, ...c.hidden, 2 * c.actionSize];
}

/**
 * A reparameterised sample of the squashed Gaussian policy and its log-probability (arXiv
 * 1801.01290, Appendix C, "Enforcing Action Bounds"): u = μ + σ ε with ε ~ N(0, 1) fed from the host,
 * a = tanh(u), log π(a|s) = Σ_j [log N(u_j; μ_j, σ_j) − log(1 − tanh(u_j)² + 1e-6)], the 1e-6
 * as SB3. log N(u; μ, σ) = −ε²/2 − log σ − ½ log 2π exactly, since (u − μ)/σ = ε (PyTorch gets
 * the same value, and a zero gradient through that ratio, by differentiating it).
 */
export function squashedGaussian(
  g: GraphBuilder,
  obs: Value,
  actor: readonly Value[],
  noise: Value,
  actionSize: number,
): { action: Value; logProb: Value; mean: Value } {
  const out = forward(g, obs, actor, 'none');
  const mean = g.columns(out, 0, actionSize);
  const logStd = g.clip(g.columns(out, actionSize, 2 * actionSize), LOG_STD_MIN, LOG_STD_MAX);
  const action = g.tanh(g.add(mean, g.mul(g.exp(logStd), noise)));
  const gaussian = g.sub(g.mul(g.scalar(-0.5), g.square(noise)), logStd);
  const squash = g.log(g.add(g.sub(g.scalar(1), g.square(action)), g.scalar(1e-6)));
  const logProb = g.add(
    g.reduceSum(g.sub(gaussian, squash), [1], true),
    g.scalar(-0.5 * actionSize * Math.log(2 * Math.PI)),
  );
  return { action, logProb, mean };
}

/**
 * One SAC gradient step, in Stable-Baselines3's order (sac/sac.py, `train`):
 * 1. a, log π(a|s) from the current actor with the `noise` input;
 * 2. entropy coefficient ('auto'): loss −mean(log α · (log π + H̄)) with log π held fixed,
 *    Adam on log α. The α used by steps 3–4 is exp(log α) *before* this step: SB3 reads
 *    `ent_coef = exp(log_ent_coef.detach())` before `ent_coef_optimizer.step()`;
 * 3. critics: y = r + γ · notDone · (min(Q1', Q2')(s', a') − α log π(a'|s')) with a' from the
 *    current actor on s' (`next_noise`), loss ½ (MSE(Q1, y) + MSE(Q2, y)), Adam on both;
 * 4. actor: loss mean(α log π(a|s) − min(Q1, Q2)(s, a)) with the critics *after* step 3 and the
 *    sample of step 1 (+ RLingua's imitation term on tanh(μ)), Adam on the actor;
 * 5. soft target update of the critics with the `target_tau` input: τ on the steps SB3 updates
 *    the targets (every `targetUpdateInterval`), 0 on the others (exactly the old targets).
 * Every step shares the Adam step count t (each optimiser steps once per update), so one
 * `lr_t`/`eps_hat` pair serves all three.
 */
export function buildSacUpdate(c: SacGraphConfig): UpdateGraph {
  const g = new GraphBuilder('sac-update');
  const a = c.actionSize;
  const obs = g.input('obs', ['batch', c.observationSize]);
  const actionTaken = g.input('action', ['batch', a]);
  const reward = g.input('reward', ['batch', 1]);
  const notDone = g.input('not_done', ['batch', 1]);
  const nextObs = g.input('next_obs', ['batch', c.observationSize]);
  const noise = g.input('noise', ['batch', a]);
  const nextNoise = g.input('next_noise', ['batch', a]);
  const lrT = g.input('lr_t', []);
  const epsHat = g.input('eps_hat', []);
  const targetTau = g.input('target_tau', []);
  const actor = networkInputs(g, 'actor', sacActorSizes(c));
  const q1 = networkInputs(g, 'q1', criticSizes(c));
  const q2 = networkInputs(g, 'q2', criticSizes(c));
  const q1Target = networkInputs(g, 'q1_target', criticSizes(c));
  const q2Target = networkInputs(g, 'q2_target', criticSizes(c));
  const logAlpha = c.entCoef === 'auto' ? g.input('log_alpha', [1]) : undefined;
  const adamSlots = (params: readonly Value[]) =>
    params.map((p) => ({ param: p, m: g.input(`m.${p.name}`, p.shape), v: g.input(`v.${p.name}`, p.shape) }));
  const actorSlots = adamSlots(actor);
  const criticSlots = adamSlots([...q1, ...q2]);
  const alphaSlots = logAlpha ? adamSlots([logAlpha]) : [];
  const adam = c.adam ?? DEFAULT_ADAM;
  const outputs: string[] = [];
  const emit = (value: Value, name: string) => outputs.push(g.output(value, name).name);
  const emitAdam = (
    slots: readonly { param: Value; m: Value; v: Value }[],
    loss: Value,
  ): { param: Value; m: Value; v: Value }[] => {
    const grads = gradients(
      g,
      loss,
      slots.map((s) => s.param),
    );
    const updated = adamUpdate(
      g,
      slots.map((s, i) => ({ ...s, grad: grads[i]! })),
      lrT,
      epsHat,
      adam,
    );
    updated.forEach((u, i) => {
      const name = slots[i]!.param.name;
      emit(u.param, `new.${name}`);
      emit(u.m, `new.m.${name}`);
      emit(u.v, `new.v.${name}`);
    });
    return updated;
  };

  // 1. The current actor's sample on s.
  const pi = squashedGaussian(g, obs, actor, noise, a);

  // 2. Entropy coefficient (§5, the dual objective J(α)), optimised as log α (SB3, softlearning issue #37).
  let alpha: Value;
  if (logAlpha) {
    alpha = g.exp(g.stopGradient(logAlpha));
    const fixedLogProb = g.stopGradient(g.add(pi.logProb, g.scalar(c.targetEntropy)));
    const alphaLoss = g.neg(g.reduceMean(g.mul(logAlpha, fixedLogProb)));
    emit(alphaLoss, 'ent_coef_loss');
    emitAdam(alphaSlots, alphaLoss);
  } else {
    alpha = g.scalar(c.entCoef as number);
  }
  emit(alpha, 'ent_coef');

  // 3. Critics (§4.2, J_Q, with the two Q-functions and their minimum of §6): soft Bellman targets.
  const next = squashedGaussian(g, nextObs, actor, nextNoise, a);
  const nextInput = g.concat([nextObs, next.action]);
  const nextQ = g.min(forward(g, nextInput, q1Target, 'none'), forward(g, nextInput, q2Target, 'none'));
  const y = g.stopGradient(
    g.add(reward, g.mul(g.scalar(c.gamma), g.mul(notDone, g.sub(nextQ, g.mul(alpha, next.logProb))))),
  );
  const input = g.concat([obs, actionTaken]);
  const q1Value = forward(g, input, q1, 'none');
  const q2Value = forward(g, input, q2, 'none');
  const criticLoss = g.mul(
    g.scalar(0.5),
    g.add(g.reduceMean(g.square(g.sub(q1Value, y))), g.reduceMean(g.square(g.sub(q2Value, y)))),
  );
  emit(criticLoss, 'critic_loss');
  emit(g.reduceMean(q1Value), 'q1_mean');
  const newCritics = emitAdam(criticSlots, criticLoss).map((u) => u.param);

  // 4. Actor (§4.2, J_π with the reparameterisation a = f(ε; s)) against the updated critics,
  // held fixed: the actor's gradient must not flow back into the critics' Adam step.
  const fixedCritics = newCritics.map((p) => g.stopGradient(p));
  const newQ1 = fixedCritics.slice(0, q1.length);
  const newQ2 = fixedCritics.slice(q1.length);
  const piInput = g.concat([obs, pi.action]);
  const minQ = g.min(forward(g, piInput, newQ1, 'none'), forward(g, piInput, newQ2, 'none'));
  let actorLoss = g.reduceMean(g.sub(g.mul(alpha, pi.logProb), minQ));
  if (c.imitation) {
    // RLingua imitates with the deterministic policy, tanh(μ): the action that is exported.
    const deterministic = g.tanh(pi.mean);
    const term = imitationTerm(g, {
      obs,
      action: deterministic,
      actionSize: a,
      q1: newQ1,
      qFilter: c.qFilter ?? false,
      policyQ: () => forward(g, g.concat([obs, deterministic]), newQ1, 'none'),
    });
    actorLoss = g.add(actorLoss, term.weighted);
    for (const [value, name] of term.outputs) emit(value, name);
  }
  emit(actorLoss, 'actor_loss');
  emitAdam(actorSlots, actorLoss);

  // 5. Soft target update of the critics (SB3's polyak_update after the actor step).
  const keep = g.sub(g.scalar(1), targetTau);
  for (const [i, target] of [...q1Target, ...q2Target].entries()) {
    emit(g.add(g.mul(targetTau, newCritics[i]!), g.mul(keep, target)), `new.${target.name}`);
  }
  return { bytes: g.toBytes(), ...describedInputs(g), outputs };
}

import { z } from 'zod';
import type { Rng } from '../../core/rng.js';
import type { AdamConfig } from '../graph/adam.js';
import type { GraphBuilder, Value } from '../graph/builder.js';
import { type MlpParameters, mlpForward } from '../graph/mlp.js';
import { packedSlots } from '../graph/packed.js';
import type { Learner, LearnerBatch, LearnerState, LearnerStats } from '../learner.js';
import { offPolicyFields } from '../off-policy-config.js';
import { ActorCriticCore, actorAndTwinCritics } from './actor-critic.js';
import { adamFeeds, batchFeeds, type Feeds, noiseFeed, scalarFeed, scalarOutput } from './feeds.js';
import {
  ImitationConfigSchema,
  type ImitationStats,
  imitationFeeds,
  imitationStats,
  imitationTerm,
} from './imitation.js';
import {
  type BatchInputs,
  criticSizes,
  forward,
  type Layers,
  type NetworkSizes,
  networkSlots,
  type UpdateGraph,
  UpdateGraphBuilder,
} from './update-graph.js';

/**
 * SAC (Haarnoja et al. 2018, "Soft Actor-Critic Algorithms and Applications", arXiv 1812.05905)
 * with automatic entropy adjustment, Stable-Baselines3's hyperparameter names and, by default,
 * the hyperparameters RL Zoo uses for the panda-gym tasks with HER. Every field is described.
 */
export const SacConfigSchema = z
  .object({
    ...offPolicyFields,
    /**
     * Entropy coefficient α: 'auto' learns it (§5, automating entropy adjustment), a positive
     * number fixes it.
     */
    entCoef: z.union([z.literal('auto'), z.number().positive().max(1000)]).default('auto'),
    /** α at the start when `entCoef` is 'auto' (SB3's 'auto_1.0'). */
    initialEntCoef: z.number().positive().max(1000).default(1),
    /** The entropy 'auto' steers the policy toward: 'auto' is −actionSize (§5; SB3's default). */
    targetEntropy: z.union([z.literal('auto'), z.number().min(-1000).max(1000)]).default('auto'),
    /** Gradient steps between soft updates of the critics' targets (SB3's target_update_interval). */
    targetUpdateInterval: z.number().int().positive().max(1000).default(1),
    /**
     * RLingua's imitation term toward the prior's actions (arXiv 2403.06420, §III-C), as TD3's
     * but on the deterministic action tanh(μ), its weight decaying over `decaySteps` actor steps
     * (one per SAC update).
     */
    imitation: ImitationConfigSchema,
  })
  .strict();

export type SacConfig = z.output<typeof SacConfigSchema>;

export interface SacStats extends ImitationStats {
  'train/critic_loss': number;
  'train/actor_loss': number;
  /** The α the losses used (before this step's update of α, as SB3 reports it). */
  'train/ent_coef': number;
  /** With `entCoef: 'auto'` only (as SB3). */
  'train/ent_coef_loss'?: number;
  'train/q1_mean': number;
}

/** What fixes SAC's update graph. */
export interface SacGraphConfig extends NetworkSizes {
  gamma: number;
  /** A fixed entropy coefficient α, or 'auto': log α is a parameter with its own Adam (§5). */
  entCoef: 'auto' | number;
  /** The entropy the 'auto' coefficient steers the policy toward (SB3: −actionSize). */
  targetEntropy: number;
  /** RLingua's imitation term toward the prior's actions, on tanh(μ) (imitation.ts). */
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

/** A sample of the policy: a = tanh(u), log π(a|s), and the mean μ. */
interface PolicySample {
  action: Value;
  logProb: Value;
  mean: Value;
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
  actor: Layers,
  noise: Value,
  actionSize: number,
): PolicySample {
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
 * The entropy coefficient's loss (§5, the dual objective J(α), optimised as log α as SB3 and
 * softlearning issue #37): −mean(log α · (log π + H̄)) with log π held fixed. The α the other
 * losses use is exp(log α) *before* this step: SB3 reads `ent_coef = exp(log_ent_coef.detach())`
 * before `ent_coef_optimizer.step()`.
 */
function entropyLoss(g: GraphBuilder, c: SacGraphConfig, logAlpha: Value, pi: PolicySample) {
  const alpha = g.exp(g.stopGradient(logAlpha));
  const fixedLogProb = g.stopGradient(g.add(pi.logProb, g.scalar(c.targetEntropy)));
  return { alpha, loss: g.neg(g.reduceMean(g.mul(logAlpha, fixedLogProb))) };
}

/**
 * The critics' loss (§4.2, J_Q, with the two Q-functions and their minimum of §6): soft Bellman
 * targets y = r + γ (1 − done) (min(Q1', Q2')(s', a') − α log π(a'|s')) with a' from the current
 * actor on s' (`nextNoise`), held fixed, then ½ (MSE(Q1, y) + MSE(Q2, y)).
 */
function criticLoss(
  g: GraphBuilder,
  c: SacGraphConfig,
  { obs, action, reward, notDone, nextObs }: BatchInputs,
  nextNoise: Value,
  actor: Layers,
  q: { q1: Layers; q2: Layers; q1Target: Layers; q2Target: Layers },
  alpha: Value,
): { loss: Value; q1Mean: Value } {
  const next = squashedGaussian(g, nextObs, actor, nextNoise, c.actionSize);
  const nextInput = g.concat([nextObs, next.action]);
  const nextQ = g.min(forward(g, nextInput, q.q1Target, 'none'), forward(g, nextInput, q.q2Target, 'none'));
  const y = g.stopGradient(
    g.add(reward, g.mul(g.scalar(c.gamma), g.mul(notDone, g.sub(nextQ, g.mul(alpha, next.logProb))))),
  );
  const input = g.concat([obs, action]);
  const q1Value = forward(g, input, q.q1, 'none');
  const q2Value = forward(g, input, q.q2, 'none');
  const loss = g.mul(
    g.scalar(0.5),
    g.add(g.reduceMean(g.square(g.sub(q1Value, y))), g.reduceMean(g.square(g.sub(q2Value, y)))),
  );
  return { loss, q1Mean: g.reduceMean(q1Value) };
}

/**
 * The actor's loss (§4.2, J_π with the reparameterisation a = f(ε; s)): mean(α log π(a|s) −
 * min(Q1, Q2)(s, a)) on the sample `pi`, against critics the caller holds fixed, plus RLingua's
 * imitation term on tanh(μ), the deterministic action that is exported.
 */
function actorLoss(
  g: GraphBuilder,
  c: SacGraphConfig,
  obs: Value,
  pi: PolicySample,
  q1: Layers,
  q2: Layers,
  alpha: Value,
): { loss: Value; outputs: [Value, string][] } {
  const piInput = g.concat([obs, pi.action]);
  const minQ = g.min(forward(g, piInput, q1, 'none'), forward(g, piInput, q2, 'none'));
  const loss = g.reduceMean(g.sub(g.mul(alpha, pi.logProb), minQ));
  if (!c.imitation) return { loss, outputs: [] };
  const deterministic = g.tanh(pi.mean);
  const term = imitationTerm(g, {
    obs,
    action: deterministic,
    actionSize: c.actionSize,
    q1: (input) => forward(g, input, q1, 'none'),
    qFilter: c.qFilter ?? false,
    policyQ: () => forward(g, g.concat([obs, deterministic]), q1, 'none'),
  });
  return { loss: g.add(loss, term.weighted), outputs: term.outputs };
}

/**
 * One SAC gradient step as one graph, in Stable-Baselines3's order (sac/sac.py, `train`):
 * 1. a, log π(a|s) from the current actor with the `noise` input;
 * 2. entropy coefficient ('auto'): its loss, Adam on log α;
 * 3. critics: their loss, Adam on both;
 * 4. actor: its loss with the critics *after* step 3 and the sample of step 1, Adam on the actor;
 * 5. soft target update of the critics with the `target_tau` input: τ on the steps SB3 updates
 *    the targets (every `targetUpdateInterval`), 0 on the others (exactly the old targets).
 * Every optimiser steps once per update, so one `lr_t`/`eps_hat` pair serves all three. One
 * call, since each call costs ~0.5–0.8 ms of copying weights in and out (DESIGN.md).
 */
export function buildSacUpdate(c: SacGraphConfig): UpdateGraph {
  const u = new UpdateGraphBuilder('sac-update', c.adam);
  const { g } = u;
  const batch = u.batch(c);
  const noise = g.input('noise', ['batch', c.actionSize]);
  const nextNoise = g.input('next_noise', ['batch', c.actionSize]);
  const adam = u.adamInputs();
  const targetTau = g.input('target_tau', []);
  const actor = u.trainable('actor', networkSlots(sacActorSizes(c)));
  const q1 = u.trainable('q1', networkSlots(criticSizes(c)));
  const q2 = u.trainable('q2', networkSlots(criticSizes(c)));
  const q1Target = u.network('q1_target', networkSlots(criticSizes(c)));
  const q2Target = u.network('q2_target', networkSlots(criticSizes(c)));
  const logAlpha = c.entCoef === 'auto' ? u.trainable('log_alpha', LOG_ALPHA_SLOTS) : undefined;

  const pi = squashedGaussian(g, batch.obs, actor.layers, noise, c.actionSize);

  let alpha: Value;
  if (logAlpha) {
    const entropy = entropyLoss(g, c, logAlpha.layers[0]!, pi);
    alpha = entropy.alpha;
    g.output(entropy.loss, 'ent_coef_loss');
    u.adamStep([logAlpha], entropy.loss, adam);
  } else {
    alpha = g.scalar(c.entCoef as number);
  }
  g.output(alpha, 'ent_coef');

  const critic = criticLoss(
    g,
    c,
    batch,
    nextNoise,
    actor.layers,
    {
      q1: q1.layers,
      q2: q2.layers,
      q1Target: q1Target.layers,
      q2Target: q2Target.layers,
    },
    alpha,
  );
  g.output(critic.loss, 'critic_loss');
  g.output(critic.q1Mean, 'q1_mean');
  const [newQ1, newQ2] = u.adamStep([q1, q2], critic.loss, adam) as [Value, Value];

  // The actor's gradient must not flow back into the critics' Adam step.
  const fixedQ1 = u.layersOf(g.stopGradient(newQ1), q1);
  const fixedQ2 = u.layersOf(g.stopGradient(newQ2), q2);
  const step = actorLoss(g, c, batch.obs, pi, fixedQ1, fixedQ2, alpha);
  for (const [value, name] of step.outputs) g.output(value, name);
  g.output(step.loss, 'actor_loss');
  u.adamStep([actor], step.loss, adam);

  const keep = g.sub(g.scalar(1), targetTau);
  u.softUpdate(targetTau, keep, newQ1, q1Target);
  u.softUpdate(targetTau, keep, newQ2, q2Target);
  return u.finish();
}

/** log α: one value, saved as `log_alpha` (its moments `m.log_alpha`, `v.log_alpha`). */
const LOG_ALPHA_SLOTS = packedSlots([{ name: '', shape: [1] }]);

/**
 * The SAC learner: one onnxruntime call per gradient step (entropy coefficient, critics, actor
 * and the critics' targets). The host draws the reparameterisation noise from the seeded Rng, so
 * training is reproducible; actor-critic.ts keeps the state.
 */
export class SacLearner implements Learner {
  readonly algorithm = 'sac' as const;

  private constructor(
    readonly config: SacConfig,
    private readonly graphConfig: SacGraphConfig,
    private readonly core: ActorCriticCore<'update'>,
  ) {}

  static async create(
    config: SacConfig,
    sizes: { input: number; action: number },
    rng: Rng,
  ): Promise<SacLearner> {
    const graphConfig: SacGraphConfig = {
      observationSize: sizes.input,
      actionSize: sizes.action,
      hidden: config.hidden,
      gamma: config.gamma,
      entCoef: config.entCoef,
      targetEntropy: config.targetEntropy === 'auto' ? -sizes.action : config.targetEntropy,
      imitation: config.imitation.enabled,
      qFilter: config.imitation.qFilter,
    };
    const core = await ActorCriticCore.create({
      algorithm: 'sac',
      graphs: { update: buildSacUpdate(graphConfig) },
      // SAC has no target actor (its targets use the current policy's sample, §4.2).
      networks: actorAndTwinCritics(sacActorSizes(graphConfig), criticSizes(graphConfig)),
      initial:
        config.entCoef === 'auto' ? { log_alpha: Float32Array.of(Math.log(config.initialEntCoef)) } : {},
      rng,
    });
    return new SacLearner(config, graphConfig, core);
  }

  /** Gradient steps taken. */
  get steps(): number {
    return this.core.updates;
  }

  /** The current value of a tensor of the state (e.g. `actor.0.weight`, `log_alpha`), a copy. */
  parameter(name: string): Float32Array {
    return this.core.state.parameter(name);
  }

  /**
   * One SAC gradient step on `batch` (rows normalised, observation and desired goal
   * concatenated): entropy coefficient, critics, actor and, every `targetUpdateInterval` steps,
   * the critics' targets. A step whose stats or new tensors are not finite is rejected and
   * reported, and nothing changes.
   */
  async update(batch: LearnerBatch, rng: Rng, envSteps?: number): Promise<LearnerStats & SacStats> {
    const { actionSize } = this.graphConfig;
    const { imitation } = this.config;
    const updates = this.core.updates;
    const imitating = imitation.enabled
      ? imitationFeeds(imitation, batch, actionSize, { actorSteps: updates, envSteps, learner: 'SAC' })
      : undefined;
    // ε for the sample on s (α and actor), then for the one on s' (critic targets).
    const noise = noiseFeed(batch.size, actionSize, () => rng.normal());
    const nextNoise = noiseFeed(batch.size, actionSize, () => rng.normal());
    // SB3 updates the targets when gradient_step % target_update_interval == 0, the first step included.
    const targetTau = updates % this.config.targetUpdateInterval === 0 ? this.config.tau : 0;
    const feeds: Feeds = {
      ...batchFeeds(batch, this.graphConfig),
      noise,
      next_noise: nextNoise,
      ...adamFeeds('', updates + 1, this.config.learningRate),
      target_tau: scalarFeed(targetTau),
      ...imitating?.feeds,
    };
    const out = await this.core.run('update', feeds);
    const stats: LearnerStats & SacStats = {
      'train/critic_loss': scalarOutput(out.critic_loss),
      'train/actor_loss': scalarOutput(out.actor_loss),
      'train/ent_coef': scalarOutput(out.ent_coef),
      'train/q1_mean': scalarOutput(out.q1_mean),
    };
    if (out.ent_coef_loss) stats['train/ent_coef_loss'] = scalarOutput(out.ent_coef_loss);
    if (imitating) Object.assign(stats, imitationStats(out, imitating.weight));
    this.core.accept(out, stats);
    return stats;
  }

  act(input: Float32Array, rows: number, mode: 'deterministic' | 'explore', rng: Rng): Float32Array {
    if (mode === 'deterministic') return mlpForward(this.policyParameters(), input, rows, 'tanh');
    // A sample of the squashed Gaussian: tanh(μ + σ ε), ε ~ N(0, 1).
    const a = this.graphConfig.actionSize;
    const out = mlpForward(this.actorParameters(), input, rows, 'none');
    const action = new Float32Array(rows * a);
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < a; j++) {
        const logStd = Math.min(LOG_STD_MAX, Math.max(LOG_STD_MIN, out[r * 2 * a + a + j]!));
        action[r * a + j] = Math.tanh(out[r * 2 * a + j]! + Math.exp(logStd) * rng.normal());
      }
    }
    return action;
  }

  /**
   * The deterministic policy tanh(μ(s)): the actor with only the mean rows of its last layer,
   * a plain MLP that policy-export.ts exports as it does TD3's.
   */
  policyParameters(): MlpParameters {
    const full = this.actorParameters();
    const a = this.graphConfig.actionSize;
    const last = full.weights.length - 1;
    const fanIn = full.sizes[last]!;
    const weights = [...full.weights];
    const biases = [...full.biases];
    weights[last] = full.weights[last]!.subarray(0, a * fanIn);
    biases[last] = full.biases[last]!.subarray(0, a);
    return { sizes: [...full.sizes.slice(0, -1), a], weights, biases };
  }

  getState(): LearnerState {
    return this.core.getState();
  }

  loadState(saved: LearnerState): void {
    this.core.loadState(saved);
  }

  close(): Promise<void> {
    return this.core.close();
  }

  /** The whole actor: mean and log std heads. */
  private actorParameters(): MlpParameters {
    return this.core.state.mlp('actor', sacActorSizes(this.graphConfig));
  }
}

import { z } from 'zod';
import { ConfigError } from '../../core/errors.js';
import type { Rng } from '../../core/rng.js';
import type { AdamConfig } from '../graph/adam.js';
import type { GraphBuilder, Value } from '../graph/builder.js';
import { type MlpParameters, mlpForward } from '../graph/mlp.js';
import type { Learner, LearnerBatch, LearnerState, LearnerStats } from '../learner.js';
import { offPolicyFields } from '../off-policy-config.js';
import { ActorCriticCore, actorAndTwinCritics } from './actor-critic.js';
import { adamFeeds, batchFeeds, type Feeds, noiseFeed, scalarOutput } from './feeds.js';
import {
  ImitationConfigSchema,
  type ImitationStats,
  imitationFeeds,
  imitationStats,
  imitationTerm,
} from './imitation.js';
import {
  type AdamInputs,
  type BatchInputs,
  criticSizes,
  forward,
  type Layers,
  type Network,
  type NetworkSizes,
  networkSlots,
  type Trainable,
  type UpdateGraph,
  UpdateGraphBuilder,
} from './update-graph.js';

/**
 * TD3 (Fujimoto et al. 2018, "Addressing Function Approximation Error in Actor-Critic Methods")
 * with Stable-Baselines3's hyperparameter names. Every field is described; the defaults are RL
 * Zoo's for the panda-gym tasks with HER.
 */
export const Td3ConfigSchema = z
  .object({
    ...offPolicyFields,
    /** Critic steps per actor (and target) step (§5.2, delayed policy updates). */
    policyDelay: z.number().int().positive().max(1000).default(2),
    /** Std of the noise added to the target action (§5.3, target policy smoothing). */
    targetPolicyNoise: z.number().min(0).max(10).default(0.2),
    /** That noise is clipped to ±targetNoiseClip. */
    targetNoiseClip: z.number().min(0).max(10).default(0.5),
    /**
     * Divide the actor's −Q term by the batch's mean |Q| (TD3+BC, Fujimoto & Gu 2021): the
     * imitation weight then means the same whatever the reward scale and horizon.
     */
    normalizeActorQ: z.boolean().default(false),
    /**
     * The −Q term in the actor loss. Off (with `imitation` on) the actor only imitates the prior:
     * behaviour cloning, the baseline that asks whether RL adds anything; the critics still learn.
     * `online`: off for the offline start (RLingua's updates on the prior's episodes alone,
     * before the policy acts), on after it. A critic that has seen only the prior's actions
     * rates the actions next to them by extrapolation, and the actor follows it there: on
     * open-drawer the policy after the offline start scored 20–35% with the term, against the
     * prior's 50%.
     */
    actorQ: z.union([z.boolean(), z.literal('online')]).default(true),
    /**
     * LayerNorm on the critics' hidden layers (RLPD, Ball et al. 2023): keeps Q from
     * extrapolating far on actions no data shows. The actor is unchanged (so is the exported policy).
     */
    criticLayerNorm: z.boolean().default(false),
    /**
     * Clip the critics' targets to the returns the reward allows, [r_min, r_max] / (1 − γ) with
     * 0 included (HER's critic, Andrychowicz et al. 2017): trained on the prior's episodes alone,
     * the critics' extrapolation fed back through the targets until Q reached 10⁹ on
     * open-drawer (true values lie in [−20, 0]). Needs a bounded reward: the sparse one.
     */
    clipTargets: z.boolean().default(false),
    /** Std of the Gaussian exploration noise added to the policy's actions (SB3's NormalActionNoise sigma). */
    actionNoise: z.number().min(0).max(10).default(0.1),
    /**
     * RLingua's imitation term toward the prior's actions (arXiv 2403.06420, §III-C) on π(s): its
     * weight moves linearly from `initialWeight` to `finalWeight` over `decaySteps` actor steps.
     */
    imitation: ImitationConfigSchema,
  })
  .strict()
  .refine((c) => c.actorQ === true || c.imitation.enabled, {
    message:
      'actorQ: false (and online, during the offline start) leaves the actor nothing to learn from without imitation; switch imitation on or set actorQ: true',
    path: ['actorQ'],
  });

export type Td3Config = z.output<typeof Td3ConfigSchema>;

export interface Td3Stats extends ImitationStats {
  'train/critic_loss': number;
  'train/q1_mean': number;
  /** Present on the steps that also updated the actor (with the imitation stats, when on). */
  'train/actor_loss'?: number;
}

/** What fixes TD3's update graphs. */
export interface Td3GraphConfig extends NetworkSizes {
  gamma: number;
  tau: number;
  /** The std of the target policy smoothing noise is applied on the host; its clip here. */
  targetNoiseClip: number;
  /** RLingua's imitation term in the actor loss (imitation.ts); off: the plain TD3 actor. */
  imitation?: boolean;
  /** Q-filter on the imitation term (Nair et al. 2018). */
  qFilter?: boolean;
  /** Divide the actor's −Q term by the batch's mean |Q| (TD3+BC's normalisation). */
  normalizeQ?: boolean;
  /** The actor's −Q term (default on); off with `imitation`: behaviour cloning. */
  actorQ?: boolean;
  /** LayerNorm on the critics' hidden layers (their targets too). */
  criticLayerNorm?: boolean;
  /** The critics' targets are clipped to [low, high], the values a return can take. */
  targetRange?: readonly [number, number] | undefined;
  adam?: Omit<AdamConfig, 'learningRate'>;
}

/** π(s): observation → hidden → action, tanh-bounded. */
export function actorSizes(c: NetworkSizes): number[] {
  return [c.observationSize, ...c.hidden, c.actionSize];
}

/** Q(s, a) of one critic (or its target) for a [observation, action] input. */
function critic(g: GraphBuilder, c: Td3GraphConfig, input: Value, q: Layers): Value {
  return forward(g, input, q, 'none', { layerNorm: c.criticLayerNorm });
}

/**
 * The critics' loss (Algorithm 1): y = r + γ (1 − done) min(Q1', Q2')(s', ã) with the target
 * action smoothed, then MSE(Q1, y) + MSE(Q2, y). `noise` is ε ~ N(0, σ²), drawn on the host.
 */
function criticLoss(
  g: GraphBuilder,
  c: Td3GraphConfig,
  { obs, action, reward, notDone, nextObs, noise }: BatchInputs & { noise: Value },
  q1: Layers,
  q2: Layers,
  target: { actor: Layers; q1: Layers; q2: Layers },
): { loss: Value; q1Mean: Value } {
  // Target policy smoothing (§5.3): ã = clip(π'(s') + clip(ε, −c, c), −1, 1).
  const nextAction = g.clip(
    g.add(forward(g, nextObs, target.actor, 'tanh'), g.clip(noise, -c.targetNoiseClip, c.targetNoiseClip)),
    -1,
    1,
  );
  const nextInput = g.concat([nextObs, nextAction]);
  // Clipped double Q-learning (§4.2): y = r + γ (1 − done) min(Q1', Q2').
  const targetQ = g.min(critic(g, c, nextInput, target.q1), critic(g, c, nextInput, target.q2));
  const bootstrapped = g.add(reward, g.mul(g.scalar(c.gamma), g.mul(notDone, targetQ)));
  // HER's critic (Andrychowicz et al. 2017, appendix A): no return lies outside the range the
  // rewards allow, so a target outside it is the critics' own extrapolation fed back.
  const y = c.targetRange ? g.clip(bootstrapped, c.targetRange[0], c.targetRange[1]) : bootstrapped;
  const input = g.concat([obs, action]);
  const q1Value = critic(g, c, input, q1);
  const q2Value = critic(g, c, input, q2);
  const loss = g.add(g.reduceMean(g.square(g.sub(q1Value, y))), g.reduceMean(g.square(g.sub(q2Value, y))));
  return { loss, q1Mean: g.reduceMean(q1Value) };
}

/**
 * The actor's loss (§5.2, the deterministic policy gradient): −mean Q1(s, π(s)), divided by the
 * batch's mean |Q| with `normalizeQ`, plus RLingua's imitation term when configured.
 */
function actorLoss(
  g: GraphBuilder,
  c: Td3GraphConfig,
  obs: Value,
  actor: Layers,
  q1: Layers,
): { loss: Value; outputs: [Value, string][] } {
  const action = forward(g, obs, actor, 'tanh');
  const policyQ = critic(g, c, g.concat([obs, action]), q1);
  let loss = g.neg(g.reduceMean(policyQ));
  if (c.normalizeQ) {
    // TD3+BC (Fujimoto & Gu 2021, §4): divide the Q term by the batch's mean |Q| (no gradient
    // through it), so its scale does not depend on the reward scale or the horizon and an
    // imitation weight means the same early (|Q| small) and late.
    const scale = g.stopGradient(g.add(g.reduceMean(g.op('Abs', [policyQ], policyQ.shape)), g.scalar(1e-6)));
    loss = g.div(loss, scale);
  }
  if (!c.imitation) return { loss, outputs: [] };
  const term = imitationTerm(g, {
    obs,
    action,
    actionSize: c.actionSize,
    q1: (input) => critic(g, c, input, q1),
    qFilter: c.qFilter === true,
    policyQ: () => policyQ,
  });
  // Behaviour cloning: the imitation term alone (Q1 is then only evaluated for the Q-filter).
  if (c.actorQ === false) return { loss: term.weighted, outputs: term.outputs };
  return { loss: g.add(loss, term.weighted), outputs: term.outputs };
}

/** The inputs of the three target networks. */
function targetInputs(u: UpdateGraphBuilder, c: Td3GraphConfig): Record<'actor' | 'q1' | 'q2', Network> {
  return {
    q1: u.network('q1_target', networkSlots(criticSizes(c))),
    q2: u.network('q2_target', networkSlots(criticSizes(c))),
    actor: u.network('actor_target', networkSlots(actorSizes(c))),
  };
}

/**
 * The critics' step: the batch, both critics and the three targets as inputs, the critics' loss,
 * Adam on both. Returns what the steps after it read.
 */
function criticStep(u: UpdateGraphBuilder, c: Td3GraphConfig, adam: AdamInputs) {
  const batch = { ...u.batch(c), noise: u.g.input('noise', ['batch', c.actionSize]) };
  const q1 = u.trainable('q1', networkSlots(criticSizes(c)));
  const q2 = u.trainable('q2', networkSlots(criticSizes(c)));
  const targets = targetInputs(u, c);
  const critic = criticLoss(u.g, c, batch, q1.layers, q2.layers, {
    actor: targets.actor.layers,
    q1: targets.q1.layers,
    q2: targets.q2.layers,
  });
  u.g.output(critic.loss, 'loss');
  u.g.output(critic.q1Mean, 'q1_mean');
  const [newQ1, newQ2] = u.adamStep([q1, q2], critic.loss, adam) as [Value, Value];
  return { obs: batch.obs, q1, newQ1, newQ2, targets };
}

/** The actor's step on the critic `q1`: its loss, Adam on the actor. Returns the new actor. */
function actorStep(
  u: UpdateGraphBuilder,
  c: Td3GraphConfig,
  obs: Value,
  actor: Trainable,
  q1: Layers,
  adam: AdamInputs,
): Value {
  const step = actorLoss(u.g, c, obs, actor.layers, q1);
  u.g.output(step.loss, 'actor_loss');
  for (const [value, name] of step.outputs) u.g.output(value, name);
  return u.adamStep([actor], step.loss, adam)[0]!;
}

/** θ' ← τ θ + (1 − τ) θ' of the actor's and both critics' targets. */
function softUpdates(
  u: UpdateGraphBuilder,
  c: Td3GraphConfig,
  online: Record<'actor' | 'q1' | 'q2', Value>,
  targets: Record<'actor' | 'q1' | 'q2', Network>,
): void {
  const tau = u.g.scalar(c.tau);
  const keep = u.g.scalar(1 - c.tau);
  for (const net of ['actor', 'q1', 'q2'] as const) u.softUpdate(tau, keep, online[net], targets[net]);
}

/** The critics' step alone: their loss, Adam on both. */
export function buildCriticUpdate(c: Td3GraphConfig): UpdateGraph {
  const u = new UpdateGraphBuilder('td3-critic-update', c.adam);
  criticStep(u, c, u.adamInputs());
  return u.finish();
}

/** The delayed actor step alone (§5.2): its loss, Adam on the actor, then the soft target updates. */
export function buildActorUpdate(c: Td3GraphConfig): UpdateGraph {
  const u = new UpdateGraphBuilder('td3-actor-update', c.adam);
  const obs = u.g.input('obs', ['batch', c.observationSize]);
  const adam = u.adamInputs();
  const actor = u.trainable('actor', networkSlots(actorSizes(c)));
  const q1 = u.network('q1', networkSlots(criticSizes(c)));
  const q2 = u.network('q2', networkSlots(criticSizes(c)));
  const targets = targetInputs(u, c);
  const newActor = actorStep(u, c, obs, actor, q1.layers, adam);
  softUpdates(u, c, { actor: newActor, q1: q1.packed, q2: q2.packed }, targets);
  return u.finish();
}

/**
 * Algorithm 1's whole iteration on the updates that move the actor: the critic step, the actor
 * step on the critics it produced, the soft target updates. The same results as
 * {@link buildCriticUpdate} then {@link buildActorUpdate}, in one call instead of two: each call
 * moves every weight through the host (DESIGN.md: ~0.5–0.85 ms). The actor's Adam has its own
 * step scalars, `actor_lr_t` and `actor_eps_hat`.
 */
export function buildCriticActorUpdate(c: Td3GraphConfig): UpdateGraph {
  const u = new UpdateGraphBuilder('td3-critic-actor-update', c.adam);
  const criticAdam = u.adamInputs();
  const actorAdam = u.adamInputs('actor_');
  const actor = u.trainable('actor', networkSlots(actorSizes(c)));
  const { obs, q1, newQ1, newQ2, targets } = criticStep(u, c, criticAdam);
  // The actor's gradient stops at the critic it is scored by (and so at the critic step).
  const newActor = actorStep(u, c, obs, actor, u.layersOf(u.g.stopGradient(newQ1), q1), actorAdam);
  softUpdates(u, c, { actor: newActor, q1: newQ1, q2: newQ2 }, targets);
  return u.finish();
}

/**
 * The returns a reward in `rewardRange` allows over any horizon: [min(0, r_min), max(0, r_max)] /
 * (1 − γ) (an episode may end at once: 0 is in).
 */
export function returnRange(
  gamma: number,
  rewardRange: readonly [number, number] | undefined,
): [number, number] {
  if (!rewardRange)
    throw new ConfigError('td3.clipTargets', [
      "clipping the critics' targets needs a bounded reward: this task's reward is dense (use rewardType: sparse, or clipTargets: false)",
    ]);
  return [Math.min(0, rewardRange[0]) / (1 - gamma), Math.max(0, rewardRange[1]) / (1 - gamma)];
}

/**
 * The TD3 learner: one onnxruntime call per update, the critic step or, on every
 * `policyDelay`-th update, the critic, actor and target steps in one graph. The host feeds the
 * batch and the target smoothing noise from the seeded Rng; actor-critic.ts keeps the state.
 */
export class Td3Learner implements Learner {
  readonly algorithm = 'td3' as const;
  private actorUpdates = 0;

  private constructor(
    readonly config: Td3Config,
    private readonly graphConfig: Td3GraphConfig,
    private readonly core: ActorCriticCore<'critic' | 'criticActor' | 'criticImitate'>,
  ) {}

  static async create(
    config: Td3Config,
    sizes: { input: number; action: number },
    rng: Rng,
    rewardRange?: readonly [number, number],
  ): Promise<Td3Learner> {
    const graphConfig: Td3GraphConfig = {
      observationSize: sizes.input,
      actionSize: sizes.action,
      hidden: config.hidden,
      gamma: config.gamma,
      tau: config.tau,
      targetNoiseClip: config.targetNoiseClip,
      imitation: config.imitation.enabled,
      qFilter: config.imitation.qFilter,
      normalizeQ: config.normalizeActorQ,
      actorQ: config.actorQ !== false,
      criticLayerNorm: config.criticLayerNorm,
      targetRange: config.clipTargets ? returnRange(config.gamma, rewardRange) : undefined,
    };
    const core = await ActorCriticCore.create({
      algorithm: 'td3',
      // The fused graph first: it takes every tensor, so the state lists them in its order, the actor's first.
      graphs: {
        criticActor: buildCriticActorUpdate(graphConfig),
        critic: buildCriticUpdate(graphConfig),
        // The offline start's actor step imitates only (actorQ: online).
        ...(config.actorQ === 'online'
          ? { criticImitate: buildCriticActorUpdate({ ...graphConfig, actorQ: false }) }
          : {}),
      },
      networks: actorAndTwinCritics(actorSizes(graphConfig), criticSizes(graphConfig)),
      rng,
    });
    return new Td3Learner(config, graphConfig, core);
  }

  /** Gradient steps taken. */
  get steps(): number {
    return this.core.updates;
  }

  /** The current value of a parameter (e.g. `actor.0.weight`, `m.q2.0.weight`), a copy. */
  parameter(name: string): Float32Array {
    return this.core.state.parameter(name);
  }

  /**
   * One TD3 step on `batch` (rows normalised: observation and desired goal concatenated as the
   * network input); the actor and targets move every `policyDelay` steps. A step whose stats or
   * parameters come out non-finite is rejected whole and reported, and nothing changes. An
   * `offline` update (the offline start) leaves the −Q term out of the actor's with `actorQ: online`.
   */
  async update(
    batch: LearnerBatch,
    rng: Rng,
    envSteps?: number,
    offline = false,
  ): Promise<LearnerStats & Td3Stats> {
    const { actionSize } = this.graphConfig;
    const { learningRate, imitation } = this.config;
    const t = this.core.updates + 1;
    const actorStep = t % this.config.policyDelay === 0;
    const imitating =
      actorStep && imitation.enabled
        ? imitationFeeds(imitation, batch, actionSize, {
            actorSteps: this.actorUpdates,
            envSteps,
            learner: 'TD3',
          })
        : undefined;
    const feeds: Feeds = {
      ...batchFeeds(batch, this.graphConfig),
      noise: noiseFeed(batch.size, actionSize, () => rng.normal() * this.config.targetPolicyNoise),
      ...adamFeeds('', t, learningRate),
      ...(actorStep ? adamFeeds('actor_', this.actorUpdates + 1, learningRate) : {}),
      ...imitating?.feeds,
    };
    const imitateOnly = offline && this.config.actorQ === 'online';
    const out = await this.core.run(
      actorStep ? (imitateOnly ? 'criticImitate' : 'criticActor') : 'critic',
      feeds,
    );
    const stats: LearnerStats & Td3Stats = {
      'train/critic_loss': scalarOutput(out.loss),
      'train/q1_mean': scalarOutput(out.q1_mean),
    };
    if (actorStep) stats['train/actor_loss'] = scalarOutput(out.actor_loss);
    if (imitating) {
      // TD3's records have listed the weight first: metrics.jsonl stays comparable line by line.
      stats['train/imitation_weight'] = imitating.weight;
      Object.assign(stats, imitationStats(out, imitating.weight));
    }
    this.core.accept(out, stats);
    if (actorStep) this.actorUpdates++;
    return stats;
  }

  act(input: Float32Array, rows: number, mode: 'deterministic' | 'explore', rng: Rng): Float32Array {
    const action = mlpForward(this.policyParameters(), input, rows, 'tanh');
    if (mode === 'explore' && this.config.actionNoise > 0) {
      for (let i = 0; i < action.length; i++) {
        action[i] = Math.min(1, Math.max(-1, action[i]! + this.config.actionNoise * rng.normal()));
      }
    }
    return action;
  }

  policyParameters(): MlpParameters {
    return this.core.state.mlp('actor', actorSizes(this.graphConfig));
  }

  getState(): LearnerState {
    return this.core.getState({ actorUpdates: this.actorUpdates });
  }

  loadState(saved: LearnerState): void {
    this.actorUpdates = this.core.loadState(saved).actorUpdates ?? 0;
  }

  close(): Promise<void> {
    return this.core.close();
  }
}

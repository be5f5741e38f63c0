import ort from 'onnxruntime-node';
import { z } from 'zod';
import type { Rng } from '../core/rng.js';
import { criticSizes, networkShapes, type UpdateGraph } from './actor-critic-graphs.js';
import { adamStepScalars, DEFAULT_ADAM } from './graph/adam.js';
import { initMlp, type MlpParameters, mlpForward } from './graph/mlp.js';
import {
  checkStateFits,
  type Learner,
  type LearnerBatch,
  type LearnerState,
  type LearnerStats,
} from './learner.js';
import { offPolicyFields } from './off-policy-config.js';
import {
  buildSacUpdate,
  LOG_STD_MAX,
  LOG_STD_MIN,
  type SacGraphConfig,
  sacActorSizes,
} from './sac-graphs.js';
import { NonFiniteUpdateError, qFilterSwitch, Td3ConfigSchema } from './td3.js';

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
     * RLingua's imitation term toward the prior's actions (arXiv 2403.06420, §III-C), with TD3's
     * meaning: on the deterministic action tanh(μ), weight decaying linearly from
     * `initialWeight` to `finalWeight` over `decaySteps` actor steps (one per SAC update).
     */
    imitation: Td3ConfigSchema.shape.imitation,
  })
  .strict();

export type SacConfig = z.output<typeof SacConfigSchema>;

export interface SacStats {
  'train/critic_loss': number;
  'train/actor_loss': number;
  /** The α the losses used (before this step's update of α, as SB3 reports it). */
  'train/ent_coef': number;
  /** With `entCoef: 'auto'` only (as SB3). */
  'train/ent_coef_loss'?: number;
  'train/q1_mean': number;
  'train/imitation_loss'?: number;
  'train/imitation_weight'?: number;
  'train/imitation_fraction'?: number;
}

/**
 * The SAC learner: one onnxruntime call per gradient step (sac-graphs.ts); parameters, Adam
 * moments and log α live in tensors carried from one call's outputs to the next call's inputs.
 * The host draws the reparameterisation noise from the seeded Rng, so training is reproducible.
 */
export class SacLearner implements Learner {
  readonly algorithm = 'sac' as const;
  readonly config: SacConfig;
  private readonly graphConfig: SacGraphConfig;
  private readonly state = new Map<string, ort.Tensor>();
  private updates = 0;

  private constructor(
    config: SacConfig,
    graphConfig: SacGraphConfig,
    private readonly graph: UpdateGraph,
    private readonly session: ort.InferenceSession,
  ) {
    this.config = config;
    this.graphConfig = graphConfig;
  }

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
    const graph = buildSacUpdate(graphConfig);
    // Like TD3's sessions: no idle spinning of the thread pool, the host steps the sim between calls.
    const session = await ort.InferenceSession.create(graph.bytes, {
      extra: { session: { intra_op: { allow_spinning: '0' } } },
    });
    const learner = new SacLearner(config, graphConfig, graph, session);
    const zeros = (name: string, shape: number[], size: number) => {
      learner.state.set(`m.${name}`, new ort.Tensor('float32', new Float32Array(size), shape));
      learner.state.set(`v.${name}`, new ort.Tensor('float32', new Float32Array(size), shape));
    };
    for (const [prefix, layers] of [
      ['actor', sacActorSizes(graphConfig)],
      ['q1', criticSizes(graphConfig)],
      ['q2', criticSizes(graphConfig)],
    ] as const) {
      const params = initMlp(layers, rng);
      networkShapes(prefix, layers).forEach(({ name, shape }, i) => {
        const data = i % 2 === 0 ? params.weights[i / 2]! : params.biases[(i - 1) / 2]!;
        learner.state.set(name, new ort.Tensor('float32', data, shape));
        // SAC has no target actor (its targets use the current policy's sample, §4.2).
        if (prefix !== 'actor') {
          learner.state.set(
            name.replace(prefix, `${prefix}_target`),
            new ort.Tensor('float32', data.slice(), shape),
          );
        }
        zeros(name, shape, data.length);
      });
    }
    if (config.entCoef === 'auto') {
      learner.state.set(
        'log_alpha',
        new ort.Tensor('float32', Float32Array.of(Math.log(config.initialEntCoef)), [1]),
      );
      zeros('log_alpha', [1], 1);
    }
    return learner;
  }

  /** Gradient steps taken. */
  get steps(): number {
    return this.updates;
  }

  /** The current value of a tensor of the state (e.g. `actor.0.weight`, `log_alpha`), a copy. */
  parameter(name: string): Float32Array {
    const tensor = this.state.get(name);
    if (!tensor) throw new RangeError(`no parameter named ${name}`);
    return (tensor.data as Float32Array).slice();
  }

  /**
   * One SAC gradient step on `batch` (rows normalised, observation and desired goal
   * concatenated): entropy coefficient, critics, actor and, every `targetUpdateInterval` steps,
   * the critics' targets. A step whose losses or new tensors are not finite is rejected and
   * reported, and nothing changes.
   */
  async update(batch: LearnerBatch, rng: Rng, envSteps?: number): Promise<LearnerStats & SacStats> {
    const n = batch.size;
    const { observationSize: o, actionSize: a } = this.graphConfig;
    // ε for the sample on s (α and actor), then for the one on s' (critic targets).
    const noise = Float32Array.from({ length: n * a }, () => rng.normal());
    const nextNoise = Float32Array.from({ length: n * a }, () => rng.normal());
    const { lrT, epsHat } = adamStepScalars(this.updates + 1, {
      ...DEFAULT_ADAM,
      learningRate: this.config.learningRate,
    });
    // SB3 updates the targets when gradient_step % target_update_interval == 0, the first step included.
    const targetTau = this.updates % this.config.targetUpdateInterval === 0 ? this.config.tau : 0;
    const data: Record<string, ort.Tensor> = {
      obs: new ort.Tensor('float32', batch.input, [n, o]),
      action: new ort.Tensor('float32', batch.action, [n, a]),
      reward: new ort.Tensor('float32', batch.reward, [n, 1]),
      not_done: new ort.Tensor('float32', batch.notDone, [n, 1]),
      next_obs: new ort.Tensor('float32', batch.nextInput, [n, o]),
      noise: new ort.Tensor('float32', noise, [n, a]),
      next_noise: new ort.Tensor('float32', nextNoise, [n, a]),
      lr_t: new ort.Tensor('float32', Float32Array.of(lrT), []),
      eps_hat: new ort.Tensor('float32', Float32Array.of(epsHat), []),
      target_tau: new ort.Tensor('float32', Float32Array.of(targetTau), []),
    };
    const imitation = this.config.imitation;
    let imitationWeight: number | undefined;
    if (imitation.enabled) {
      if (!batch.priorAction || !batch.hasPriorAction) {
        throw new RangeError('SAC with imitation needs priorAction and hasPriorAction in every batch');
      }
      const progress = imitation.decaySteps === 0 ? 1 : Math.min(1, this.updates / imitation.decaySteps);
      imitationWeight =
        imitation.initialWeight + (imitation.finalWeight - imitation.initialWeight) * progress;
      data.prior_action = new ort.Tensor('float32', batch.priorAction, [n, a]);
      data.has_prior = new ort.Tensor('float32', batch.hasPriorAction, [n, 1]);
      data.imitation_weight = new ort.Tensor('float32', Float32Array.of(imitationWeight), []);
      data.q_filter_on = qFilterSwitch(imitation, envSteps);
    }
    const feeds: Record<string, ort.Tensor> = {};
    for (const name of this.graph.inputs) feeds[name] = data[name] ?? this.state.get(name)!;
    const out = await this.session.run(feeds);
    const stats: LearnerStats & SacStats = {
      'train/critic_loss': scalar(out.critic_loss),
      'train/actor_loss': scalar(out.actor_loss),
      'train/ent_coef': scalar(out.ent_coef),
      'train/q1_mean': scalar(out.q1_mean),
    };
    if (out.ent_coef_loss) stats['train/ent_coef_loss'] = scalar(out.ent_coef_loss);
    if (imitationWeight !== undefined) {
      stats['train/imitation_loss'] = scalar(out.imitation_loss);
      stats['train/imitation_weight'] = imitationWeight;
      stats['train/imitation_fraction'] = scalar(out.imitation_fraction);
    }
    this.checkFinite(out, stats);
    for (const [name, tensor] of Object.entries(out))
      if (name.startsWith('new.')) this.state.set(name.slice(4), tensor as ort.Tensor);
    this.updates++;
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
    const tensors: LearnerState['tensors'] = {};
    for (const [name, tensor] of this.state) {
      tensors[name] = { shape: [...tensor.dims], data: (tensor.data as Float32Array).slice() };
    }
    return { algorithm: this.algorithm, counters: { updates: this.updates }, tensors };
  }

  loadState(saved: LearnerState): void {
    checkStateFits(
      this.algorithm,
      saved,
      new Map([...this.state].map(([name, tensor]) => [name, tensor.dims])),
    );
    for (const [name, { shape, data }] of Object.entries(saved.tensors)) {
      this.state.set(name, new ort.Tensor('float32', Float32Array.from(data), shape));
    }
    this.updates = saved.counters.updates ?? 0;
  }

  async close(): Promise<void> {
    await this.session.release();
  }

  /** The whole actor: mean and log std heads. */
  private actorParameters(): MlpParameters {
    const sizes = sacActorSizes(this.graphConfig);
    const weights: Float32Array[] = [];
    const biases: Float32Array[] = [];
    for (let i = 0; i + 1 < sizes.length; i++) {
      weights.push(this.state.get(`actor.${i}.weight`)!.data as Float32Array);
      biases.push(this.state.get(`actor.${i}.bias`)!.data as Float32Array);
    }
    return { sizes, weights, biases };
  }

  /** Rejects an update with a non-finite loss or any non-finite new tensor. */
  private checkFinite(out: ort.InferenceSession.OnnxValueMapType, stats: LearnerStats): void {
    for (const [key, value] of Object.entries(stats)) {
      if (!Number.isFinite(value)) {
        throw new NonFiniteUpdateError(
          `SAC update ${this.updates + 1} rejected: ${key} is ${value} (is there NaN in the batch?)`,
        );
      }
    }
    for (const [name, tensor] of Object.entries(out)) {
      if (!name.startsWith('new.')) continue;
      const values = (tensor as ort.Tensor).data as Float32Array;
      for (let i = 0; i < values.length; i++) {
        if (!Number.isFinite(values[i]!)) {
          throw new NonFiniteUpdateError(
            `SAC update ${this.updates + 1} rejected: ${name.slice(4)} became ${values[i]}`,
          );
        }
      }
    }
  }
}

function scalar(value: ort.OnnxValue | undefined): number {
  return ((value as ort.Tensor | undefined)?.data as Float32Array | undefined)?.[0] ?? Number.NaN;
}

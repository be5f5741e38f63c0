import ort from 'onnxruntime-node';
import { z } from 'zod';
import { ArmpriorError } from '../core/errors.js';
import type { Rng } from '../core/rng.js';
import { adamStepScalars, DEFAULT_ADAM } from './graph/adam.js';
import { initMlp, type MlpParameters, mlpForward } from './graph/mlp.js';
import { type PackedSlot, packedSize } from './graph/packed.js';
import {
  checkStateFits,
  type Learner,
  type LearnerBatch,
  type LearnerState,
  type LearnerStats,
} from './learner.js';
import { MAX_ENV_STEPS, offPolicyFields } from './off-policy-config.js';
import {
  actorSizes,
  buildCriticActorUpdate,
  buildCriticUpdate,
  criticSizes,
  networkSlots,
  type Td3GraphConfig,
  type UpdateGraph,
} from './td3-graphs.js';

/**
 * TD3 (Fujimoto et al. 2018) with Stable-Baselines3's hyperparameter names. Every field is
 * described; the defaults are RL Zoo's for the panda-gym tasks with HER.
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
    /** Std of the Gaussian exploration noise added to the policy's actions (SB3's NormalActionNoise sigma). */
    actionNoise: z.number().min(0).max(10).default(0.1),
    /**
     * RLingua's imitation term toward the prior's actions (arXiv 2403.06420, §III-C): its weight
     * moves linearly from `initialWeight` to `finalWeight` over `decaySteps` actor steps.
     */
    imitation: z
      .object({
        enabled: z.boolean().default(false),
        initialWeight: z.number().min(0).max(10_000).default(2.5),
        finalWeight: z.number().min(0).max(10_000).default(0),
        decaySteps: z.number().int().min(0).max(MAX_ENV_STEPS).default(20_000),
        /** Imitate only where Q1 rates the prior's action above the policy's (Nair et al. 2018). */
        qFilter: z.boolean().default(true),
        /**
         * Environment steps before the Q-filter gates the term (with `qFilter`); until then every
         * labelled row imitates. Early on the critic is too poor to judge the prior; once it
         * can, the filter lets the policy leave the prior where it knows better. Counted by the
         * training loop (an update given no step count filters whenever `qFilter` is on).
         */
        qFilterFromStep: z.number().int().min(0).max(MAX_ENV_STEPS).default(0),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type Td3Config = z.output<typeof Td3ConfigSchema>;

/** An update whose losses or new parameters were not finite: it was rejected, nothing changed. */
export class NonFiniteUpdateError extends ArmpriorError {
  constructor(message: string) {
    super('update_not_finite', message);
  }
}

/** TD3's batch is the shared learner batch. */
export type Td3Batch = LearnerBatch;

export interface Td3Stats {
  'train/critic_loss': number;
  'train/q1_mean': number;
  /** Present on the steps that also updated the actor. */
  'train/actor_loss'?: number;
  /** With imitation on, on actor steps: the imitation term, its weight and the share of rows imitated. */
  'train/imitation_loss'?: number;
  'train/imitation_weight'?: number;
  'train/imitation_fraction'?: number;
}

/**
 * The TD3 learner: parameters and Adam moments live in onnxruntime tensors carried from one
 * call's outputs to the next call's inputs; the host only feeds batches and noise. One call per
 * update: the critic step, or on every `policyDelay`-th update the critic, actor and target
 * steps in one graph. Each network's parameters and moments are held packed (one vector per
 * network, see graph/packed.ts); checkpoints and `parameter()` see the per-layer tensors.
 */
export class Td3Learner implements Learner {
  readonly algorithm = 'td3' as const;
  readonly config: Td3Config;
  private readonly graphConfig: Td3GraphConfig;
  /** Packed tensors by name (`actor`, `q1_target`, `m.q2`…), and where each layer sits in them. */
  private readonly state = new Map<string, ort.Tensor>();
  private readonly layout: ReadonlyMap<string, readonly PackedSlot[]>;
  private updates = 0;
  private actorUpdates = 0;

  private constructor(
    config: Td3Config,
    graphConfig: Td3GraphConfig,
    private readonly critic: { graph: UpdateGraph; session: ort.InferenceSession },
    private readonly criticActor: { graph: UpdateGraph; session: ort.InferenceSession },
  ) {
    this.config = config;
    this.graphConfig = graphConfig;
    this.layout = new Map(Object.entries(criticActor.graph.packed));
  }

  static async create(
    config: Td3Config,
    sizes: { input: number; action: number },
    rng: Rng,
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
    };
    // Two sessions alternate on 2 cores: idle spinning of one's thread pool would slow the other.
    const options: ort.InferenceSession.SessionOptions = {
      extra: { session: { intra_op: { allow_spinning: '0' } } },
    };
    const criticGraph = buildCriticUpdate(graphConfig);
    const criticActorGraph = buildCriticActorUpdate(graphConfig);
    const learner = new Td3Learner(
      config,
      graphConfig,
      { graph: criticGraph, session: await ort.InferenceSession.create(criticGraph.bytes, options) },
      {
        graph: criticActorGraph,
        session: await ort.InferenceSession.create(criticActorGraph.bytes, options),
      },
    );
    for (const [name, layers] of [
      ['actor', actorSizes(graphConfig)],
      ['q1', criticSizes(graphConfig)],
      ['q2', criticSizes(graphConfig)],
    ] as const) {
      const params = initMlp(layers, rng);
      const size = packedSize(networkSlots(layers));
      const data = new Float32Array(size);
      let offset = 0;
      for (let i = 0; i < params.weights.length; i++) {
        for (const part of [params.weights[i]!, params.biases[i]!]) {
          data.set(part, offset);
          offset += part.length;
        }
      }
      learner.state.set(name, new ort.Tensor('float32', data, [size]));
      learner.state.set(`${name}_target`, new ort.Tensor('float32', data.slice(), [size]));
      learner.state.set(`m.${name}`, new ort.Tensor('float32', new Float32Array(size), [size]));
      learner.state.set(`v.${name}`, new ort.Tensor('float32', new Float32Array(size), [size]));
    }
    return learner;
  }

  /** Gradient steps taken. */
  get steps(): number {
    return this.updates;
  }

  /** The current value of a parameter (e.g. `actor.0.weight`), a copy. */
  parameter(name: string): Float32Array {
    for (const layer of this.layers()) if (layer.name === name) return layer.view.slice();
    throw new RangeError(`no parameter named ${name}`);
  }

  /**
   * One TD3 step on `batch` (rows normalised: observation and desired goal concatenated as the
   * network input); the actor and targets move every `policyDelay` steps. A step whose losses
   * or parameters come out non-finite is rejected whole and reported: nothing changes, and
   * training never goes on with NaN weights.
   */
  async update(batch: LearnerBatch, rng: Rng, envSteps?: number): Promise<LearnerStats & Td3Stats> {
    const n = batch.size;
    const { observationSize: o, actionSize: a } = this.graphConfig;
    const t = this.updates + 1;
    const actorStep = t % this.config.policyDelay === 0;
    const imitation = this.config.imitation;
    if (actorStep && imitation.enabled && (!batch.priorAction || !batch.hasPriorAction)) {
      throw new RangeError('TD3 with imitation needs priorAction and hasPriorAction in every batch');
    }
    const noise = Float32Array.from({ length: n * a }, () => rng.normal() * this.config.targetPolicyNoise);
    const data: Record<string, ort.Tensor> = {
      obs: new ort.Tensor('float32', batch.input, [n, o]),
      action: new ort.Tensor('float32', batch.action, [n, a]),
      reward: new ort.Tensor('float32', batch.reward, [n, 1]),
      not_done: new ort.Tensor('float32', batch.notDone, [n, 1]),
      next_obs: new ort.Tensor('float32', batch.nextInput, [n, o]),
      noise: new ort.Tensor('float32', noise, [n, a]),
      ...this.adamFeeds('', t),
    };
    let weight: number | undefined;
    if (actorStep) {
      Object.assign(data, this.adamFeeds('actor_', this.actorUpdates + 1));
      if (imitation.enabled) {
        const progress =
          imitation.decaySteps === 0 ? 1 : Math.min(1, this.actorUpdates / imitation.decaySteps);
        weight = imitation.initialWeight + (imitation.finalWeight - imitation.initialWeight) * progress;
        data.prior_action = new ort.Tensor('float32', batch.priorAction!, [n, a]);
        data.has_prior = new ort.Tensor('float32', batch.hasPriorAction!, [n, 1]);
        data.imitation_weight = new ort.Tensor('float32', Float32Array.of(weight), []);
        data.q_filter_on = qFilterSwitch(imitation, envSteps);
      }
    }
    const part = actorStep ? this.criticActor : this.critic;
    const feeds: Record<string, ort.Tensor> = {};
    for (const name of part.graph.inputs) feeds[name] = data[name] ?? this.state.get(name)!;
    const out = await part.session.run(feeds);
    const stats: LearnerStats & Td3Stats = {
      'train/critic_loss': scalar(out.loss),
      'train/q1_mean': scalar(out.q1_mean),
    };
    if (actorStep) {
      stats['train/actor_loss'] = scalar(out.actor_loss);
      if (weight !== undefined) {
        stats['train/imitation_weight'] = weight;
        stats['train/imitation_loss'] = scalar(out.imitation_loss);
        stats['train/imitation_fraction'] = scalar(out.imitation_fraction);
      }
    }
    this.checkFinite(out, {
      critic: stats['train/critic_loss'],
      ...(actorStep ? { actor: stats['train/actor_loss'] } : {}),
    });
    this.carry(out);
    this.updates = t;
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
    const sizes = actorSizes(this.graphConfig);
    const weights: Float32Array[] = [];
    const biases: Float32Array[] = [];
    for (const { name, view } of this.layers('actor'))
      (name.endsWith('.weight') ? weights : biases).push(view);
    return { sizes, weights, biases };
  }

  getState(): LearnerState {
    const tensors: LearnerState['tensors'] = {};
    for (const { name, shape, view } of this.layers()) tensors[name] = { shape, data: view.slice() };
    return {
      algorithm: this.algorithm,
      counters: { updates: this.updates, actorUpdates: this.actorUpdates },
      tensors,
    };
  }

  loadState(saved: LearnerState): void {
    checkStateFits(this.algorithm, saved, new Map([...this.layers()].map((l) => [l.name, l.shape])));
    for (const [name, slots] of this.layout) {
      const packed = new Float32Array(packedSize(slots));
      for (const { suffix, offset } of slots) packed.set(saved.tensors[name + suffix]!.data, offset);
      this.state.set(name, new ort.Tensor('float32', packed, [packed.length]));
    }
    this.updates = saved.counters.updates ?? 0;
    this.actorUpdates = saved.counters.actorUpdates ?? 0;
  }

  async close(): Promise<void> {
    await this.critic.session.release();
    await this.criticActor.session.release();
  }

  /**
   * Every layer tensor of the packed state (or of one packed tensor), named as in checkpoints
   * (`<packed name><suffix>`, e.g. `m.q1.0.weight`), with a view into the packed vector.
   */
  private *layers(only?: string): Generator<{ name: string; shape: number[]; view: Float32Array }> {
    for (const [name, slots] of this.layout) {
      if (only !== undefined && name !== only) continue;
      const packed = this.state.get(name)!.data as Float32Array;
      for (const { suffix, shape, offset, length } of slots) {
        yield { name: name + suffix, shape, view: packed.subarray(offset, offset + length) };
      }
    }
  }

  /** Adam's step scalars for step `t` (1-based), as the graph inputs `<prefix>lr_t`, `<prefix>eps_hat`. */
  private adamFeeds(prefix: string, t: number): Record<string, ort.Tensor> {
    const { lrT, epsHat } = adamStepScalars(t, { ...DEFAULT_ADAM, learningRate: this.config.learningRate });
    return {
      [`${prefix}lr_t`]: new ort.Tensor('float32', Float32Array.of(lrT), []),
      [`${prefix}eps_hat`]: new ort.Tensor('float32', Float32Array.of(epsHat), []),
    };
  }

  /** Rejects an update with a non-finite loss or any non-finite new parameter or moment. */
  private checkFinite(out: ort.InferenceSession.OnnxValueMapType, losses: Record<string, number>): void {
    for (const [part, loss] of Object.entries(losses)) {
      if (!Number.isFinite(loss)) {
        throw new NonFiniteUpdateError(
          `TD3 ${part} update ${this.updates + 1} rejected: its loss is ${loss} (is there NaN in the batch?)`,
        );
      }
    }
    // The graph's sum of every new value is finite when they all are: scan only when it is not.
    if (Number.isFinite(scalar(out.new_sum))) return;
    for (const [name, tensor] of Object.entries(out)) {
      if (!name.startsWith('new.')) continue;
      const values = (tensor as ort.Tensor).data as Float32Array;
      for (const { suffix, offset, length } of this.layout.get(name.slice(4)) ?? []) {
        for (let i = offset; i < offset + length; i++) {
          if (!Number.isFinite(values[i]!)) {
            throw new NonFiniteUpdateError(
              `TD3 update ${this.updates + 1} rejected: ${name.slice(4)}${suffix} became ${values[i]}`,
            );
          }
        }
      }
    }
  }

  private carry(out: ort.InferenceSession.OnnxValueMapType): void {
    for (const [name, tensor] of Object.entries(out))
      if (name.startsWith('new.')) this.state.set(name.slice(4), tensor as ort.Tensor);
  }
}

/**
 * The graph input `q_filter_on` for an actor step at `envSteps` (unknown: on): 1 once the run
 * is past `qFilterFromStep`, else 0. Shared with SAC, whose imitation config is TD3's.
 */
export function qFilterSwitch(
  imitation: Pick<Td3Config['imitation'], 'qFilter' | 'qFilterFromStep'>,
  envSteps: number | undefined,
): ort.Tensor {
  const on = imitation.qFilter && (envSteps === undefined || envSteps >= imitation.qFilterFromStep);
  return new ort.Tensor('float32', Float32Array.of(on ? 1 : 0), []);
}

function scalar(value: ort.OnnxValue | undefined): number {
  return ((value as ort.Tensor | undefined)?.data as Float32Array | undefined)?.[0] ?? Number.NaN;
}

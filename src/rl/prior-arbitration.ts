import type { VecObservation } from '../../sim/vec-env.js';
import type { Rng } from '../core/rng.js';
import { type LinearSchedule, linearSchedule } from './schedule.js';

// Who acts at each env step while training collects data. RLingua (arXiv 2403.06420) executes
// the LLM-written prior's action with a probability that decays over training and the policy's
// otherwise; this unit also decides which of the prior's answers become imitation labels and
// what happens when a prior gives up on an episode. Beside data-mixer.ts: the two are RLingua's
// mixing of the prior into collection and into batches.

/** Precollection runs the prior alone (RLingua's demonstrations); training mixes it with the policy. */
export type CollectionPhase = 'precollect' | 'train';

/**
 * What the arbitration needs of a prior controller (a SandboxedController is one). Stated here,
 * not taken from src/controllers, so that learning code does not depend on the controllers'
 * layer (DESIGN.md, layers).
 */
export interface ArbitratedPrior {
  /** A new episode starts. */
  reset(): void;
  act(
    observation: Float64Array,
    achievedGoal: Float64Array,
    desiredGoal: Float64Array,
  ): Promise<Float64Array>;
  /** Set once the prior has given up on the current episode (it kept failing). */
  abortReason(): string | undefined;
  /** Whether it has ever kept state in `ctx.memory` (sticky): a phase machine with a plan. */
  keepsMemory(): boolean;
}

/** The rlingua settings the arbitration follows (train-config.ts documents each). */
export interface ArbitrationConfig {
  priorActionProbability: LinearSchedule;
  priorActing: 'episode' | 'step' | 'rollIn' | 'takeOver';
  labelPolicySteps: boolean | 'auto';
}

export interface PriorArbitrationOptions {
  /** One prior per env, or none when the run never consults it. */
  priors: readonly ArbitratedPrior[];
  numEnvs: number;
  sizes: { observation: number; goal: number; action: number };
  /** The task's episode length: how long a roll-in may last, how late a take-over may come. */
  episodeSteps: number;
  config: ArbitrationConfig;
  /** The learner has an imitation term: the prior's answers are its labels. */
  imitation: boolean;
  /**
   * Where the sticky finding "the prior keeps a plan in ctx.memory" is kept: the run state, so
   * that a resumed run keeps deciding labels as the uninterrupted one would.
   */
  memory: { priorKeepsMemory?: boolean };
  onNotice?: ((message: string) => void) | undefined;
}

/** One step's outcome, env by env. */
export interface ArbitratedStep {
  /** What the envs execute: the prior's action (clipped to [-1, 1]) where it acts, else the policy's. */
  actions: Float64Array;
  /** 1 where the prior's action was executed. */
  priorActed: Uint8Array;
  /** The imitation label per env: the prior's own answer (unclipped) where it is a label. */
  labels: (Float64Array | undefined)[];
  /** Episodes whose prior gave up at this step (handed to the policy). */
  abortedEpisodes: number;
}

/**
 * Decides, round by round (every env runs one episode per round), how the prior and the policy
 * share the acting. Holds what lasts over the run: whether the label choice was announced.
 */
export class PriorArbitration {
  private labelsAnnounced = false;

  constructor(private readonly options: PriorArbitrationOptions) {}

  /**
   * Starts a round at `envSteps`: resets the priors and, with `priorActing: 'episode'`, draws
   * from `rng` which envs the prior drives this round. Call after the envs' reset has drawn its seed.
   */
  beginRound(phase: CollectionPhase, envSteps: number, rng: Rng): ArbitrationRound {
    const { priors, config, imitation } = this.options;
    const labelsPolicySteps = this.labelsPolicySteps();
    if (phase === 'train') this.announceLabels(labelsPolicySteps);
    for (const prior of priors) prior.reset();
    const probability = phase === 'precollect' ? 1 : linearSchedule(config.priorActionProbability, envSteps);
    return new ArbitrationRound(
      {
        ...this.options,
        phase,
        probability,
        labelsPolicySteps,
        // Asked only when its answer is used: to act, or as a label on the policy's steps.
        askPrior: priors.length > 0 && (probability > 0 || (imitation && labelsPolicySteps)),
        logsLabels: phase === 'train' && imitation && priors.length > 0,
      },
      rng,
    );
  }

  /** rlingua.labelPolicySteps, with `auto` resolved: checked once per round, so it changes between rounds only. */
  private labelsPolicySteps(): boolean {
    const { priors, config, memory } = this.options;
    const setting = config.labelPolicySteps;
    if (setting !== 'auto' || priors.length === 0) return setting === true;
    if (!memory.priorKeepsMemory && priors.some((prior) => prior.keepsMemory())) {
      memory.priorKeepsMemory = true;
      // The choice just changed: say so again.
      this.labelsAnnounced = false;
    }
    return !memory.priorKeepsMemory;
  }

  /** With `auto`, a person should know which labels the imitation term gets. */
  private announceLabels(labelsPolicySteps: boolean): void {
    const { priors, config, imitation, onNotice } = this.options;
    if (this.labelsAnnounced || config.labelPolicySteps !== 'auto' || !imitation || priors.length === 0)
      return;
    this.labelsAnnounced = true;
    onNotice?.(
      labelsPolicySteps
        ? "the prior keeps nothing in ctx.memory: its answers on the policy's steps are imitation labels too (rlingua.labelPolicySteps: auto)"
        : 'the prior keeps a plan in ctx.memory: only its own steps are imitation labels (rlingua.labelPolicySteps: auto)',
    );
  }
}

interface RoundSettings
  extends Pick<PriorArbitrationOptions, 'priors' | 'numEnvs' | 'sizes' | 'config' | 'episodeSteps'> {
  phase: CollectionPhase;
  probability: number;
  labelsPolicySteps: boolean;
  askPrior: boolean;
  /** Whether `rollout/policy_steps_labelled` means anything this round. */
  logsLabels: boolean;
}

/** The arbitration within one round of episodes. */
export class ArbitrationRound {
  /** Per env: the prior drives this episode (`priorActing: 'episode'`). */
  private readonly drives: Uint8Array;
  /** Per env: the prior gave up on this episode; it is not asked again until the next one. */
  private readonly gaveUp: Uint8Array;
  /** Per env, with `priorActing: 'rollIn'` in training: the steps the prior drives before the policy takes over. */
  private readonly rollIn: Int32Array | undefined;
  /**
   * Per env, with `priorActing: 'takeOver'` in training: the step from which the prior drives
   * (from a fresh start); -1 where the policy drives the whole episode.
   */
  private readonly takeOver: Int32Array | undefined;
  /** Steps taken in this round. */
  private t = 0;

  constructor(
    private readonly round: RoundSettings,
    rng: Rng,
  ) {
    const { numEnvs, askPrior, probability } = round;
    // Drawn in both acting modes (and none at probability 1): these draws are part of the
    // run's random sequence, which same-seed runs and resumed runs reproduce.
    this.drives = Uint8Array.from({ length: numEnvs }, () =>
      askPrior && probability > 0 && (probability >= 1 || rng.next() < probability) ? 1 : 0,
    );
    this.gaveUp = new Uint8Array(numEnvs);
    // Jump-start RL (Uchendu et al. 2023, JSRL-Random): a drawn episode starts with the prior
    // for h ~ U{1 … length − 1} steps, then the policy finishes it, so the policy practises
    // from the states the prior reaches, late ones included. Precollection keeps whole episodes.
    this.rollIn =
      round.config.priorActing === 'rollIn' && round.phase === 'train'
        ? Int32Array.from(this.drives, (d) => (d ? rng.int(1, Math.max(1, round.episodeSteps - 1)) : 0))
        : undefined;
    // The other way round: the policy starts a drawn episode and the prior, reset as for a new
    // episode, takes over at h ~ U{1 … length / 2} and finishes it. A phase-machine prior plans
    // again from wherever the policy left the task, so its steps show the way back from the
    // policy's own mistakes (a cube knocked aside, say), which its own episodes never show.
    // Within the first half, so that the prior has the time its plan needs.
    this.takeOver =
      round.config.priorActing === 'takeOver' && round.phase === 'train'
        ? Int32Array.from(this.drives, (d) =>
            d ? rng.int(1, Math.max(1, Math.floor(round.episodeSteps / 2))) : -1,
          )
        : undefined;
  }

  /** The probability that the prior's action is executed this round (1 while precollecting). */
  get probability(): number {
    return this.round.probability;
  }

  /**
   * The actions for one step: asks the priors of the `active` envs, then picks per env between
   * the prior's answer and `policy` (numEnvs × action values), drawing from `rng` in
   * `priorActing: 'step'`.
   */
  async step(
    obs: VecObservation,
    active: Uint8Array,
    policy: Float32Array,
    rng: Rng,
  ): Promise<ArbitratedStep> {
    const { numEnvs, priors, labelsPolicySteps } = this.round;
    const a = this.round.sizes.action;
    const answers = await this.ask(obs, active);
    const step: ArbitratedStep = {
      actions: new Float64Array(numEnvs * a),
      priorActed: new Uint8Array(numEnvs),
      labels: [],
      abortedEpisodes: 0,
    };
    for (let i = 0; i < numEnvs; i++) {
      let answer = answers[i];
      if (answer !== undefined && priors[i]!.abortReason() !== undefined) {
        // A prior that keeps failing hands the episode to the policy; it is counted.
        this.gaveUp[i] = 1;
        step.abortedEpisodes++;
        answer = undefined;
      }
      const priorActs = answer !== undefined && this.priorActs(i, rng);
      step.priorActed[i] = priorActs ? 1 : 0;
      for (let j = 0; j < a; j++) {
        step.actions[i * a + j] = priorActs ? Math.min(1, Math.max(-1, answer![j]!)) : policy[i * a + j]!;
      }
      // A label only where the prior drove (RLingua imitates the controller's own samples):
      // asked while the policy drives, a phase-machine prior answers from a plan the policy is
      // not following (measured on Push: those labels kept the policy at the do-nothing
      // level). `rlingua.labelPolicySteps` keeps them anyway (DAgger's relabelling).
      step.labels.push(priorActs || labelsPolicySteps ? answer : undefined);
    }
    this.t++;
    return step;
  }

  /** This round's rollout metrics (undefined: not logged). */
  metrics(): Record<`rollout/${string}`, number | undefined> {
    return {
      'rollout/prior_action_probability': this.round.probability,
      // 1 while the prior's answers on the policy's steps are imitation labels (labelPolicySteps).
      'rollout/policy_steps_labelled': this.round.logsLabels
        ? Number(this.round.labelsPolicySteps)
        : undefined,
    };
  }

  /** Each prior runs in its own sandbox process: ask them all at once. */
  private ask(obs: VecObservation, active: Uint8Array): Promise<(Float64Array | undefined)[]> {
    const { priors, askPrior, sizes } = this.round;
    const { observation: o, goal: g } = sizes;
    return Promise.all(
      priors.map((prior, i) =>
        askPrior && active[i] && !this.gaveUp[i] && this.takenOver(i, prior)
          ? prior.act(
              obs.observation.subarray(i * o, (i + 1) * o),
              obs.achievedGoal.subarray(i * g, (i + 1) * g),
              obs.desiredGoal.subarray(i * g, (i + 1) * g),
            )
          : undefined,
      ),
    );
  }

  /**
   * With `priorActing: 'takeOver'`, whether the prior drives env `i` at this step, resetting it
   * at the step it takes over (before that, and where it never does, it is not asked: its
   * memory starts where it takes over). True in the other modes.
   */
  private takenOver(i: number, prior: ArbitratedPrior): boolean {
    if (!this.takeOver) return true;
    const from = this.takeOver[i]!;
    if (from < 0 || this.t < from) return false;
    if (this.t === from) prior.reset();
    return true;
  }

  /** Whether the prior's answer is executed in env `i` at this step. */
  private priorActs(i: number, rng: Rng): boolean {
    const { config, probability } = this.round;
    if (this.rollIn) return this.t < this.rollIn[i]!;
    if (this.takeOver) return this.takeOver[i]! >= 0 && this.t >= this.takeOver[i]!;
    if (config.priorActing !== 'step') return this.drives[i] === 1;
    return probability >= 1 || rng.next() < probability;
  }
}

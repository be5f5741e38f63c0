import type { VecObservation, VecStepResult } from '../../../sim/vec-env.js';
import type { Step, TransitionSizes } from '../../episodes/step.js';
import type {
  ArbitratedStep,
  ArbitrationRound,
  CollectionPhase,
  PriorArbitration,
} from '../prior-arbitration.js';
import { ReplayBufferSink } from '../replay-buffer-sink.js';
import { policyInput, updateNormalizer } from './batch-builder.js';
import type { TrainingRun } from './run-setup.js';
import type { RunState } from './run-state.js';
import type { TrainConfig } from './train-config.js';
import { accumulate } from './train-record.js';

/** Training episodes in the rolling success rate (SB3's ep_info_buffer is 100 long). */
const SUCCESS_WINDOW = 100;

/** RLingua's precollection runs until its episodes are in; training follows. */
export function collectionPhase(state: Pick<RunState, 'precollected'>, config: TrainConfig): CollectionPhase {
  return state.precollected < config.rlingua.precollectEpisodes ? 'precollect' : 'train';
}

/**
 * Collection (SB3's collect_rollouts), in rounds: every env runs one episode from a reset seeded
 * by the run's collect stream, the prior arbitration choosing who acts. Precollection's episodes
 * go to the demonstration buffer, training's to the online one. Nothing is left in an env
 * between rounds, so a checkpoint between two rounds resumes exactly.
 */
export class Collector {
  /** One per env: its episode goes whole into a replay buffer when it ends. */
  private readonly sinks: ReplayBufferSink[];

  constructor(
    private readonly run: TrainingRun,
    private readonly config: TrainConfig,
    private readonly arbitration: PriorArbitration,
    /**
     * Runs while the workers simulate a step, once learning has started (the learner updates
     * on this thread meanwhile): the gradient steps owed for `envSteps` new env steps.
     */
    private readonly learnWhileStepping: (envSteps: number) => Promise<void>,
  ) {
    const { envs, sizes, maxEpisodeSteps, parts } = run;
    this.sinks = Array.from(
      { length: envs.numEnvs },
      () =>
        new ReplayBufferSink(parts.online, sizes, maxEpisodeSteps, (episode) =>
          updateNormalizer(parts.normalizer, episode, sizes),
        ),
    );
  }

  /** One round: an episode in every env, stored, with the round's rollout statistics. */
  async collectRound(): Promise<void> {
    const { envs, parts, maxEpisodeSteps } = this.run;
    const { state, collectRng: rng } = parts;
    const phase = collectionPhase(state, this.config);
    const learning = phase === 'train' && state.envSteps >= this.config.learningStarts;
    let obs: VecObservation = await envs.reset({ seed: rng.int(0, 2 ** 31 - 1) });
    const round = this.arbitration.beginRound(phase, state.envSteps, rng);
    const tally = new RoundTally(envs.numEnvs);
    const buffer = phase === 'precollect' ? parts.demo : parts.online;
    for (const sink of this.sinks) {
      sink.buffer = buffer;
      sink.begin();
    }
    for (let t = 0; t < maxEpisodeSteps && tally.anyActive(); t++) {
      obs = await this.step(obs, phase, round, tally, learning);
    }
    this.finishRound(phase, round, tally);
  }

  /** One step of every env (finished ones included: their results are not recorded). */
  private async step(
    obs: VecObservation,
    phase: CollectionPhase,
    round: ArbitrationRound,
    tally: RoundTally,
    learning: boolean,
  ): Promise<VecStepResult> {
    const { envs, parts } = this.run;
    const policy = this.policyActions(obs, phase);
    const step = await round.step(obs, tally.active, policy, parts.collectRng);
    parts.state.priorAbortedEpisodes += step.abortedEpisodes;
    // Collection and learning overlap: the workers simulate while this thread updates.
    const stepping = envs.step(step.actions);
    if (learning) await this.learnWhileStepping(tally.activeCount());
    const result = await stepping;
    for (let i = 0; i < envs.numEnvs; i++) if (tally.active[i]) this.record(i, obs, result, step, tally);
    return result;
  }

  /**
   * The policy's exploring actions; uniform noise until learningStarts env steps of training
   * (SB3's learning_starts). Precollection asks the learner too: its actions stand in where a
   * prior gives up.
   */
  private policyActions(obs: VecObservation, phase: CollectionPhase): Float32Array {
    const { envs, parts, sizes } = this.run;
    const n = envs.numEnvs;
    if (phase === 'train' && parts.state.envSteps < this.config.learningStarts)
      return Float32Array.from({ length: n * sizes.action }, () => parts.collectRng.uniform(-1, 1));
    const input = policyInput(obs.observation, obs.desiredGoal, n, sizes, parts.normalizer);
    return parts.learner.act(input, n, 'explore', parts.collectRng);
  }

  /** Env `i`'s transition into its episode, and the counters it moves. */
  private record(
    i: number,
    obs: VecObservation,
    result: VecStepResult,
    step: ArbitratedStep,
    tally: RoundTally,
  ): void {
    const { state } = this.run.parts;
    const done = result.terminated[i] === 1 || result.truncated[i] === 1;
    this.sinks[i]!.step(stepOf(i, obs, result, step, done, this.run.sizes));
    tally.returns[i] = tally.returns[i]! + result.reward[i]!;
    state.envSteps++;
    state.collectedSteps++;
    state.priorActedSteps += step.priorActed[i]!;
    if (done) {
      tally.active[i] = 0;
      tally.successes[i] = result.isSuccess[i]!;
    }
  }

  /** The round's episodes into their buffer, the rolling statistics, the round's metrics. */
  private finishRound(phase: CollectionPhase, round: ArbitrationRound, tally: RoundTally): void {
    const { state } = this.run.parts;
    const keepFailedLabels = this.config.rlingua.imitateFailedPriorEpisodes;
    this.sinks.forEach((sink, i) => {
      if (!keepFailedLabels && !tally.successes[i]) sink.dropLabelsOfPriorSteps();
      sink.end();
      state.recentSuccess = [...state.recentSuccess, tally.successes[i]!].slice(-SUCCESS_WINDOW);
      state.recentReturn = [...state.recentReturn, tally.returns[i]!].slice(-SUCCESS_WINDOW);
      state.episodes++;
      if (phase === 'precollect') state.precollected++;
    });
    state.rounds++;
    accumulate(state, round.metrics());
  }
}

/**
 * Env `i`'s step. An episode that ended has its last observation in `final*`: VecEnv has already
 * reset that env.
 */
function stepOf(
  i: number,
  obs: VecObservation,
  result: VecStepResult,
  step: ArbitratedStep,
  done: boolean,
  sizes: TransitionSizes,
): Step {
  const { observation: o, goal: g, action: a } = sizes;
  return {
    observation: obs.observation.subarray(i * o, (i + 1) * o),
    achievedGoal: obs.achievedGoal.subarray(i * g, (i + 1) * g),
    desiredGoal: obs.desiredGoal.subarray(i * g, (i + 1) * g),
    action: step.actions.subarray(i * a, (i + 1) * a),
    reward: result.reward[i]!,
    nextObservation: (done ? result.finalObservation : result.observation).subarray(i * o, (i + 1) * o),
    nextAchievedGoal: (done ? result.finalAchievedGoal : result.achievedGoal).subarray(i * g, (i + 1) * g),
    terminated: result.terminated[i] === 1,
    truncated: result.truncated[i] === 1,
    priorActed: step.priorActed[i] === 1,
    priorAction: step.labels[i],
  };
}

/** One round's running tally, env by env. */
class RoundTally {
  /** 1 while the env's episode goes on. */
  readonly active: Uint8Array;
  readonly returns: Float64Array;
  readonly successes: Uint8Array;

  constructor(numEnvs: number) {
    this.active = new Uint8Array(numEnvs).fill(1);
    this.returns = new Float64Array(numEnvs);
    this.successes = new Uint8Array(numEnvs);
  }

  anyActive(): boolean {
    return this.active.some((x) => x === 1);
  }

  activeCount(): number {
    return this.active.reduce((n, x) => n + x, 0);
  }
}

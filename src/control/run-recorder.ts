import type { GoalObservation } from '../../sim/env.js';
import { DatasetSink } from '../episodes/dataset/dataset-sink.js';
import { DatasetWriter, type FieldSize } from '../episodes/dataset/index.js';
import type { EndReason, Step } from '../episodes/step.js';

export interface RunRecorderOptions {
  dir: string;
  task: string;
  robot: string;
  source: 'sim' | 'robot';
  /** The loop period (s): one recorded step. */
  periodSec: number;
  /** The task's observation fields (only names and sizes are recorded). */
  observationFields: readonly FieldSize[];
  goalSize: number;
  actionSize: number;
  /** The task's reward for (achieved, desired) goals. */
  computeReward: (achieved: ArrayLike<number>, desired: ArrayLike<number>) => number;
  /** Whether the actor is a prior (its actions are then demonstrations: prior_acted, prior_action). */
  actorIsPrior: boolean;
}

/** One control step as the loop saw it. */
export interface RecordedStep {
  obs: GoalObservation;
  /** The actor's proposal (task action space). */
  proposed: ArrayLike<number>;
  /** What was sent after the safety filter, in the same action space. */
  sent: ArrayLike<number>;
  interventions: number;
  /** Seconds since the episode began, on the loop clock. */
  timeSec: number;
}

/**
 * Records `armprior run` as episodes in the dataset format of `train --demos` (src/episodes/dataset):
 * each step's observation, the actor's proposed action, the action actually sent, the safety
 * interventions and the time. A step is written once the next observation is known (its
 * `next_observation`); ending an episode — at its length, at a gap in the robot's state or link,
 * on Ctrl-C or on a fault — writes the last step with the last observation seen, so nothing
 * recorded is lost and no step spans a gap, and the file appears only complete (the writer
 * publishes it atomically). The robot's steps go to the same dataset sink as simulated ones.
 */
export class RunRecorder {
  private pending: RecordedStep | undefined;
  private lastObs: GoalObservation | undefined;
  private open = false;
  private episodes = 0;
  /** The first failed episode write, not yet reported. */
  private failure: unknown;
  private readonly sink: DatasetSink;

  private constructor(
    private readonly writer: DatasetWriter,
    private readonly options: RunRecorderOptions,
  ) {
    this.sink = new DatasetSink(writer);
  }

  static async open(options: RunRecorderOptions): Promise<RunRecorder> {
    const writer = await DatasetWriter.open(options.dir, {
      task: options.task,
      robot: options.robot,
      source: options.source,
      ctrlDtSec: options.periodSec,
      observationFields: options.observationFields,
      goalSize: options.goalSize,
      actionSize: options.actionSize,
    });
    return new RunRecorder(writer, options);
  }

  get dir(): string {
    return this.writer.dir;
  }

  beginEpisode(actor: string, options: { seed?: number; priorVersion?: string } = {}): void {
    this.sink.begin({ index: this.episodes++, actor, ...options });
    this.open = true;
    this.pending = undefined;
    this.lastObs = undefined;
  }

  /** Adds a step; the previous one is written with this step's observation as its next. */
  step(step: RecordedStep): void {
    this.throwIfFailed();
    if (!this.open) return;
    if (this.pending) this.write(this.pending, step.obs, false);
    this.pending = step;
    this.lastObs = step.obs;
  }

  /** Notes an observation taken after the last step (the state the robot stopped in). */
  observeFinal(obs: GoalObservation): void {
    this.lastObs = obs;
  }

  /**
   * Ends the episode: `truncated` at its length, `run_ended` when the run ended normally,
   * `aborted` on a fault, `link_lost`/`state_gap` at a gap (see {@link EndReason}). Its file is
   * written in the background: a control step must not wait for the disk (an fsync on a busy
   * machine takes longer than a robot may go without a command). A write that fails makes the
   * next {@link step} throw, naming the recording, and {@link close} throw too.
   */
  endEpisode(reason: EndReason): void {
    if (!this.open) return;
    this.open = false;
    if (this.pending && this.lastObs) this.write(this.pending, this.lastObs, reason === 'truncated');
    this.pending = undefined;
    Promise.resolve(this.sink.end({ reason })).catch((error: unknown) => {
      this.failure ??= error;
    });
  }

  /** Waits for every episode file to be written; throws the first write's failure. */
  async close(): Promise<void> {
    await this.writer.close();
    this.throwIfFailed();
  }

  private throwIfFailed(): void {
    if (this.failure === undefined) return;
    const failure = this.failure;
    this.failure = undefined; // reported once
    throw failure;
  }

  private write(step: RecordedStep, next: GoalObservation, truncated: boolean): void {
    const { obs } = step;
    this.sink.step({
      observation: obs.observation,
      achievedGoal: obs.achievedGoal,
      desiredGoal: obs.desiredGoal,
      action: step.proposed,
      nextObservation: next.observation,
      nextAchievedGoal: next.achievedGoal,
      reward: this.options.computeReward(next.achievedGoal, obs.desiredGoal),
      terminated: false,
      truncated,
      priorActed: this.options.actorIsPrior,
      priorAction: this.options.actorIsPrior ? step.proposed : null,
      timeSec: step.timeSec,
      sentAction: step.sent,
      safetyInterventions: step.interventions,
    } satisfies Step);
  }
}

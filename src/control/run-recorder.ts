import { DatasetSink } from '../episodes/dataset/dataset-sink.js';
import { DatasetWriter, type FieldSize } from '../episodes/dataset/index.js';
import type { EndReason, GoalState, Step } from '../episodes/step.js';

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

/**
 * A control step as the loop knows it when it sends the command: a {@link Step} before what
 * follows it (the next observation, the reward) is known. `action` is the actor's proposal,
 * `sentAction` what was sent after the safety filter, `timeSec` on the loop clock.
 */
export type StepSoFar = Required<
  Pick<
    Step,
    | 'observation'
    | 'achievedGoal'
    | 'desiredGoal'
    | 'action'
    | 'sentAction'
    | 'safetyInterventions'
    | 'timeSec'
  >
>;

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
  private pending: StepSoFar | undefined;
  private lastObs: GoalState | undefined;
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
  step(step: StepSoFar): void {
    this.throwIfFailed();
    if (!this.open) return;
    if (this.pending) this.write(this.pending, step, false);
    this.pending = step;
    this.lastObs = step;
  }

  /** Notes an observation taken after the last step (the state the robot stopped in). */
  observeFinal(obs: GoalState): void {
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

  private write(step: StepSoFar, next: GoalState, truncated: boolean): void {
    this.sink.step({
      ...step,
      nextObservation: next.observation,
      nextAchievedGoal: next.achievedGoal,
      reward: this.options.computeReward(next.achievedGoal, step.desiredGoal),
      terminated: false,
      truncated,
      priorActed: this.options.actorIsPrior,
      priorAction: this.options.actorIsPrior ? step.action : null,
    });
  }
}

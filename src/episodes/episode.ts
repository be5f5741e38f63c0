import type { Step, TransitionSizes } from './step.js';

/**
 * One episode's steps as columns: per step t, the vectors before the step, the action, and what
 * followed, flat (`observation` holds length × observation values). The form the replay buffer
 * stores and a dataset file holds.
 */
export interface Episode {
  length: number;
  /** length × observation: observation before step t. */
  observation: Float64Array;
  /** length × goal: achieved goal before step t. */
  achievedGoal: Float64Array;
  /** length × goal: the episode's desired goal at step t. */
  desiredGoal: Float64Array;
  /** length × action: the transition's action (see {@link Step.action}). */
  action: Float64Array;
  /** length: the env's reward. */
  reward: Float64Array;
  /** length × observation and × goal: after step t. */
  nextObservation: Float64Array;
  nextAchievedGoal: Float64Array;
  /** length: 1 where step t ended in a terminal state (not a truncation: bootstrapping goes on). */
  terminated: Uint8Array;
  /** length: 1 where the prior controller chose the action (RLingua's prior-acted flag). */
  priorActed: Uint8Array;
  /** length × action: the prior's action where it was asked (else zeros). */
  priorAction: Float64Array;
  /** length: 1 where `priorAction` holds a prior's proposal. */
  hasPriorAction: Uint8Array;
  /** length: 1 where the step was cut short (time limit, unstable physics); absent: none was. */
  truncated?: Uint8Array;
  /** length: seconds since the episode started; absent: `t × control period`. */
  timeSec?: Float64Array;
  /** length × action: the command actually sent after the safety filter (robot recordings). */
  sentAction?: Float64Array;
  /** length: limits the safety filter enforced on each step (robot recordings). */
  safetyInterventions?: Int32Array;
}

/** An episode as a dataset file holds it: every step's truncation and time are known. */
export type RecordedEpisode = Episode & Required<Pick<Episode, 'truncated' | 'timeSec'>>;

/**
 * Collects an episode's steps into columns, then hands the {@link Episode} out. The columns start
 * at `capacity` steps (a task's episode length: no reallocation in a training episode) and double
 * when a longer one (a robot run) needs it.
 */
export class EpisodeBuilder {
  private columns: Columns;

  constructor(
    private readonly sizes: TransitionSizes,
    private readonly capacity: number,
  ) {
    this.columns = allocate(sizes, capacity);
  }

  get length(): number {
    return this.columns.length;
  }

  /** Copies `step` in. `timeSec` defaults to NaN here: a dataset writer fills it first. */
  add(step: Step): void {
    if (this.columns.length === this.columns.capacity) this.columns = grow(this.columns, this.sizes);
    const c = this.columns;
    const t = c.length;
    const { observation: o, goal: g, action: a } = this.sizes;
    c.observation.set(step.observation, t * o);
    c.achievedGoal.set(step.achievedGoal, t * g);
    c.desiredGoal.set(step.desiredGoal, t * g);
    c.action.set(step.action, t * a);
    c.reward[t] = step.reward;
    c.nextObservation.set(step.nextObservation, t * o);
    c.nextAchievedGoal.set(step.nextAchievedGoal, t * g);
    c.terminated[t] = step.terminated ? 1 : 0;
    c.truncated[t] = step.truncated ? 1 : 0;
    c.priorActed[t] = step.priorActed ? 1 : 0;
    if (step.priorAction) {
      c.priorAction.set(step.priorAction, t * a);
      c.hasPriorAction[t] = 1;
    } else {
      c.priorAction.fill(0, t * a, t * a + a);
      c.hasPriorAction[t] = 0;
    }
    c.timeSec[t] = step.timeSec ?? Number.NaN;
    if (step.sentAction) {
      c.sentAction.set(step.sentAction, t * a);
      c.hasSentAction = true;
    }
    if (step.safetyInterventions !== undefined) {
      c.safetyInterventions[t] = step.safetyInterventions;
      c.hasSafetyInterventions = true;
    }
    c.length = t + 1;
  }

  /** The episode so far (views trimmed to its length), and a fresh start for the next one. */
  take(): RecordedEpisode {
    const c = this.columns;
    this.columns = allocate(this.sizes, this.capacity);
    const { observation: o, goal: g, action: a } = this.sizes;
    const n = c.length;
    const episode: RecordedEpisode = {
      length: n,
      observation: c.observation.subarray(0, n * o),
      achievedGoal: c.achievedGoal.subarray(0, n * g),
      desiredGoal: c.desiredGoal.subarray(0, n * g),
      action: c.action.subarray(0, n * a),
      reward: c.reward.subarray(0, n),
      nextObservation: c.nextObservation.subarray(0, n * o),
      nextAchievedGoal: c.nextAchievedGoal.subarray(0, n * g),
      terminated: c.terminated.subarray(0, n),
      priorActed: c.priorActed.subarray(0, n),
      priorAction: c.priorAction.subarray(0, n * a),
      hasPriorAction: c.hasPriorAction.subarray(0, n),
      truncated: c.truncated.subarray(0, n),
      timeSec: c.timeSec.subarray(0, n),
    };
    if (c.hasSentAction) episode.sentAction = c.sentAction.subarray(0, n * a);
    if (c.hasSafetyInterventions) episode.safetyInterventions = c.safetyInterventions.subarray(0, n);
    return episode;
  }

  /** Drops the steps collected so far. */
  clear(): void {
    this.columns.length = 0;
    this.columns.hasSentAction = false;
    this.columns.hasSafetyInterventions = false;
  }
}

type Columns = Required<Omit<Episode, 'length'>> & {
  length: number;
  capacity: number;
  hasSentAction: boolean;
  hasSafetyInterventions: boolean;
};

function allocate(sizes: TransitionSizes, n: number): Columns {
  const { observation: o, goal: g, action: a } = sizes;
  return {
    length: 0,
    capacity: n,
    hasSentAction: false,
    hasSafetyInterventions: false,
    observation: new Float64Array(n * o),
    achievedGoal: new Float64Array(n * g),
    desiredGoal: new Float64Array(n * g),
    action: new Float64Array(n * a),
    reward: new Float64Array(n),
    nextObservation: new Float64Array(n * o),
    nextAchievedGoal: new Float64Array(n * g),
    terminated: new Uint8Array(n),
    priorActed: new Uint8Array(n),
    priorAction: new Float64Array(n * a),
    hasPriorAction: new Uint8Array(n),
    truncated: new Uint8Array(n),
    timeSec: new Float64Array(n),
    sentAction: new Float64Array(n * a),
    safetyInterventions: new Int32Array(n),
  };
}

function grow(columns: Columns, sizes: TransitionSizes): Columns {
  const bigger = allocate(sizes, Math.max(1, 2 * columns.capacity));
  for (const [name, values] of Object.entries(columns)) {
    if (ArrayBuffer.isView(values))
      (bigger as unknown as Record<string, Float64Array>)[name]!.set(values as Float64Array);
  }
  bigger.length = columns.length;
  bigger.hasSentAction = columns.hasSentAction;
  bigger.hasSafetyInterventions = columns.hasSafetyInterventions;
  return bigger;
}

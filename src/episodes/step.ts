/**
 * One step of an episode, as every producer hands it on (the simulated rollout, the robot's
 * control loop, the trainer's collection) and every sink takes it (the replay buffer, the
 * Parquet dataset, the viewer's scene replays, the rollout critic). The producer reuses its
 * arrays: a sink copies what it keeps.
 */

/** Vector sizes of one transition. */
export interface TransitionSizes {
  observation: number;
  goal: number;
  action: number;
}

/** An observation with the goals of a goal-conditioned task (what an env or a robot observes). */
export interface GoalState {
  observation: ArrayLike<number>;
  achievedGoal: ArrayLike<number>;
  desiredGoal: ArrayLike<number>;
}

/**
 * The world pose of every body of a simulated scene (MuJoCo's xpos, xquat: 3 and 4 values per
 * body, body id order): what the viewer draws. Only a simulation has them.
 */
export interface ScenePoses {
  bodyPos: ArrayLike<number>;
  bodyQuat: ArrayLike<number>;
}

/** What a task reports of a state besides the observation (for the viewer's reward chart). */
export interface StateReport {
  /** The task's success at this state. */
  success?: boolean | undefined;
  /** The task's raw reward terms at this state. */
  rewardTerms?: Readonly<Record<string, number>> | undefined;
  /** Present when a sink asked for them ({@link EpisodeSink.needsScenePoses}) and the producer is a simulation. */
  scene?: ScenePoses | undefined;
}

/** One transition (s, a, r, s′) and what came with it. */
export interface Step extends StateReport {
  /** s: before the step. */
  observation: ArrayLike<number>;
  achievedGoal: ArrayLike<number>;
  desiredGoal: ArrayLike<number>;
  /**
   * a: the transition's action in the task's action space: as applied in simulation (clipped to
   * [-1, 1]); on a robot, the actor's proposal before the safety filter (see `sentAction`).
   */
  action: ArrayLike<number>;
  reward: number;
  /** s′: after the step. */
  nextObservation: ArrayLike<number>;
  nextAchievedGoal: ArrayLike<number>;
  /** The step reached a terminal state (bootstrapping stops). */
  terminated: boolean;
  /** The step was cut short (time limit, unstable physics): bootstrapping goes on. */
  truncated: boolean;
  /** Whether the prior controller chose `action` (RLingua's prior-acted flag). */
  priorActed: boolean;
  /** The prior's proposal where it was asked; absent or null where it was not. */
  priorAction?: ArrayLike<number> | null | undefined;
  /** Seconds since the episode started; default `step × control period`. */
  timeSec?: number | undefined;
  /** Robot: the command actually sent after the safety filter, in the action space. */
  sentAction?: ArrayLike<number> | undefined;
  /** Robot: how many limits the safety filter enforced on this step. */
  safetyInterventions?: number | undefined;
}

/**
 * Why an episode ended. `terminated`: a terminal state; `truncated`: its length (a time limit);
 * `aborted`: a fault or a safety stop before its end; `run_ended`: the run that recorded it ended
 * normally (its duration, Ctrl-C) in the middle of it; `link_lost`: the link to the robot was lost
 * (its last step's next observation is the last one seen before the loss); `state_gap`: the
 * robot's state stopped coming, or the loop could not step, for longer than `maxStateAgeMs`.
 * A recorded episode never spans a gap (issue #17): after `link_lost` or `state_gap` the next
 * episode begins when the loop steps again.
 */
export const END_REASONS = [
  'terminated',
  'truncated',
  'aborted',
  'run_ended',
  'link_lost',
  'state_gap',
] as const;
export type EndReason = (typeof END_REASONS)[number];

/** How an episode starts: which one, and the state it starts in. */
export interface EpisodeBegin extends StateReport {
  /** Its place in the run (0, 1, …). */
  index: number;
  /** The env's reset seed (simulation). */
  seed?: number | undefined;
  /** Version of the prior controller consulted (store id), where one was. */
  priorVersion?: string | undefined;
  /** What chose the actions, where the producer knows better than the sink (a robot run's actor). */
  actor?: string | undefined;
  /** The first state; absent where the producer only knows it with the first step (a robot). */
  state?: GoalState | undefined;
}

/** How an episode ended. */
export interface EpisodeEnd {
  reason: EndReason;
}

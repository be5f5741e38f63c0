import type { EpisodeController } from '../controllers/basic.js';
import type { ArmEnv, GoalObservation, StepResult } from '../../sim/env.js';

/** What happened in one episode. */
export interface EpisodeSummary {
  index: number;
  /** The seed the episode was reset with: `armprior sim --seed S` uses S + index. */
  seed: number;
  return: number;
  length: number;
  success: boolean;
  /** Whether the goal was reached at any step (it may have been lost again by the end). */
  everSucceeded: boolean;
  /** Goal distance term at the last step, when the task has one. */
  finalGoalDistance: number | undefined;
  terminated: boolean;
  truncated: boolean;
  simUnstable: boolean;
  /** Failed controller calls (answered with zero actions), for controllers that can fail. */
  controllerFailures: number;
  /** Why the controller ended the episode early, if it did. */
  abortReason: string | undefined;
}

/** Sees every observation of an episode, the first included (e.g. the rollout critic). */
export type EpisodeObserver = (
  observation: Float64Array,
  achievedGoal: Float64Array,
  desiredGoal: Float64Array,
) => void;

/** Sees every transition: the observation before, the action taken, what the step returned (recording). */
export type StepObserver = (before: GoalObservation, action: ArrayLike<number>, result: StepResult) => void;

/**
 * Runs one episode of `controller` on `env` from `env.reset({ seed })`. It ends at the env's
 * termination or truncation, or when the controller asks to stop (too many failures). The
 * controller may answer asynchronously (a prior in its sandbox process, an ONNX policy).
 */
export async function runEpisode(
  env: ArmEnv,
  controller: EpisodeController,
  seed: number,
  index = 0,
  observer?: EpisodeObserver,
  onStep?: StepObserver,
): Promise<EpisodeSummary> {
  let { obs } = env.reset({ seed });
  controller.reset();
  let total = 0;
  let everSucceeded = false;
  observer?.(obs.observation, obs.achievedGoal, obs.desiredGoal);
  for (;;) {
    const action = await controller.act(obs.observation, obs.achievedGoal, obs.desiredGoal);
    const result = env.step(action);
    onStep?.(obs, action, result);
    total += result.reward;
    everSucceeded ||= result.info.isSuccess;
    obs = result.obs;
    observer?.(obs.observation, obs.achievedGoal, obs.desiredGoal);
    const abortReason = controller.abortReason?.();
    if (result.terminated || result.truncated || abortReason !== undefined) {
      return episodeSummary(
        env,
        result,
        { index, seed, total, everSucceeded, abortReason },
        controller.failures?.().length ?? 0,
      );
    }
  }
}

function episodeSummary(
  env: ArmEnv,
  result: StepResult,
  run: {
    index: number;
    seed: number;
    total: number;
    everSucceeded: boolean;
    abortReason: string | undefined;
  },
  controllerFailures: number,
): EpisodeSummary {
  const terms = result.info.rewardTerms;
  return {
    index: run.index,
    seed: run.seed,
    return: run.total,
    length: env.elapsedSteps,
    success: result.info.isSuccess,
    everSucceeded: run.everSucceeded,
    finalGoalDistance: terms.goalDistance ?? terms.openingShortfall,
    terminated: result.terminated,
    truncated: result.truncated || run.abortReason !== undefined,
    simUnstable: result.info.simUnstable === true,
    controllerFailures,
    abortReason: run.abortReason,
  };
}

/** Aggregates of a set of episodes. */
export interface RolloutStats {
  episodes: number;
  successRate: number;
  meanReturn: number;
  stdReturn: number;
  meanLength: number;
  unstableEpisodes: number;
}

export function summarize(episodes: readonly EpisodeSummary[]): RolloutStats {
  const n = episodes.length;
  const mean = (xs: number[]) => (xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length);
  const returns = episodes.map((e) => e.return);
  const meanReturn = mean(returns);
  return {
    episodes: n,
    successRate: mean(episodes.map((e) => (e.success ? 1 : 0))),
    meanReturn,
    stdReturn: Math.sqrt(mean(returns.map((r) => (r - meanReturn) ** 2))),
    meanLength: mean(episodes.map((e) => e.length)),
    unstableEpisodes: episodes.filter((e) => e.simUnstable).length,
  };
}

import type { ArmEnv, StepResult } from '../../sim/env.js';
import type { EpisodeSink } from './sink.js';
import type { EndReason, ScenePoses, Step } from './step.js';

/** Anything that turns a goal observation into an action (a prior, a policy, a baseline). */
export interface EpisodeController {
  readonly name: string;
  /** Its actions are demonstrations (a prior controller): steps carry them as the prior's. */
  readonly isPrior?: boolean;
  /**
   * Called at the start of each episode, with the env's reset seed where the episode has one: a
   * controller that draws random numbers draws them from it, so any episode can be run again
   * alone (a queued collection splits episodes over workers, issue #20).
   */
  reset(seed?: number): void;
  /** A sandboxed prior answers asynchronously: its code runs in another process. */
  act(
    observation: Float64Array,
    achievedGoal: Float64Array,
    desiredGoal: Float64Array,
  ): ArrayLike<number> | Promise<ArrayLike<number>>;
  /** When set, the episode must end now (e.g. a sandboxed controller failed too often); says why. */
  abortReason?(): string | undefined;
  /** Failed calls of the current episode, for controllers that can fail. */
  failures?(): readonly { step: number; kind: string; message: string }[];
  /** Frees what the controller holds (a sandbox). */
  dispose?(): void;
}

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
  /**
   * Their kinds, each once (`threw`, `timeout`, `bad-output`, `memory`, `crashed`): a `timeout`
   * alone can be a loaded machine's doing, the others are the controller's.
   */
  controllerFailureKinds: string[];
  /** Why the controller ended the episode early, if it did. */
  abortReason: string | undefined;
}

export interface RunEpisodeOptions {
  /** The episode's place in its run (default 0). */
  index?: number;
  /** Where its steps go (a dataset, scene replays, the rollout critic…), in this order. */
  sinks?: readonly EpisodeSink[];
}

/**
 * Runs one episode of `controller` on `env` from `env.reset({ seed })`, handing every step to
 * `sinks`. It ends at the env's termination or truncation, or when the controller asks to stop
 * (too many failures: the end reason is then `aborted`). The controller may answer asynchronously
 * (a prior in its sandbox process, an ONNX policy). Robots run their episodes on the real-time
 * control loop (src/control), which hands the same steps to the same sinks.
 */
export async function runEpisode(
  env: ArmEnv,
  controller: EpisodeController,
  seed: number,
  options: RunEpisodeOptions = {},
): Promise<EpisodeSummary> {
  const index = options.index ?? 0;
  const sinks = options.sinks ?? [];
  const withScene = sinks.some((sink) => sink.needsScenePoses);
  let { obs } = env.reset({ seed });
  controller.reset(seed);
  if (sinks.length > 0) {
    const { achievedGoal, desiredGoal } = obs;
    const begin = {
      index,
      seed,
      state: obs,
      success: env.task.isSuccess(achievedGoal, desiredGoal),
      rewardTerms: env.task.rewardTerms(achievedGoal, desiredGoal),
      scene: withScene ? scenePoses(env) : undefined,
    };
    for (const sink of sinks) sink.begin(begin);
  }
  let total = 0;
  let everSucceeded = false;
  for (;;) {
    const action = await controller.act(obs.observation, obs.achievedGoal, obs.desiredGoal);
    const result = env.step(action);
    total += result.reward;
    everSucceeded ||= result.info.isSuccess;
    const abortReason = controller.abortReason?.();
    if (sinks.length > 0) {
      const step = stepOf(obs, action, result, controller.isPrior === true, abortReason !== undefined);
      if (withScene) step.scene = scenePoses(env);
      for (const sink of sinks) sink.step(step);
    }
    obs = result.obs;
    if (result.terminated || result.truncated || abortReason !== undefined) {
      const reason: EndReason =
        abortReason !== undefined ? 'aborted' : result.terminated ? 'terminated' : 'truncated';
      for (const sink of sinks) await sink.end({ reason });
      return episodeSummary(
        env,
        result,
        { index, seed, total, everSucceeded, abortReason },
        controller.failures?.() ?? [],
      );
    }
  }
}

function stepOf(
  before: StepResult['obs'],
  rawAction: ArrayLike<number>,
  result: StepResult,
  priorActed: boolean,
  aborted: boolean,
): Step {
  // Stored as applied: the env clips actions to [-1, 1], and a policy's tanh cannot leave it.
  const action = Array.from(rawAction, (x) => Math.min(1, Math.max(-1, x)));
  return {
    observation: before.observation,
    achievedGoal: before.achievedGoal,
    desiredGoal: before.desiredGoal,
    action,
    reward: result.reward,
    nextObservation: result.obs.observation,
    nextAchievedGoal: result.obs.achievedGoal,
    terminated: result.terminated,
    // An episode the controller aborted ends `aborted`, not cut short by its length.
    truncated: result.truncated && !aborted,
    priorActed,
    priorAction: priorActed ? action : null,
    success: result.info.isSuccess,
    rewardTerms: result.info.rewardTerms,
  };
}

/** The simulation's body poses now (views into wasm memory, valid until the next step). */
function scenePoses(env: ArmEnv): ScenePoses {
  const sim = env.simulation;
  sim.ensureViews();
  return { bodyPos: sim.xpos, bodyQuat: sim.xquat };
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
  failures: readonly { kind: string }[],
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
    controllerFailures: failures.length,
    controllerFailureKinds: [...new Set(failures.map((f) => f.kind))].sort(),
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

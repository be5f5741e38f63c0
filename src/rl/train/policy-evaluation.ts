import type { ArmEnv } from '../../../sim/env.js';
import { Rng } from '../../core/rng.js';
import {
  type EpisodeController,
  type EpisodeSummary,
  runEpisode,
  summarize,
} from '../../episodes/run-episode.js';
import type { SceneReplaySink } from '../../episodes/scene/scene-replay-sink.js';
import type { DeterministicPolicy } from '../learner.js';
import type { RunningNormalizer } from '../normalizer.js';
import { policyInput } from './batch-builder.js';

/** Success rate and return of the deterministic policy over a fixed set of episodes. */
export interface PolicyEvaluation {
  episodes: number;
  successRate: number;
  meanReturn: number;
}

/** The deterministic policy as an episode controller (the one that gets exported). */
export function policyController(
  policy: DeterministicPolicy,
  normalizer: RunningNormalizer | undefined,
  sizes: { observation: number; goal: number; action: number },
): EpisodeController {
  // Deterministic acting draws nothing; the generator only satisfies the signature.
  const unused = Rng.fromSeed(0);
  return {
    name: `${policy.algorithm} policy`,
    reset() {},
    act(observation, _achieved, desiredGoal) {
      const input = policyInput(observation, desiredGoal, 1, sizes, normalizer);
      return Float64Array.from(policy.act(input, 1, 'deterministic', unused));
    },
  };
}

/**
 * Evaluation episode k is reset with `seed + k`: every evaluation of a run sees the same episodes.
 * With a `recorder`, each episode is also saved as a scene replay (the viewer).
 */
export async function evaluatePolicy(
  env: ArmEnv,
  policy: DeterministicPolicy,
  normalizer: RunningNormalizer | undefined,
  options: { episodes: number; seed: number; recorder?: SceneReplaySink | undefined },
): Promise<PolicyEvaluation> {
  const controller = policyController(policy, normalizer, {
    observation: env.observationSize,
    goal: env.goalSize,
    action: env.actionSize,
  });
  const episodes: EpisodeSummary[] = [];
  for (let k = 0; k < options.episodes; k++) {
    const sinks = options.recorder ? [options.recorder] : [];
    episodes.push(await runEpisode(env, controller, options.seed + k, { index: k, sinks }));
  }
  const stats = summarize(episodes);
  return { episodes: stats.episodes, successRate: stats.successRate, meanReturn: stats.meanReturn };
}

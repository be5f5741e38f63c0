import type { ArmEnv } from '../../sim/env.js';
import { observationLayout } from '../contract/controller-contract.js';
import type { EpisodeController } from '../episodes/run-episode.js';
import { type EpisodeSummary, type RolloutStats, runEpisode, summarize } from '../episodes/run-episode.js';
import type { SceneReplaySink } from '../episodes/scene/scene-replay-sink.js';
import { type EpisodeDiagnosis, EpisodeTracker, summarizeDiagnoses } from './rollout-critic.js';

/** A controller's evaluation on a fixed set of seeds, with the critic's summary. */
export interface ControllerEvaluation {
  task: string;
  controller: string;
  seeds: number[];
  stats: RolloutStats;
  episodes: (EpisodeSummary & { outcome: string })[];
  /** The automatic rollout summary (critic feedback), as text. */
  summary: string;
}

/** The fixed seed set evaluations use, so versions are compared on the same episodes. */
export function evaluationSeeds(episodes: number, firstSeed = 1000): number[] {
  return Array.from({ length: episodes }, (_, i) => firstSeed + i);
}

/**
 * Runs `controller` on `env` for each seed and diagnoses every episode; with `replays`, each
 * episode is also saved as a scene replay (for the viewer). Yields to the event loop after each episode.
 */
export async function evaluateController(
  env: ArmEnv,
  controller: EpisodeController,
  seeds: readonly number[],
  onEpisode?: (done: number, episode: EpisodeSummary) => void,
  replays?: SceneReplaySink,
): Promise<ControllerEvaluation> {
  const layout = observationLayout(env.observationFields, env.task.goalFields, env.actionSize);
  const episodes: ControllerEvaluation['episodes'] = [];
  const diagnoses: EpisodeDiagnosis[] = [];
  const failureExamples: string[] = [];
  for (const [index, seed] of seeds.entries()) {
    const tracker = new EpisodeTracker(layout, env.task.config.distanceThresholdM);
    const episode = await runEpisode(env, controller, seed, {
      index,
      sinks: replays ? [tracker, replays] : [tracker],
    });
    const failures = controller.failures?.() ?? [];
    for (const f of failures) {
      if (failureExamples.length < 3)
        failureExamples.push(`episode seed ${seed}, step ${f.step}: ${f.kind}: ${f.message}`);
    }
    const diagnosis = tracker.diagnose(episode.success, failures, episode.abortReason, env.task.usesGripper);
    diagnoses.push(diagnosis);
    episodes.push({ ...episode, outcome: diagnosis.outcome });
    onEpisode?.(index + 1, episode);
    // Let the event loop in between episodes: the viewer's server evaluates a new version while
    // it goes on answering the page (and shows this progress).
    await new Promise((resolve) => setImmediate(resolve));
  }
  return {
    task: env.task.name,
    controller: controller.name,
    seeds: [...seeds],
    stats: summarize(episodes),
    episodes,
    summary: summarizeDiagnoses(diagnoses, failureExamples),
  };
}

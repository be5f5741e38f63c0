import type { ArmEnv } from '../../../sim/env.js';
import { type EpisodeController, runEpisode } from '../../episodes/run-episode.js';
import { OnnxPolicy } from '../onnx-policy.js';
import { policyInputFields } from '../policy-export.js';

/**
 * First reset seed of the held-out episodes: episode k uses HELD_OUT_SEED + k. Training evaluates
 * on 1,000,000 + k (k below its episode count, 20 by default) and `armprior eval` defaults to
 * 1000 + k, so a final score on these is on episodes no decision during training saw.
 */
export const HELD_OUT_SEED = 5_000_000;

/** Whether each of the episodes seeded `seeds` ended in success, for one controller. */
export async function episodeSuccesses(
  env: ArmEnv,
  controller: EpisodeController,
  seeds: readonly number[],
  onEpisode?: (done: number) => void,
): Promise<boolean[]> {
  const successes: boolean[] = [];
  for (const [index, seed] of seeds.entries()) {
    const episode = await runEpisode(env, controller, seed, { index, sinks: [] });
    successes.push(episode.success);
    onEpisode?.(index + 1);
  }
  return successes;
}

/** The same for an exported ONNX policy (the file `armprior run` would drive the arm with). */
export async function policySuccesses(
  env: ArmEnv,
  policyFile: string,
  seeds: readonly number[],
  onEpisode?: (done: number) => void,
): Promise<boolean[]> {
  const policy = await OnnxPolicy.load(policyFile, {
    inputSize: env.observationSize + env.goalSize,
    actionSize: env.actionSize,
    fields: policyInputFields(env),
  });
  try {
    const controller: EpisodeController = {
      name: policyFile,
      reset() {},
      act: (observation, _achieved, desired) => policy.act(observation, desired),
    };
    return await episodeSuccesses(env, controller, seeds, onEpisode);
  } finally {
    await policy.close();
  }
}

/** A paired comparison of two controllers on the same episodes (McNemar's test). */
export interface PairedComparison {
  episodes: number;
  /** Episodes only the first one solved. */
  onlyFirst: number;
  /** Episodes only the second one solved. */
  onlySecond: number;
  /**
   * McNemar's z, (onlyFirst − onlySecond) / √(onlyFirst + onlySecond): how many standard errors
   * the first is better; 0 when they never disagree. The episodes both solve (or both fail) say
   * nothing about which is better, so they do not count.
   */
  z: number;
}

export function mcNemar(first: readonly boolean[], second: readonly boolean[]): PairedComparison {
  if (first.length !== second.length)
    throw new Error(`paired outcomes differ in length: ${first.length} and ${second.length}`);
  let onlyFirst = 0;
  let onlySecond = 0;
  for (let i = 0; i < first.length; i++) {
    if (first[i] && !second[i]) onlyFirst++;
    if (second[i] && !first[i]) onlySecond++;
  }
  const discordant = onlyFirst + onlySecond;
  return {
    episodes: first.length,
    onlyFirst,
    onlySecond,
    z: discordant === 0 ? 0 : (onlyFirst - onlySecond) / Math.sqrt(discordant),
  };
}

import { UnknownNameError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import type { EpisodeController } from '../episodes/run-episode.js';

/** The baseline controllers every task has, for smoke runs and benchmarks. */
export const BASIC_CONTROLLERS = ['random', 'zero'] as const;

/**
 * `random`: uniform actions in [-1, 1]; `zero`: holds still (gripper half open where there is
 * one). `random` draws from the episode's seed when reset with one (an episode's actions then
 * depend on its seed alone, whoever runs it and after whichever episodes), else from `rng`.
 */
export function createBasicController(name: string, actionSize: number, rng: Rng): EpisodeController {
  if (name === 'random') {
    return {
      name,
      reset(seed?: number) {
        if (seed !== undefined) rng = episodeRng(seed);
      },
      act() {
        const action = new Float64Array(actionSize);
        for (let i = 0; i < actionSize; i++) action[i] = rng.uniform(-1, 1);
        return action;
      },
    };
  }
  if (name === 'zero') {
    const action = new Float64Array(actionSize);
    return { name, reset() {}, act: () => action.slice() };
  }
  throw new UnknownNameError('controller', name, [...BASIC_CONTROLLERS]);
}

/**
 * The random controller's stream for an episode: the jumped-ahead part of the seed's generator,
 * because the env draws the episode's start from the seed's own stream (Rng.fromSeed), and the
 * actions must not repeat those draws.
 */
function episodeRng(seed: number): Rng {
  const rng = Rng.fromSeed(seed);
  rng.split();
  return rng;
}

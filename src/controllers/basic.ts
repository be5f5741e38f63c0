import { UnknownNameError } from '../core/errors.js';
import type { Rng } from '../core/rng.js';
import type { EpisodeController } from '../episodes/run-episode.js';

/** The baseline controllers every task has, for smoke runs and benchmarks. */
export const BASIC_CONTROLLERS = ['random', 'zero'] as const;

/**
 * `random`: uniform actions in [-1, 1] from the given RNG; `zero`: holds still (gripper half
 * open where there is one).
 */
export function createBasicController(name: string, actionSize: number, rng: Rng): EpisodeController {
  if (name === 'random') {
    return {
      name,
      reset() {},
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

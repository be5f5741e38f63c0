import { UnknownNameError } from '../core/errors.js';
import type { Rng } from '../core/rng.js';

/** Anything that turns a goal observation into an action (a prior, a policy, a baseline). */
export interface EpisodeController {
  readonly name: string;
  /** Called at the start of each episode. */
  reset(): void;
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

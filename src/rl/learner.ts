import { ArmpriorError } from '../core/errors.js';
import type { Rng } from '../core/rng.js';
import type { MlpParameters } from './graph/mlp.js';

/**
 * A batch as the networks see it: rows of the normalised observation and desired goal,
 * concatenated (`input`, and `nextInput` after the step), with the action, reward and whether to
 * bootstrap. Built from a replay batch and the normaliser by the training loop.
 */
export interface LearnerBatch {
  size: number;
  input: Float32Array;
  action: Float32Array;
  reward: Float32Array;
  notDone: Float32Array;
  nextInput: Float32Array;
  /** The prior's action per row (zeros where it was not asked); needed with imitation on. */
  priorAction?: Float32Array;
  /** 1 where `priorAction` holds the prior's proposal. */
  hasPriorAction?: Float32Array;
}

/** Everything needed to continue training exactly: named tensors and counters. */
export interface LearnerState {
  algorithm: string;
  counters: Record<string, number>;
  tensors: Record<string, { shape: number[]; data: Float32Array }>;
}

/** Losses and diagnostics of one update, keyed `train/<name>` (metrics.jsonl's grouped keys). */
export type LearnerStats = Record<`train/${string}`, number>;

/**
 * What the training loop needs of an algorithm (DESIGN.md: algorithms share buffers, sampling
 * and the loop, not a base class). TD3 and SAC implement it.
 */
export interface Learner {
  readonly algorithm: 'td3' | 'sac';
  /** Gradient steps taken. */
  readonly steps: number;
  /**
   * One gradient step; rejects (and changes nothing) when it would produce non-finite values.
   * `envSteps`, the run's environment steps so far, drives step-scheduled switches (the
   * imitation term's Q-filter, `qFilterFromStep`). `offline`: an update of RLingua's offline
   * start, before the policy acts (TD3's `actorQ: online` leaves the −Q term out of those).
   */
  update(batch: LearnerBatch, rng: Rng, envSteps?: number, offline?: boolean): Promise<LearnerStats>;
  /**
   * Actions for `rows` normalised inputs, computed on the host (cheap for a handful of envs):
   * `deterministic` is the policy evaluated and exported; otherwise the algorithm's exploration
   * (TD3: Gaussian noise, SAC: a sample of its squashed Gaussian). Values in [-1, 1].
   */
  act(input: Float32Array, rows: number, mode: 'deterministic' | 'explore', rng: Rng): Float32Array;
  /** The deterministic policy as a plain MLP with a tanh output (what gets exported to ONNX). */
  policyParameters(): MlpParameters;
  getState(): LearnerState;
  /** Restores {@link getState}'s output; refuses a state of another algorithm or network size. */
  loadState(state: LearnerState): void;
  close(): Promise<void>;
}

/** What evaluating and exporting a policy needs of it: a learner, or the mean of its policies. */
export type DeterministicPolicy = Pick<Learner, 'algorithm' | 'act' | 'policyParameters'>;

/** A saved learner state that does not fit this learner (other algorithm, network size or task). */
export class LearnerStateMismatchError extends ArmpriorError {
  constructor(message: string) {
    super('learner_state_mismatch', message);
  }
}

/**
 * Checks a saved state against the tensors a learner holds: same names and shapes. Lists every
 * mismatch at once so a resumed run with another network size says exactly what differs.
 */
export function checkStateFits(
  algorithm: string,
  state: LearnerState,
  expected: ReadonlyMap<string, readonly number[]>,
): void {
  if (state.algorithm !== algorithm) {
    throw new LearnerStateMismatchError(`the saved learner is ${state.algorithm}, this one is ${algorithm}`);
  }
  const problems: string[] = [];
  for (const [name, shape] of expected) {
    const saved = state.tensors[name];
    if (!saved) problems.push(`${name} is missing`);
    else if (saved.shape.join('x') !== shape.join('x'))
      problems.push(`${name} is [${saved.shape.join(', ')}], expected [${shape.join(', ')}]`);
    else if (saved.data.length !== shape.reduce((a, b) => a * b, 1))
      problems.push(`${name} holds ${saved.data.length} values for shape [${shape.join(', ')}]`);
  }
  for (const name of Object.keys(state.tensors))
    if (!expected.has(name)) problems.push(`${name} is not a tensor of this learner`);
  if (problems.length > 0) {
    throw new LearnerStateMismatchError(
      `the saved ${algorithm} learner does not fit this network (was it trained with another task or hidden sizes?): ${problems.slice(0, 6).join('; ')}${problems.length > 6 ? `; and ${problems.length - 6} more` : ''}`,
    );
  }
}

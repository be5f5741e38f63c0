import type { Rng } from '../../core/rng.js';
import type { TransitionSizes } from '../../episodes/step.js';
import type { Learner } from '../learner.js';
import { SacLearner } from '../learners/sac.js';
import { Td3Learner } from '../learners/td3.js';
import { RunningNormalizer } from '../normalizer.js';
import type { TrainConfig } from './train-config.js';

/**
 * The learner a training config asks for, its networks initialised from `rng`. `rewardRange`:
 * the bounds of the task's reward, where it has them (td3.clipTargets needs them).
 */
export async function createLearner(
  config: TrainConfig,
  sizes: { input: number; action: number },
  rng: Rng,
  rewardRange?: readonly [number, number],
): Promise<Learner> {
  if (config.learner === 'td3') return Td3Learner.create(config.td3, sizes, rng, rewardRange);
  return SacLearner.create(config.sac, sizes, rng);
}

/**
 * The input normaliser; with normalisation off, one that never moves from mean 0 / variance 1
 * and does not clip, so the exported graph is the same shape either way.
 */
export function createNormalizer(config: TrainConfig, sizes: TransitionSizes): RunningNormalizer | undefined {
  if (!config.normalize.enabled) return undefined;
  return new RunningNormalizer(sizes.observation + sizes.goal, { clip: config.normalize.clip });
}

/** For export when the run did not normalise: identity (mean 0, variance 1, no effective clip). */
export function identityNormalizer(size: number): RunningNormalizer {
  return new RunningNormalizer(size, { clip: 1e9, epsilon: 0 });
}

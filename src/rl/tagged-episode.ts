import type { Episode } from '../episodes/episode.js';

/**
 * A synthetic episode for the replay buffer's tests (2 observation values, a 1-value goal, 1
 * action) whose values tell where a sampled row came from: observation `tag * 100 + t` at step t,
 * achieved goal after step t `tag * 100 + t + 1`; desired goal −1 (never achieved); even tags end
 * in a termination. `reward` gives step t's reward (−1 by default); `priorActed` marks every
 * step as the prior's, with action 0.5.
 */
export function taggedEpisode(
  tag: number,
  length: number,
  options: { priorActed?: 0 | 1; reward?: (t: number) => number } = {},
): Episode {
  const { priorActed = 0, reward = () => -1 } = options;
  const range = (n: number, f: (t: number) => number) => Float64Array.from({ length: n }, (_, t) => f(t));
  return {
    length,
    observation: range(2 * length, (i) => tag * 100 + Math.floor(i / 2)),
    achievedGoal: range(length, (t) => tag * 100 + t),
    desiredGoal: range(length, () => -1),
    action: range(length, (t) => t / 10),
    reward: range(length, reward),
    nextObservation: range(2 * length, (i) => tag * 100 + Math.floor(i / 2) + 1),
    nextAchievedGoal: range(length, (t) => tag * 100 + t + 1),
    terminated: Uint8Array.from({ length }, (_, t) => (t === length - 1 && tag % 2 === 0 ? 1 : 0)),
    priorActed: Uint8Array.from({ length }, () => priorActed),
    priorAction: range(length, () => (priorActed ? 0.5 : 0)),
    hasPriorAction: Uint8Array.from({ length }, () => priorActed),
  };
}

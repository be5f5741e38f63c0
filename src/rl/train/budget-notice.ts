import type { TrainConfig } from './train-config.js';

/**
 * Why a training budget leaves no room for a single update, in words a person can act on; undefined
 * when it does leave room. Without it, `train --task reach --algo rlingua --steps 10000` spent its
 * whole budget collecting the preset's prior episodes and reported "success rate 0%" with no word
 * why (issue #19).
 */
export function budgetNotice(config: TrainConfig, episodeSteps: number): string | undefined {
  const { totalSteps, learningStarts } = config;
  const { precollectEpisodes, pretrainUpdates } = config.rlingua;
  const precollectSteps = precollectEpisodes * episodeSteps;
  if (precollectEpisodes > 0 && precollectSteps >= totalSteps) {
    const head =
      `the ${precollectEpisodes} prior episodes collected first (rlingua.precollectEpisodes, up to ` +
      `${precollectSteps} env steps) take the whole budget of ${totalSteps} steps`;
    const fix = 'give more --steps, or fewer precollectEpisodes with --config';
    if (pretrainUpdates === 0)
      return `${head}: no update will be made and the policy stays untrained; ${fix}`;
    // Behaviour cloning (the bc preset) is meant to learn from them alone: nothing to say.
    if (config.learner === 'td3' && config.td3.actorQ === false) return undefined;
    return `${head}: the policy learns only offline from them (${pretrainUpdates} updates) and never acts in training; ${fix}`;
  }
  const pretrains = precollectEpisodes > 0 && pretrainUpdates > 0;
  if (!pretrains && learningStarts >= totalSteps) {
    return (
      `learningStarts (${learningStarts}) is not below the budget of ${totalSteps} steps: no update ` +
      `will be made and the policy stays untrained; give more --steps, or a smaller learningStarts with --config`
    );
  }
  return undefined;
}

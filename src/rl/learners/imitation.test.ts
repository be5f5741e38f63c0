import { describe, expect, it } from 'vitest';
import { Rng } from '../../core/rng.js';
import { ImitationConfigSchema, imitationFeeds, imitationWeight, qFilterOn } from './imitation.js';
import { randomBatch } from './test-helpers.js';

describe('RLingua’s imitation term on the host', () => {
  const config = ImitationConfigSchema.parse({
    enabled: true,
    initialWeight: 10,
    finalWeight: 2,
    decaySteps: 100,
    qFilterFromStep: 500,
  });

  it('moves its weight linearly from initialWeight to finalWeight over decaySteps actor steps', () => {
    expect(imitationWeight(config, 0)).toBe(10);
    expect(imitationWeight(config, 25)).toBe(8);
    expect(imitationWeight(config, 100)).toBe(2);
    expect(imitationWeight(config, 1e6)).toBe(2);
    expect(imitationWeight({ ...config, decaySteps: 0 }, 0)).toBe(2);
  });

  it('switches the Q-filter on from qFilterFromStep, and whenever the step is unknown', () => {
    expect(qFilterOn(config, 499)).toBe(false);
    expect(qFilterOn(config, 500)).toBe(true);
    expect(qFilterOn(config, undefined)).toBe(true);
    expect(qFilterOn({ ...config, qFilter: false }, 1e6)).toBe(false);
    expect(qFilterOn({ ...config, qFilter: false }, undefined)).toBe(false);
  });

  it('feeds the prior’s actions, the weight and the switch; a batch without them is a bug, not bad input', () => {
    const rng = Rng.fromSeed(0);
    const batch = {
      ...randomBatch(rng),
      priorAction: new Float32Array(16).fill(0.5),
      hasPriorAction: new Float32Array(8).fill(1),
    };
    const { feeds, weight } = imitationFeeds(config, batch, 2, {
      actorSteps: 50,
      envSteps: 499,
      learner: 'X',
    });
    expect(weight).toBe(6);
    expect(feeds.prior_action!.dims).toEqual([8, 2]);
    expect(feeds.has_prior!.dims).toEqual([8, 1]);
    expect(feeds.imitation_weight!.data).toEqual(Float32Array.of(6));
    expect(feeds.q_filter_on!.data).toEqual(Float32Array.of(0));
    const unlabelled = () =>
      imitationFeeds(config, randomBatch(rng), 2, { actorSteps: 0, envSteps: 0, learner: 'X' });
    expect(unlabelled).toThrow(/X with imitation needs priorAction and hasPriorAction/);
    expect(unlabelled).not.toThrow(RangeError);
  });
});

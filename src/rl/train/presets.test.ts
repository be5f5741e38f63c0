import { describe, expect, it } from 'vitest';
import { budgetNotice } from './budget-notice.js';
import { RLINGUA_PRESET_STEPS } from './presets.js';
import { resolveTrainConfig, type TrainConfig } from './train-config.js';

/** The plan of a resolved rlingua config: what the budget scaling moves. */
function plan(config: TrainConfig) {
  return {
    totalSteps: config.totalSteps,
    precollectEpisodes: config.rlingua.precollectEpisodes,
    pretrainUpdates: config.rlingua.pretrainUpdates,
    priorDecay: config.rlingua.priorActionProbability.decaySteps,
    demoDecay: config.rlingua.demoFraction.decaySteps,
    imitationDecay: config.td3.imitation.decaySteps,
    qFilterFromStep: config.td3.imitation.qFilterFromStep,
    averagingFrom: config.policyAveraging.fromStep,
    averagingEvery: config.policyAveraging.everySteps,
  };
}

describe('the rlingua preset over a budget (issue #19)', () => {
  it('is exactly the measured preset at its own 90k steps, given or not', () => {
    const measured = {
      totalSteps: 90_000,
      precollectEpisodes: 200,
      pretrainUpdates: 10_000,
      priorDecay: 30_000,
      demoDecay: 30_000,
      imitationDecay: 25_000,
      qFilterFromStep: 70_000,
      averagingFrom: 80_000,
      averagingEvery: 1000,
    };
    expect(RLINGUA_PRESET_STEPS).toBe(90_000);
    expect(plan(resolveTrainConfig('rlingua', 'test', {}))).toEqual(measured);
    expect(plan(resolveTrainConfig('rlingua', 'test', {}, { totalSteps: 90_000 }))).toEqual(measured);
  });

  it('sums three rewards per critic target, and only for rlingua', () => {
    expect(resolveTrainConfig('rlingua', 'test', {}).nStepReturns).toEqual({ steps: 3, on: 'all' });
    expect(resolveTrainConfig('td3', 'test', {}).nStepReturns.steps).toBe(1);
    expect(
      resolveTrainConfig('rlingua', 'mine.yaml', { nStepReturns: { steps: 1 } }).nStepReturns.steps,
    ).toBe(1);
  });

  it('shrinks the whole plan with a smaller budget, so that --steps 10000 learns', () => {
    const config = resolveTrainConfig('rlingua', 'test', {}, { totalSteps: 10_000 });
    expect(plan(config)).toEqual({
      totalSteps: 10_000,
      precollectEpisodes: 22,
      pretrainUpdates: 1111,
      priorDecay: 3300,
      demoDecay: 3300,
      imitationDecay: 2800,
      qFilterFromStep: 7800,
      averagingFrom: 8900,
      averagingEvery: 100,
    });
    // The prior's episodes take about a ninth of the budget, as at 90k: updates follow.
    expect(budgetNotice(config, 50)).toBeUndefined();
  });

  it('keeps the start and the decays with a larger budget, and the late stretch at its end', () => {
    const config = resolveTrainConfig('rlingua', 'test', { totalSteps: 200_000 });
    expect(plan(config)).toMatchObject({
      precollectEpisodes: 200,
      pretrainUpdates: 10_000,
      priorDecay: 30_000,
      imitationDecay: 25_000,
      qFilterFromStep: 180_000,
      averagingFrom: 190_000,
    });
  });

  it("lets a config file's own values win over the scaled ones", () => {
    const config = resolveTrainConfig(
      'rlingua',
      'mine.yaml',
      { rlingua: { precollectEpisodes: 50 } },
      { totalSteps: 10_000 },
    );
    expect(config.rlingua.precollectEpisodes).toBe(50);
    expect(config.rlingua.pretrainUpdates).toBe(1111);
  });

  it('leaves a bad budget to the schema, which names it', () => {
    expect(() => resolveTrainConfig('rlingua', 'bad.yaml', { totalSteps: 'lots' })).toThrow(/totalSteps/);
    expect(() => resolveTrainConfig('rlingua', 'bad.yaml', { totalSteps: -5 })).toThrow(/totalSteps/);
  });
});

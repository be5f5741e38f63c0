import { describe, expect, it } from 'vitest';
import { resolveTrainConfig } from '../train/train-config.js';
import { successAt } from './method-result.js';
import { EXPERIMENT_METHODS, methodRun } from './methods.js';

const budgets = { steps: 90_000, baselineSteps: 270_000 };

describe('the experiment methods', () => {
  it('lists the prior, every preset and the three ablations', () => {
    expect(EXPERIMENT_METHODS).toEqual([
      'prior',
      'td3',
      'sac',
      'bc',
      'rlingua',
      'rlingua-no-demos',
      'rlingua-no-prior-actions',
      'rlingua-no-imitation',
    ]);
  });

  it('gives the RL baselines their own budget, and RLingua, its ablations and BC the main one', () => {
    expect(methodRun('td3', {}, budgets).steps).toBe(270_000);
    expect(methodRun('sac', {}, budgets).steps).toBe(270_000);
    for (const m of ['bc', 'rlingua', 'rlingua-no-demos'] as const)
      expect(methodRun(m, {}, budgets).steps).toBe(90_000);
  });

  it('removes one RLingua part per ablation, whatever the user config says of it', () => {
    const user = { rlingua: { precollectEpisodes: 50 }, td3: { imitation: { initialWeight: 5 } } };
    const resolved = (m: Parameters<typeof methodRun>[0]) => {
      const run = methodRun(m, user, budgets);
      return resolveTrainConfig(run.algo, 'test', run.overrides, { totalSteps: run.steps });
    };
    const noDemos = resolved('rlingua-no-demos');
    expect([noDemos.rlingua.precollectEpisodes, noDemos.rlingua.pretrainUpdates]).toEqual([0, 0]);
    expect(noDemos.td3.imitation.initialWeight).toBe(5);
    const noActions = resolved('rlingua-no-prior-actions');
    expect(noActions.rlingua.priorActionProbability).toMatchObject({ initial: 0, final: 0 });
    expect(noActions.rlingua.precollectEpisodes).toBe(50);
    expect(resolved('rlingua-no-imitation').td3.imitation.enabled).toBe(false);
    expect(resolved('rlingua').rlingua.precollectEpisodes).toBe(50);
    // The user's object is not changed by an ablation.
    expect(user.rlingua.precollectEpisodes).toBe(50);
  });
});

describe('successAt', () => {
  const curve = {
    label: 'x',
    seed: 0,
    steps: [2000, 4000, 6000],
    successRate: [0.1, 0.5, 0.8],
    meanReturn: [0, 0, 0],
  };
  it('reads the evaluation in force at a step, and nothing past the end of the run', () => {
    expect(successAt(curve, 5000)).toBe(0.5);
    expect(successAt(curve, 6000)).toBe(0.8);
    expect(successAt(curve, 1000)).toBeUndefined();
    expect(successAt(curve, 10_000)).toBeUndefined();
  });
});

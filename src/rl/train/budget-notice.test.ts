import { describe, expect, it } from 'vitest';
import { budgetNotice } from './budget-notice.js';
import { resolveTrainConfig } from './train-config.js';

describe('budgetNotice', () => {
  it('says so when the prior episodes collected first take the whole budget', () => {
    const mine = { totalSteps: 10_000, rlingua: { precollectEpisodes: 200, pretrainUpdates: 0 } };
    expect(budgetNotice(resolveTrainConfig('rlingua', 'test', mine), 50)).toMatch(
      /^the 200 prior episodes collected first \(rlingua\.precollectEpisodes, up to 10000 env steps\) take the whole budget of 10000 steps: no update will be made/,
    );
    const room = { ...mine, totalSteps: 10_050 };
    expect(budgetNotice(resolveTrainConfig('rlingua', 'test', room), 50)).toBeUndefined();
    const offline = { ...mine, rlingua: { precollectEpisodes: 200, pretrainUpdates: 500 } };
    expect(budgetNotice(resolveTrainConfig('rlingua', 'test', offline), 50)).toMatch(
      /take the whole budget of 10000 steps: the policy learns only offline from them \(500 updates\) and never acts in training/,
    );
  });

  it('says so when learning would start only after the budget (td3, learningStarts ≥ steps)', () => {
    expect(budgetNotice(resolveTrainConfig('td3', 'test', { totalSteps: 1000 }), 50)).toMatch(
      /^learningStarts \(1000\) is not below the budget of 1000 steps/,
    );
    expect(budgetNotice(resolveTrainConfig('td3', 'test', { totalSteps: 1001 }), 50)).toBeUndefined();
  });
});

import { describe, expect, it } from 'vitest';
import { priorNeeded, resolveTrainConfig } from './train-config.js';

describe('rlingua.labelPolicySteps', () => {
  it('is auto in every preset, and then needs the prior only where imitation is on', () => {
    const rlingua = resolveTrainConfig('rlingua', 'test', {});
    expect(rlingua.rlingua.labelPolicySteps).toBe('auto');
    expect(priorNeeded(rlingua)).toBe(true);
    // Plain TD3 has no imitation term: labels would be unused, so no prior is consulted.
    expect(priorNeeded(resolveTrainConfig('td3', 'test', {}))).toBe(false);
    // Imitation of the policy's steps alone still needs the prior, unless the labels are off.
    const labelsOnly = { rlingua: { precollectEpisodes: 0, priorActionProbability: { initial: 0 } } };
    expect(priorNeeded(resolveTrainConfig('rlingua', 'test', labelsOnly))).toBe(true);
    const none = { rlingua: { ...labelsOnly.rlingua, labelPolicySteps: false } };
    expect(priorNeeded(resolveTrainConfig('rlingua', 'test', none))).toBe(false);
  });

  it('accepts true, false and auto, nothing else', () => {
    for (const value of [true, false, 'auto'] as const) {
      expect(
        resolveTrainConfig('rlingua', 'test', { rlingua: { labelPolicySteps: value } }).rlingua
          .labelPolicySteps,
      ).toBe(value);
    }
    expect(() =>
      resolveTrainConfig('rlingua', 'a.yaml', { rlingua: { labelPolicySteps: 'always' } }),
    ).toThrow(/labelPolicySteps/);
  });
});

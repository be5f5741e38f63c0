import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { loadYamlConfig } from '../../core/config-file.js';
import { ALGOS, priorNeeded, resolveTrainConfig } from './train-config.js';

const TRAIN_CONFIGS = join(import.meta.dirname, '../../../config/train');

describe('the training configs shipped in config/train', () => {
  const files = readdirSync(TRAIN_CONFIGS).filter((name) => name.endsWith('.yaml'));

  it.each(files)('%s is valid over every preset', (name) => {
    const file = join(TRAIN_CONFIGS, name);
    const fields = loadYamlConfig(file, z.record(z.string(), z.unknown()));
    for (const algo of ALGOS) expect(() => resolveTrainConfig(algo, file, fields)).not.toThrow();
  });

  it('closed-loop-prior.yaml turns on the prior’s labels on the policy’s steps and leaves the preset', () => {
    const file = join(TRAIN_CONFIGS, 'closed-loop-prior.yaml');
    const fields = loadYamlConfig(file, z.record(z.string(), z.unknown()));
    const rlingua = resolveTrainConfig('rlingua', file, fields);
    expect(rlingua.rlingua.labelPolicySteps).toBe(true);
    expect(rlingua.rlingua.precollectEpisodes).toBe(200); // the preset's, untouched
    expect(priorNeeded(rlingua)).toBe(true);
    // Plain TD3 has no imitation term: the labels would be unused, so no prior is consulted.
    expect(priorNeeded(resolveTrainConfig('td3', file, fields))).toBe(false);
  });
});

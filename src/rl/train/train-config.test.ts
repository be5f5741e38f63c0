import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { taskDefinitions } from '../../../sim/tasks/registry.js';
import type { ConfigError } from '../../core/errors.js';
import { DatasetMetaSchema } from '../../episodes/dataset/schema.js';
import { priorNeeded, resolveTrainConfig, TrainConfigSchema } from './train-config.js';

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

describe('sizes a training config can set are bounded (issue #17 §4)', () => {
  it('refuses td3.hidden: [100000, 100000] with one config error naming the field, and other huge sizes', () => {
    expect(() => resolveTrainConfig('td3', 'big.yaml', { td3: { hidden: [100_000, 100_000] } })).toThrow(
      /^big\.yaml: \n {2}- td3\.hidden\.0: Too big: expected number to be <=1024\n {2}- td3\.hidden\.1: Too big/,
    );
    const huge = {
      bufferSize: 1e9,
      td3: { batchSize: 1e6, hidden: [64, 64, 64, 64, 64] },
      rlingua: { demoBufferSize: 1e9 },
      evaluation: { episodes: 1e9 },
      checkpoint: { keep: 1e6 },
    };
    let problems: readonly string[] = [];
    try {
      resolveTrainConfig('td3', 'huge.yaml', huge);
    } catch (error) {
      problems = (error as ConfigError).problems;
    }
    expect(problems.map((p) => p.split(':')[0]).sort()).toEqual([
      'bufferSize',
      'checkpoint.keep',
      'evaluation.episodes',
      'rlingua.demoBufferSize',
      'td3.batchSize',
      'td3.hidden',
    ]);
    // The largest allowed sizes are accepted.
    expect(
      resolveTrainConfig('sac', 'max.yaml', {
        sac: { hidden: [1024, 1024, 1024, 1024], batchSize: 2048 },
        bufferSize: 2_000_000,
      }).sac.hidden,
    ).toEqual([1024, 1024, 1024, 1024]);
  });

  it('every number and every list of the training, task and dataset schemas has an upper bound', () => {
    const schemas: [string, z.ZodType][] = [
      ['train', TrainConfigSchema],
      ['dataset', DatasetMetaSchema],
      ...taskDefinitions().map((t): [string, z.ZodType] => [`task ${t.name}`, t.schema]),
    ];
    const unbounded = schemas.flatMap(([name, schema]) => unboundedFields(schema, name));
    expect(unbounded).toEqual([]);
  });
});

/**
 * Paths of numbers without a finite upper bound and of lists without a maximum length in a zod
 * schema (objects, defaults, optionals, lists, unions, records and tuples are walked).
 */
function unboundedFields(schema: z.ZodType, path: string): string[] {
  const def = schema._zod.def as unknown as Record<string, unknown> & { type: string };
  switch (def.type) {
    case 'number':
      return ((schema as z.ZodNumber).maxValue ?? Number.POSITIVE_INFINITY) >= Number.MAX_SAFE_INTEGER
        ? [path]
        : [];
    case 'object':
      return Object.entries(def.shape as Record<string, z.ZodType>).flatMap(([key, child]) =>
        unboundedFields(child, `${path}.${key}`),
      );
    case 'default':
    case 'prefault':
    case 'optional':
    case 'nullable':
    case 'readonly':
      return unboundedFields(def.innerType as z.ZodType, path);
    case 'array': {
      const checks = (def.checks ?? []) as { _zod: { def: { check: string } } }[];
      const bounded = checks.some((c) => c._zod.def.check === 'max_length');
      return [
        ...(bounded ? [] : [`${path} (length)`]),
        ...unboundedFields(def.element as z.ZodType, `${path}[]`),
      ];
    }
    case 'union':
      return (def.options as z.ZodType[]).flatMap((option) => unboundedFields(option, path));
    case 'record':
      return unboundedFields(def.valueType as z.ZodType, `${path}.*`);
    case 'tuple':
      return (def.items as z.ZodType[]).flatMap((item, i) => unboundedFields(item, `${path}[${i}]`));
    default:
      return [];
  }
}

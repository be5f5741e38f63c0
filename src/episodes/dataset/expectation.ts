/**
 * What a consumer (a learner for one task, a policy) needs a dataset to be, and the check that
 * says exactly where a dataset differs, so a demo set recorded for another task or an older
 * observation layout is refused before it reaches a replay buffer.
 */
import { DatasetError } from '../../core/errors.js';
import { describeFields } from './metadata.js';
import { type DatasetMeta, type FieldSize, layoutSize } from './schema.js';

/** The layout a reader expects; `env.observationFields`, `env.goalSize`, `env.actionSize` fit. */
export type DatasetExpectation = {
  /** When given, the dataset's task must be this one. */
  task?: string | undefined;
  goalSize: number;
  actionSize: number;
} & (
  | { observationFields: readonly FieldSize[]; observationSize?: undefined }
  | { observationSize: number; observationFields?: undefined }
);

/** Throws a `dataset_invalid` DatasetError naming the first mismatch between `meta` and `expected`. */
export function checkExpectation(meta: DatasetMeta, expected: DatasetExpectation, file: string): void {
  const forWhat = expected.task ? `task ${expected.task}` : 'the caller';
  if (expected.task !== undefined && meta.task !== expected.task) {
    throw new DatasetError(
      'dataset_invalid',
      'task_mismatch',
      file,
      `dataset was recorded for task ${meta.task}, ${forWhat} was asked for`,
    );
  }
  const datasetFields = describeFields(meta.observationFields);
  if (expected.observationFields) {
    const difference = firstFieldDifference(meta.observationFields, expected.observationFields);
    if (difference) {
      throw new DatasetError(
        'dataset_invalid',
        'layout_mismatch',
        file,
        `dataset observation has fields ${datasetFields}, ${forWhat} expects ${describeFields(expected.observationFields)}: ${difference}`,
      );
    }
  } else if (layoutSize(meta.observationFields) !== expected.observationSize) {
    throw new DatasetError(
      'dataset_invalid',
      'layout_mismatch',
      file,
      `dataset observation has fields ${datasetFields}, ${forWhat} expects ${expected.observationSize} values`,
    );
  }
  if (meta.goalSize !== expected.goalSize) {
    throw new DatasetError(
      'dataset_invalid',
      'goal_mismatch',
      file,
      `dataset goals have ${meta.goalSize} values, ${forWhat} expects ${expected.goalSize}`,
    );
  }
  if (meta.actionSize !== expected.actionSize) {
    throw new DatasetError(
      'dataset_invalid',
      'action_mismatch',
      file,
      `dataset actions have ${meta.actionSize} values, ${forWhat} expects ${expected.actionSize}`,
    );
  }
}

/** Where two layouts first part, in words; undefined when names and sizes all agree. */
function firstFieldDifference(
  actual: readonly FieldSize[],
  expected: readonly FieldSize[],
): string | undefined {
  for (let i = 0; i < Math.max(actual.length, expected.length); i++) {
    const a = actual[i];
    const e = expected[i];
    if (a && e && a.name === e.name && a.size === e.size) continue;
    if (!a) return `the dataset lacks field ${e!.name}(${e!.size})`;
    if (!e) return `the dataset has an extra field ${a.name}(${a.size})`;
    if (a.name === e.name) return `field ${a.name} has ${a.size} values, expected ${e.size}`;
    return `field ${i + 1} is ${a.name}(${a.size}), expected ${e.name}(${e.size})`;
  }
  return undefined;
}

/**
 * The two JSON documents in each episode file's Parquet key-value metadata: parsed with zod so
 * a hand-edited or foreign file is refused with every problem named, not half-read.
 */
import type { z } from 'zod';
import { DatasetError } from '../../core/errors.js';
import type { TransitionSizes } from '../step.js';
import {
  DATASET_META_KEY,
  type DatasetMeta,
  DatasetMetaSchema,
  EPISODE_META_KEY,
  type EpisodeMeta,
  EpisodeMetaSchema,
  FORMAT_VERSION,
  layoutSize,
} from './schema.js';

/** Key-value metadata for one episode file. */
export function metadataEntries(dataset: DatasetMeta, episode: EpisodeMeta): Map<string, string> {
  return new Map([
    [DATASET_META_KEY, JSON.stringify(dataset)],
    [EPISODE_META_KEY, JSON.stringify(episode)],
  ]);
}

/** Both documents from a file's key-value metadata; `file` names it in errors. */
export function parseMetadata(
  keyValue: ReadonlyMap<string, string>,
  file: string,
): { dataset: DatasetMeta; episode: EpisodeMeta } {
  return {
    dataset: parseDocument(keyValue, DATASET_META_KEY, DatasetMetaSchema, file),
    episode: parseDocument(keyValue, EPISODE_META_KEY, EpisodeMetaSchema, file),
  };
}

function parseDocument<S extends z.ZodType>(
  keyValue: ReadonlyMap<string, string>,
  key: string,
  schema: S,
  file: string,
): z.output<S> {
  const fail = (message: string, cause?: unknown) =>
    new DatasetError('dataset_invalid', 'metadata', file, message, cause === undefined ? {} : { cause });
  const text = keyValue.get(key);
  if (text === undefined) {
    throw fail(`no '${key}' metadata: not an armprior dataset file (or written by another tool)`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw fail(`'${key}' metadata is not JSON`, error);
  }
  const version = (json as { formatVersion?: unknown } | null)?.formatVersion;
  if (key === DATASET_META_KEY && typeof version === 'number' && version !== FORMAT_VERSION) {
    throw fail(`format version ${version}; this armprior reads version ${FORMAT_VERSION}`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw fail(`'${key}' metadata is invalid: ${problems.join('; ')}`);
  }
  return parsed.data;
}

/** Vector sizes of a dataset's transitions (what a ReplayBuffer is built with). */
export function transitionSizes(meta: DatasetMeta): TransitionSizes {
  return { observation: layoutSize(meta.observationFields), goal: meta.goalSize, action: meta.actionSize };
}

/**
 * The first way two dataset metas differ, said for a person, or undefined when they agree.
 * Episodes of one dataset must agree on all of it: they go into one buffer.
 */
export function describeDifference(
  a: DatasetMeta,
  b: DatasetMeta,
  [nameA, nameB]: readonly [string, string],
): string | undefined {
  for (const key of ['task', 'robot', 'source', 'ctrlDtSec', 'goalSize', 'actionSize'] as const) {
    if (a[key] !== b[key])
      return `${key}: ${nameA} ${JSON.stringify(a[key])}, ${nameB} ${JSON.stringify(b[key])}`;
  }
  const [fieldsA, fieldsB] = [describeFields(a.observationFields), describeFields(b.observationFields)];
  if (fieldsA !== fieldsB) return `observation fields: ${nameA} ${fieldsA}, ${nameB} ${fieldsB}`;
  return undefined;
}

/** `[eePosition(3), eeVelocity(3)] (6 values)`. */
export function describeFields(fields: readonly { name: string; size: number }[]): string {
  return `[${fields.map((f) => `${f.name}(${f.size})`).join(', ')}] (${layoutSize(fields)} values)`;
}

import { existsSync } from 'node:fs';
import { DataType, type Table, type Vector } from 'apache-arrow';
import type { z } from 'zod';
import { DatasetError } from '../../../core/errors.js';
import { INPUT_LIMITS, readInputText } from '../../../core/input-file.js';
import type { Episode } from '../../episode.js';
import { checkExpectation, type DatasetExpectation } from '../expectation.js';
import { decodeParquet } from '../parquet-io.js';
import { readEpisodeBytes } from '../reader.js';
import type { DatasetMeta } from '../schema.js';
import {
  ArmpriorSidecarSchema,
  LEROBOT_SCALARS,
  LEROBOT_VECTORS,
  type LerobotInfo,
  LerobotInfoSchema,
  lerobotFiles,
} from './lerobot-format.js';

/** Whether `dir` holds a LeRobot-layout dataset (meta/info.json). */
export function isLerobotDataset(dir: string): boolean {
  return existsSync(lerobotFiles(dir).info);
}

/**
 * The episodes of a LeRobot-layout dataset that armprior exported (or that has the same
 * features), checked against `expected` as an armprior dataset is: meta/armprior.json gives the
 * layout, every data file is read whole and its rows checked. A LeRobot dataset without
 * armprior's goals and next observations (one recorded by LeRobot itself) is refused, naming
 * what is missing: goal-conditioned training cannot use it.
 */
export async function readLerobotDataset(
  dir: string,
  expected: DatasetExpectation,
): Promise<{ meta: DatasetMeta; episodes: Episode[] }> {
  const files = lerobotFiles(dir);
  const info = readJson(files.info, LerobotInfoSchema, 'meta/info.json');
  if (!existsSync(files.armprior)) {
    const missing = Object.values(LEROBOT_VECTORS)
      .slice(0, 6)
      .filter((name) => !(name in info.features));
    throw new DatasetError(
      'dataset_invalid',
      'metadata',
      dir,
      `a LeRobot dataset without meta/armprior.json${missing.length > 0 ? ` and without the features ${missing.join(', ')}` : ''}: goal-conditioned training needs the goals and the next observations (export armprior datasets with armprior dataset export --format lerobot)`,
    );
  }
  const meta = readJson(files.armprior, ArmpriorSidecarSchema, 'meta/armprior.json').dataset;
  checkExpectation(meta, expected, files.armprior);
  const episodes: Episode[] = [];
  for (let k = 0; k < info.total_episodes; k++) {
    const file = files.data(k);
    const { table } = decodeParquet(await readEpisodeBytes(file), file);
    episodes.push(tableEpisode(table, meta, info, k, file));
  }
  return { meta, episodes };
}

function readJson<T>(file: string, schema: z.ZodType<T>, what: string): T {
  if (!existsSync(file)) throw new DatasetError('dataset_invalid', 'missing', file, `no ${what}`);
  let value: unknown;
  try {
    value = JSON.parse(readInputText(file, { maxBytes: INPUT_LIMITS.config, what }));
  } catch (cause) {
    throw new DatasetError('dataset_invalid', 'metadata', file, `${what} is not JSON`, { cause });
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new DatasetError(
      'dataset_invalid',
      'metadata',
      file,
      `${what}: ${issue.path.join('.') || 'the file'}: ${issue.message}`,
    );
  }
  return parsed.data;
}

/** One data file's frames as an armprior episode, every row checked. */
function tableEpisode(table: Table, meta: DatasetMeta, info: LerobotInfo, k: number, file: string): Episode {
  const fail = (problem: 'missing_column' | 'column_type' | 'rows' | 'non_finite', message: string) =>
    new DatasetError('dataset_invalid', problem, file, message);
  const n = table.numRows;
  if (n === 0) throw fail('rows', 'the episode has no frames');
  const column = (name: string): Vector => {
    const found = table.getChild(name);
    if (!found) throw fail('missing_column', `missing column ${name}`);
    return found;
  };
  const observationSize = meta.observationFields.reduce((s, f) => s + f.size, 0);
  const vectors = (name: string, size: number): Float64Array => {
    const vector = column(name);
    if (!(DataType.isList(vector.type) || DataType.isFixedSizeList(vector.type)))
      throw fail('column_type', `column ${name} is ${vector.type}, not a list of floats`);
    const out = new Float64Array(n * size);
    for (let t = 0; t < n; t++) {
      const row = vector.get(t) as Vector | null;
      if (row === null || row.length !== size)
        throw fail(
          'rows',
          `${name} has ${row?.length ?? 'no'} values at frame ${t}, meta/armprior.json says ${size}`,
        );
      for (let i = 0; i < size; i++) {
        const value = Number(row.get(i));
        if (!Number.isFinite(value)) throw fail('non_finite', `${name}[${i}] is ${value} at frame ${t}`);
        out[t * size + i] = value;
      }
    }
    return out;
  };
  const scalars = (name: string): number[] => {
    const vector = column(name);
    return Array.from({ length: n }, (_, t) => {
      const value = vector.get(t) as number | bigint | boolean | null;
      if (value === null) throw fail('rows', `${name} is null at frame ${t}`);
      const number = Number(value);
      if (!Number.isFinite(number)) throw fail('non_finite', `${name} is ${value} at frame ${t}`);
      return number;
    });
  };
  scalars(LEROBOT_SCALARS.episodeIndex.name).forEach((value, t) => {
    if (value !== k) throw fail('rows', `frame ${t} has episode_index ${value}, the file name says ${k}`);
  });
  scalars(LEROBOT_SCALARS.frameIndex.name).forEach((value, t) => {
    if (value !== t) throw fail('rows', `frames out of order: frame ${t} has frame_index ${value}`);
  });
  const flags = (name: string) => Uint8Array.from(scalars(name), (v) => (v ? 1 : 0));
  const goal = meta.goalSize;
  const action = meta.actionSize;
  const episode: Episode = {
    length: n,
    observation: vectors(LEROBOT_VECTORS.observation, observationSize),
    achievedGoal: vectors(LEROBOT_VECTORS.achievedGoal, goal),
    desiredGoal: vectors(LEROBOT_VECTORS.desiredGoal, goal),
    action: vectors(LEROBOT_VECTORS.action, action),
    reward: Float64Array.from(scalars(LEROBOT_SCALARS.reward.name)),
    nextObservation: vectors(LEROBOT_VECTORS.nextObservation, observationSize),
    nextAchievedGoal: vectors(LEROBOT_VECTORS.nextAchievedGoal, goal),
    terminated: flags(LEROBOT_SCALARS.terminated.name),
    priorActed: table.getChild(LEROBOT_SCALARS.priorActed.name)
      ? flags(LEROBOT_SCALARS.priorActed.name)
      : new Uint8Array(n),
    priorAction: table.getChild(LEROBOT_VECTORS.priorAction)
      ? vectors(LEROBOT_VECTORS.priorAction, action)
      : new Float64Array(n * action),
    hasPriorAction: table.getChild(LEROBOT_SCALARS.hasPriorAction.name)
      ? flags(LEROBOT_SCALARS.hasPriorAction.name)
      : new Uint8Array(n),
    timeSec: Float64Array.from(scalars(LEROBOT_SCALARS.timestamp.name)),
  };
  if (table.getChild(LEROBOT_SCALARS.truncated.name))
    episode.truncated = flags(LEROBOT_SCALARS.truncated.name);
  if (LEROBOT_VECTORS.sentAction in info.features)
    episode.sentAction = vectors(LEROBOT_VECTORS.sentAction, action);
  if (LEROBOT_SCALARS.safetyInterventions.name in info.features)
    episode.safetyInterventions = Int32Array.from(scalars(LEROBOT_SCALARS.safetyInterventions.name));
  return episode;
}

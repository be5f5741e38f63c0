import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { Bool, Field, Float32, Int64, List, makeData, makeVector, Table, type Vector } from 'apache-arrow';
import { DatasetError } from '../../../core/errors.js';
import type { Episode } from '../../episode.js';
import { encodeParquet } from '../parquet-io.js';
import { readWholeDataset } from '../reader.js';
import type { DatasetMeta } from '../schema.js';
import {
  componentNames,
  LEROBOT_CHUNK_SIZE,
  LEROBOT_CODEBASE_VERSION,
  LEROBOT_DATA_PATH,
  LEROBOT_SCALARS,
  LEROBOT_VECTORS,
  type LerobotInfo,
  lerobotFiles,
} from './lerobot-format.js';

/** What an export wrote. */
export interface LerobotExport {
  dir: string;
  episodes: number;
  frames: number;
  fps: number;
}

type VectorKey = keyof typeof LEROBOT_VECTORS;
type ScalarKey = keyof typeof LEROBOT_SCALARS;

/**
 * Writes the armprior dataset at `source` as a LeRobot v2.1 dataset at `out` (which must not
 * exist or be empty). Written into a temporary folder beside it and renamed at the end: an
 * export that fails leaves nothing half-written.
 */
export async function exportLerobot(
  source: string,
  out: string,
  onEpisode?: (done: number, total: number) => void,
): Promise<LerobotExport> {
  if (existsSync(out) && readdirSync(out).length > 0) {
    throw new DatasetError('dataset_write', 'io', out, 'the folder is not empty: export into a new folder');
  }
  const contents = await readWholeDataset(source);
  const meta = contents.meta;
  const staging = join(dirname(out), `.${basename(out)}.export-${process.pid}`);
  rmSync(staging, { recursive: true, force: true });
  try {
    const files = lerobotFiles(staging);
    // readDataset keeps what a learner does not use in the details: the export needs it all.
    const episodes: Episode[] = contents.episodes.map((e, k) => {
      const { truncated, timeSec, sentAction, safetyInterventions } = contents.details[k]!;
      return {
        ...e,
        truncated,
        timeSec,
        ...(sentAction ? { sentAction } : {}),
        ...(safetyInterventions ? { safetyInterventions } : {}),
      };
    });
    const hasSent = episodes.some((e) => e.sentAction !== undefined);
    const hasSafety = episodes.some((e) => e.safetyInterventions !== undefined);
    let index = 0;
    const episodesLines: string[] = [];
    const statsLines: string[] = [];
    for (const [episodeIndex, episode] of episodes.entries()) {
      const columns = frameColumns(episode, meta, { episodeIndex, firstIndex: index, hasSent, hasSafety });
      const file = files.data(episodeIndex);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, encodeParquet(new Table(columns), new Map()));
      episodesLines.push(
        JSON.stringify({ episode_index: episodeIndex, tasks: [meta.task], length: episode.length }),
      );
      statsLines.push(JSON.stringify({ episode_index: episodeIndex, stats: episodeStats(columns) }));
      index += episode.length;
      onEpisode?.(episodeIndex + 1, episodes.length);
    }
    const info = infoJson(meta, contents.episodes.length, index, { hasSent, hasSafety });
    mkdirSync(dirname(files.info), { recursive: true });
    writeFileSync(files.info, `${JSON.stringify(info, null, 4)}\n`);
    writeFileSync(files.episodes, `${episodesLines.join('\n')}\n`);
    writeFileSync(files.episodesStats, `${statsLines.join('\n')}\n`);
    writeFileSync(files.tasks, `${JSON.stringify({ task_index: 0, task: meta.task })}\n`);
    writeFileSync(files.armprior, `${JSON.stringify({ armprior: 1, dataset: meta }, null, 2)}\n`);
    if (existsSync(out)) rmSync(out, { recursive: true });
    renameSync(staging, out);
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    throw error;
  }
  return {
    dir: out,
    episodes: contents.episodes.length,
    frames: countFrames(contents.episodes),
    fps: 1 / meta.ctrlDtSec,
  };
}

const countFrames = (episodes: readonly Episode[]) => episodes.reduce((n, e) => n + e.length, 0);

/** One episode's frames as LeRobot's columns, by feature name. */
function frameColumns(
  e: Episode,
  meta: DatasetMeta,
  at: { episodeIndex: number; firstIndex: number; hasSent: boolean; hasSafety: boolean },
): Record<string, Vector> {
  const n = e.length;
  const sizes = vectorSizes(meta);
  const columns: Record<string, Vector> = {};
  const vectors: [VectorKey, Float64Array | undefined][] = [
    ['observation', e.observation],
    ['achievedGoal', e.achievedGoal],
    ['desiredGoal', e.desiredGoal],
    ['action', e.action],
    ['nextObservation', e.nextObservation],
    ['nextAchievedGoal', e.nextAchievedGoal],
    ['priorAction', e.priorAction],
  ];
  if (at.hasSent) vectors.push(['sentAction', e.sentAction ?? e.action]);
  for (const [key, values] of vectors) columns[LEROBOT_VECTORS[key]] = float32List(values!, sizes[key], n);
  const timeSec = e.timeSec ?? Float64Array.from({ length: n }, (_, t) => t * meta.ctrlDtSec);
  const put = (key: ScalarKey, vector: Vector) => {
    columns[LEROBOT_SCALARS[key].name] = vector;
  };
  put('timestamp', makeVector(Float32Array.from(timeSec)));
  put(
    'frameIndex',
    int64((t) => t, n),
  );
  put(
    'episodeIndex',
    int64(() => at.episodeIndex, n),
  );
  put(
    'index',
    int64((t) => at.firstIndex + t, n),
  );
  put(
    'taskIndex',
    int64(() => 0, n),
  );
  put('reward', makeVector(Float32Array.from(e.reward)));
  put('terminated', bool(e.terminated));
  put('truncated', bool(e.truncated ?? new Uint8Array(n)));
  put('priorActed', bool(e.priorActed));
  put('hasPriorAction', bool(e.hasPriorAction));
  if (at.hasSafety) put('safetyInterventions', makeVector(e.safetyInterventions ?? new Int32Array(n)));
  return columns;
}

function vectorSizes(meta: DatasetMeta): Record<VectorKey, number> {
  const observation = meta.observationFields.reduce((n, f) => n + f.size, 0);
  return {
    observation,
    achievedGoal: meta.goalSize,
    desiredGoal: meta.goalSize,
    action: meta.actionSize,
    nextObservation: observation,
    nextAchievedGoal: meta.goalSize,
    priorAction: meta.actionSize,
    sentAction: meta.actionSize,
  };
}

/** A list<float32> column of `size` values a row (the float64 values narrowed, as LeRobot stores them). */
function float32List(flat: Float64Array, size: number, length: number): Vector {
  const valueOffsets = Int32Array.from({ length: length + 1 }, (_, t) => t * size);
  const child = makeData({ type: new Float32(), length: length * size, data: Float32Array.from(flat) });
  return makeVector(
    makeData({ type: new List(new Field('item', new Float32(), true)), length, valueOffsets, child }),
  );
}

function int64(value: (t: number) => number, length: number): Vector {
  const data = BigInt64Array.from({ length }, (_, t) => BigInt(value(t)));
  return makeVector(makeData({ type: new Int64(), length, data }));
}

function bool(values: Uint8Array): Vector {
  const bits = new Uint8Array(Math.ceil(values.length / 8));
  values.forEach((v, i) => {
    if (v) bits[i >> 3]! |= 1 << (i & 7);
  });
  return makeVector(makeData({ type: new Bool(), length: values.length, data: bits }));
}

/** LeRobot's per-episode statistics of every feature: min, max, mean, std and count, per component. */
function episodeStats(columns: Record<string, Vector>): Record<string, Record<string, number[]>> {
  const stats: Record<string, Record<string, number[]>> = {};
  for (const [name, column] of Object.entries(columns)) {
    const rows = Array.from({ length: column.length }, (_, t) => {
      const value = column.get(t) as unknown;
      if (value && typeof value === 'object' && 'toArray' in value)
        return Array.from((value as { toArray(): ArrayLike<number> }).toArray(), Number);
      return [Number(value)];
    });
    const width = rows[0]?.length ?? 0;
    const per = (f: (xs: number[]) => number) =>
      Array.from({ length: width }, (_, i) => f(rows.map((r) => r[i]!)));
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    stats[name] = {
      min: per((xs) => Math.min(...xs)),
      max: per((xs) => Math.max(...xs)),
      mean: per(mean),
      std: per((xs) => {
        // The mean once per component: inside the map it made a long robot episode quadratic.
        const m = mean(xs);
        return Math.sqrt(mean(xs.map((x) => (x - m) ** 2)));
      }),
      count: [rows.length],
    };
  }
  return stats;
}

function infoJson(
  meta: DatasetMeta,
  episodes: number,
  frames: number,
  has: { hasSent: boolean; hasSafety: boolean },
): LerobotInfo {
  const sizes = vectorSizes(meta);
  const stateNames = componentNames(meta.observationFields);
  const goalNames = componentNames([{ name: 'goal', size: meta.goalSize }]);
  const actionNames =
    meta.actionSize === 4 ? ['dx', 'dy', 'dz', 'gripper'] : meta.actionSize === 3 ? ['dx', 'dy', 'dz'] : null;
  const namesOf: Record<VectorKey, string[] | null> = {
    observation: stateNames,
    achievedGoal: goalNames,
    desiredGoal: goalNames,
    action: actionNames,
    nextObservation: stateNames,
    nextAchievedGoal: goalNames,
    priorAction: actionNames,
    sentAction: actionNames,
  };
  const features: LerobotInfo['features'] = {};
  for (const key of Object.keys(LEROBOT_VECTORS) as VectorKey[]) {
    if (key === 'sentAction' && !has.hasSent) continue;
    features[LEROBOT_VECTORS[key]] = { dtype: 'float32', shape: [sizes[key]], names: namesOf[key] };
  }
  for (const key of Object.keys(LEROBOT_SCALARS) as ScalarKey[]) {
    if (key === 'safetyInterventions' && !has.hasSafety) continue;
    const { name, dtype } = LEROBOT_SCALARS[key];
    features[name] = { dtype, shape: [1], names: null };
  }
  return {
    codebase_version: LEROBOT_CODEBASE_VERSION,
    robot_type: meta.robot,
    total_episodes: episodes,
    total_frames: frames,
    total_tasks: 1,
    total_videos: 0,
    total_chunks: Math.ceil(episodes / LEROBOT_CHUNK_SIZE),
    chunks_size: LEROBOT_CHUNK_SIZE,
    fps: 1 / meta.ctrlDtSec,
    splits: { train: `0:${episodes}` },
    data_path: LEROBOT_DATA_PATH,
    video_path: null,
    features,
  };
}

import { join } from 'node:path';
import { z } from 'zod';
import { DatasetMetaSchema } from '../schema.js';

// LeRobot's dataset layout, v2.1 (the one LeRobot's loaders and the Hugging Face Hub's datasets
// of that version use): meta/info.json, meta/episodes.jsonl, meta/tasks.jsonl,
// meta/episodes_stats.jsonl and data/chunk-NNN/episode_NNNNNN.parquet, one row per frame, vectors
// as float32 lists. armprior's transitions need more than LeRobot's frames hold (the goals, the
// next observation of the last frame, the prior's proposal): those are additional features, and
// meta/armprior.json keeps armprior's dataset metadata, so a dataset exported and read back is
// the same dataset (to float32 precision).

export const LEROBOT_CODEBASE_VERSION = 'v2.1';
/** Episodes per data chunk folder (LeRobot's default). */
export const LEROBOT_CHUNK_SIZE = 1000;

export const lerobotFiles = (root: string) => ({
  info: join(root, 'meta', 'info.json'),
  episodes: join(root, 'meta', 'episodes.jsonl'),
  tasks: join(root, 'meta', 'tasks.jsonl'),
  episodesStats: join(root, 'meta', 'episodes_stats.jsonl'),
  armprior: join(root, 'meta', 'armprior.json'),
  data: (episodeIndex: number) =>
    join(
      root,
      'data',
      `chunk-${String(Math.floor(episodeIndex / LEROBOT_CHUNK_SIZE)).padStart(3, '0')}`,
      `episode_${String(episodeIndex).padStart(6, '0')}.parquet`,
    ),
});

/** info.json's template for the data files (LeRobot formats it with Python's str.format). */
export const LEROBOT_DATA_PATH = 'data/chunk-{episode_chunk:03d}/episode_{episode_index:06d}.parquet';

/**
 * armprior's vectors as LeRobot features: its names first (LeRobot's `observation.state`,
 * `action`), then armprior's extras. Every one is a float32 vector per frame.
 */
export const LEROBOT_VECTORS = {
  observation: 'observation.state',
  achievedGoal: 'observation.achieved_goal',
  desiredGoal: 'observation.desired_goal',
  action: 'action',
  nextObservation: 'next.observation.state',
  nextAchievedGoal: 'next.observation.achieved_goal',
  priorAction: 'prior.action',
  sentAction: 'action.sent',
} as const;

/** Per-frame scalars: LeRobot's (`timestamp`, the indices, `next.reward`, `next.done`) and armprior's. */
export const LEROBOT_SCALARS = {
  timestamp: { name: 'timestamp', dtype: 'float32' },
  frameIndex: { name: 'frame_index', dtype: 'int64' },
  episodeIndex: { name: 'episode_index', dtype: 'int64' },
  index: { name: 'index', dtype: 'int64' },
  taskIndex: { name: 'task_index', dtype: 'int64' },
  reward: { name: 'next.reward', dtype: 'float32' },
  /** The step ended in a terminal state (LeRobot's `next.done`). */
  terminated: { name: 'next.done', dtype: 'bool' },
  truncated: { name: 'next.truncated', dtype: 'bool' },
  priorActed: { name: 'prior.acted', dtype: 'bool' },
  /** `prior.action` holds the prior's proposal (zeros where it was not asked). */
  hasPriorAction: { name: 'prior.asked', dtype: 'bool' },
  safetyInterventions: { name: 'safety.interventions', dtype: 'int32' },
} as const;

const FeatureSchema = z
  .object({
    dtype: z.string(),
    shape: z.array(z.number().int().nonnegative()),
    names: z.union([z.array(z.string()), z.record(z.string(), z.unknown()), z.null()]).optional(),
  })
  .passthrough();

/** meta/info.json: the fields armprior writes and reads (LeRobot's own loader reads more of them). */
export const LerobotInfoSchema = z
  .object({
    codebase_version: z.string(),
    robot_type: z.string().nullable(),
    total_episodes: z.number().int().nonnegative(),
    total_frames: z.number().int().nonnegative(),
    total_tasks: z.number().int().nonnegative(),
    total_videos: z.number().int().nonnegative(),
    total_chunks: z.number().int().nonnegative(),
    chunks_size: z.number().int().positive(),
    fps: z.number().positive(),
    splits: z.record(z.string(), z.string()),
    data_path: z.string(),
    video_path: z.string().nullable(),
    features: z.record(z.string(), FeatureSchema),
  })
  .passthrough();
export type LerobotInfo = z.output<typeof LerobotInfoSchema>;

/** meta/armprior.json: armprior's dataset metadata, which LeRobot's files have no place for. */
export const ArmpriorSidecarSchema = z
  .object({
    armprior: z.literal(1),
    dataset: DatasetMetaSchema,
  })
  .strict();

/** Names of a vector's components: `eePosition.x`, `eePosition.y`, …, or `<field>.<i>`. */
export function componentNames(fields: readonly { name: string; size: number }[]): string[] {
  const axes = ['x', 'y', 'z'];
  return fields.flatMap((f) =>
    Array.from({ length: f.size }, (_, i) => (f.size <= 3 ? `${f.name}.${axes[i]}` : `${f.name}.${i}`)),
  );
}

import { z } from 'zod';
import { END_REASONS, type Step } from '../step.js';

/**
 * The episode dataset format (docs/datasets.md): one Parquet file per episode,
 * `<dir>/episodes/episode-000123.parquet`, one row per step, each row a whole transition (a
 * {@link Step} of src/episodes/step.ts).
 * Two JSON documents ride in the Parquet key-value metadata: {@link DATASET_META_KEY} (the same
 * in every file of a dataset) and {@link EPISODE_META_KEY} (this episode's).
 */

/** Bumped when a reader of the old format could misread a new file. */
export const FORMAT_VERSION = 1;

/** Subfolder of a dataset that holds the episode files (room beside it for notes, plots, videos). */
export const EPISODES_DIR = 'episodes';

export const DATASET_META_KEY = 'armprior.dataset';
export const EPISODE_META_KEY = 'armprior.episode';

/** Columns holding one fixed-size float64 vector per row, with the size they take from the metadata. */
export const VECTOR_COLUMNS = {
  observation: 'observation',
  achieved_goal: 'goal',
  desired_goal: 'goal',
  action: 'action',
  next_observation: 'observation',
  next_achieved_goal: 'goal',
} as const;

/**
 * Every column a reader needs, in file order. Optional: `prior_acted` and `prior_action` (absent:
 * no prior was consulted, as in demonstrations from elsewhere), `sent_action` and
 * `safety_interventions` (robot recordings).
 */
export const REQUIRED_COLUMNS = [
  'episode_index',
  'step',
  'timestamp',
  ...Object.keys(VECTOR_COLUMNS),
  'reward',
  'terminated',
  'truncated',
] as const;

/** A named slice of the observation vector: the layout an env, a prior and a policy agree on. */
export interface FieldSize {
  readonly name: string;
  readonly size: number;
}

/**
 * Sizes read from a file are bounded before anything is allocated from them (issue #17 §4): far
 * above any task's, far below what would take the reader down.
 */
const MAX_VECTOR_SIZE = 1000;

const FieldSchema = z.object({
  name: z.string().min(1),
  size: z.number().int().positive().max(MAX_VECTOR_SIZE),
});

/** Where the data came from. */
export const SourceSchema = z.enum(['sim', 'robot']);

/** What a whole dataset shares: every episode file carries it, and all must agree. */
export const DatasetMetaSchema = z.object({
  formatVersion: z.literal(FORMAT_VERSION),
  /** Task name, as in the registry (`push`, `pick-and-place`…). */
  task: z.string().min(1),
  /** Robot config name (`panda`…). */
  robot: z.string().min(1),
  source: SourceSchema,
  /** Control period (s): one step. */
  ctrlDtSec: z.number().positive().max(10),
  /** The observation's named fields in order (env.observationFields): their sizes add up to its length. */
  observationFields: z.array(FieldSchema).min(1).max(100),
  goalSize: z.number().int().positive().max(MAX_VECTOR_SIZE),
  actionSize: z.number().int().positive().max(MAX_VECTOR_SIZE),
});
export type DatasetMeta = z.output<typeof DatasetMetaSchema>;

/** What a caller gives {@link DatasetWriter.open}: the dataset meta without the format version. */
export type DatasetMetaInput = Omit<DatasetMeta, 'formatVersion' | 'observationFields'> & {
  /** `env.observationFields` fits: only names and sizes are kept. */
  observationFields: readonly FieldSize[];
};

/**
 * Why an episode ended (src/episodes/step.ts). `run_ended`, `link_lost` and `state_gap` were added
 * without a format version change: files written before read as they did.
 */
export const EndReasonSchema = z.enum(END_REASONS);

/** Who acted and how the episode started; given at `beginEpisode`. */
export const EpisodeStartSchema = z.object({
  /** What chose the actions: `prior:push:v3`, `policy:runs/…/policy.onnx`, `mixed:…`. */
  actor: z.string().min(1),
  /** Version of the prior controller consulted (store id), where one was. */
  priorVersion: z.string().min(1).optional(),
  /** Env reset seed. */
  seed: z.number().int().optional(),
  /**
   * The queued collection that wrote it (`armprior sim --record --queue`): a chunk of episodes
   * given to a second worker skips the seeds the first one had already written.
   */
  collection: z.string().min(1).optional(),
});
export type EpisodeStart = z.output<typeof EpisodeStartSchema>;

/** One episode's metadata as stored. */
export const EpisodeMetaSchema = EpisodeStartSchema.extend({
  index: z.number().int().nonnegative(),
  /** Steps (an episode of a long robot run at 500 Hz for half an hour is 900,000). */
  length: z.number().int().positive().max(10_000_000),
  endReason: EndReasonSchema,
  /** Wall-clock start (ISO 8601); the `timestamp` column counts seconds from it. */
  startedAt: z.iso.datetime(),
  /** When the file was written (ISO 8601). */
  createdAt: z.iso.datetime(),
});
export type EpisodeMeta = z.output<typeof EpisodeMetaSchema>;

/** Episode files are numbered episode files (src/episodes/episode-folder.ts) with this extension. */
export const EPISODE_FILE_EXTENSION = 'parquet';

/** Sum of the field sizes. */
export function layoutSize(fields: readonly FieldSize[]): number {
  return fields.reduce((n, f) => n + f.size, 0);
}

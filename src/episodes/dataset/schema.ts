import { z } from 'zod';

/**
 * The episode dataset format (docs/datasets.md): one Parquet file per episode,
 * `<dir>/episodes/episode-000123.parquet`, one row per step, each row a whole transition.
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

/** Every column a reader needs, in file order (`sent_action` and `safety_interventions` are optional). */
export const REQUIRED_COLUMNS = [
  'episode_index',
  'step',
  'timestamp',
  ...Object.keys(VECTOR_COLUMNS),
  'reward',
  'terminated',
  'truncated',
  'prior_acted',
  'prior_action',
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
 * Why an episode ended. `terminated`: a terminal state; `truncated`: its length (a time limit);
 * `aborted`: a fault or a safety stop before its end; `run_ended`: the run that recorded it ended
 * normally (its duration, Ctrl-C) in the middle of it; `link_lost`: the link to the robot was lost
 * (its last step's next observation is the last one seen before the loss); `state_gap`: the
 * robot's state stopped coming, or the loop could not step, for longer than `maxStateAgeMs`.
 * A recorded episode never spans a gap (issue #17): after `link_lost` or `state_gap` the next
 * episode begins when the loop steps again. The last three were added without a format version
 * change: files written before read as they did.
 */
export const EndReasonSchema = z.enum([
  'terminated',
  'truncated',
  'aborted',
  'run_ended',
  'link_lost',
  'state_gap',
]);
export type EndReason = z.output<typeof EndReasonSchema>;

/** Who acted and how the episode started; given at `beginEpisode`. */
export const EpisodeStartSchema = z.object({
  /** What chose the actions: `prior:push:v3`, `policy:runs/…/policy.onnx`, `mixed:…`. */
  actor: z.string().min(1),
  /** Version of the prior controller consulted (store id), where one was. */
  priorVersion: z.string().min(1).optional(),
  /** Env reset seed. */
  seed: z.number().int().optional(),
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

/** One step as the writer takes it: the transition (s, a, r, s') and what the prior did. */
export interface StepRecord {
  observation: ArrayLike<number>;
  achievedGoal: ArrayLike<number>;
  desiredGoal: ArrayLike<number>;
  action: ArrayLike<number>;
  nextObservation: ArrayLike<number>;
  nextAchievedGoal: ArrayLike<number>;
  reward: number;
  terminated: boolean;
  truncated: boolean;
  /** Whether the prior controller chose `action` (RLingua's prior-acted flag). */
  priorActed: boolean;
  /** The prior's proposal where it was asked; absent or null where it was not. */
  priorAction?: ArrayLike<number> | null | undefined;
  /** Seconds since the episode started; default `step × ctrlDtSec`. */
  timeSec?: number | undefined;
  /** Real robot: the command actually sent after the safety filter. */
  sentAction?: ArrayLike<number> | undefined;
  /** Real robot: how many limits the safety filter enforced on this step. */
  safetyInterventions?: number | undefined;
}

/** File name of episode `index` (six digits, more past 999999 so names still sort by length then text). */
export function episodeFileName(index: number): string {
  return `episode-${String(index).padStart(6, '0')}.parquet`;
}

const EPISODE_FILE = /^episode-(\d{6,})\.parquet$/;

/** The index in a complete episode file's name, or undefined for any other name. */
export function episodeIndexOf(fileName: string): number | undefined {
  const match = EPISODE_FILE.exec(fileName);
  return match ? Number(match[1]) : undefined;
}

/** Temp files are dot-files in the same folder, so a listing never takes one for an episode. */
export function isTempFileName(fileName: string): boolean {
  return fileName.startsWith('.episode-') && fileName.endsWith('.tmp');
}

/** Sum of the field sizes. */
export function layoutSize(fields: readonly FieldSize[]): number {
  return fields.reduce((n, f) => n + f.size, 0);
}

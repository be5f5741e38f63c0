import { z } from 'zod';
import type { EpisodeSummary } from '../episodes/run-episode.js';
import { PriorSchema } from './queue-jobs.js';

// A queued collection (`armprior sim … --queue`): episodes of one controller on one task, split
// into chunks of consecutive episodes, each chunk a child job of a BullMQ flow whose parent adds
// their summaries up into the report `armprior sim` prints. Episode k is reset with seed + k and
// its controller draws from that seed too, so a chunk gives the same episodes on any worker.

/** The queue of chunks, and the queue of the collections (the flows' parents). */
export const CHUNK_QUEUE = 'episodes';
export const COLLECTION_QUEUE = 'collections';

/** The dataset a collection records into: a shared folder, and the token of its marker. */
const DatasetTargetSchema = z.object({ dir: z.string(), token: z.string() }).strict();

/** What every job of a collection says about it. */
const CollectionFields = {
  armprior: z.string(),
  collectionId: z.string(),
  task: z.string(),
  robot: z.string(),
  reward: z.enum(['sparse', 'dense']).optional(),
  /** The -c name: random, zero, prior[:vN|:bundled]. */
  controller: z.string(),
  /** A prior's code, pinned at submission: workers need no controller store. */
  prior: PriorSchema.optional(),
  /** Episode k is reset with seed + k. */
  seed: z.number().int().min(0),
  dataset: DatasetTargetSchema.optional(),
};

/** Episodes first … first + count − 1 of a collection. */
export const ChunkJobSchema = z
  .object({ ...CollectionFields, first: z.number().int().min(0), count: z.number().int().positive() })
  .strict();
export type ChunkJob = z.output<typeof ChunkJobSchema>;

/** The collection: its episodes' count, and what its report names. */
export const CollectionJobSchema = z
  .object({
    ...CollectionFields,
    episodes: z.number().int().positive(),
    /** The controller's name as `sim` reports it (`prior push (bundled)`). */
    controllerName: z.string(),
    rewardType: z.string(),
  })
  .strict();
export type CollectionJob = z.output<typeof CollectionJobSchema>;

/** One episode's summary, as `armprior sim --json` lists it. */
const EpisodeSummarySchema = z
  .object({
    index: z.number().int().min(0),
    seed: z.number().int(),
    return: z.number(),
    length: z.number().int(),
    success: z.boolean(),
  })
  .passthrough();

/** What a chunk returns: its episodes, and when it ran (epoch ms), for the report's speed. */
export const ChunkResultSchema = z
  .object({
    episodes: z.array(EpisodeSummarySchema),
    /** Episodes a worker before had already written: run again for their summary, not written twice. */
    skipped: z.number().int().min(0),
    startedAt: z.number(),
    finishedAt: z.number(),
  })
  .strict();
export type ChunkResult = Omit<z.output<typeof ChunkResultSchema>, 'episodes'> & {
  episodes: EpisodeSummary[];
};

/** Progress a chunk reports; present once the chunk has started (it may have written episodes). */
export interface ChunkProgress {
  done: number;
  successes: number;
}

import { type Job, UnrecoverableError, WaitingError } from 'bullmq';
import { ArmpriorError } from '../core/errors.js';
import { DatasetSink } from '../episodes/dataset/dataset-sink.js';
import { openSimDataset } from '../episodes/dataset/env-datasets.js';
import { readEpisodeMetas } from '../episodes/dataset/reader.js';
import type { DatasetWriter } from '../episodes/dataset/writer.js';
import { type EpisodeSummary, runEpisode } from '../episodes/run-episode.js';
import { priorActorName } from '../episodes/scene/scene-replay-sink.js';
import { type ChunkJob, ChunkJobSchema, type ChunkProgress, type ChunkResult } from './collection-jobs.js';
import type { EpisodeRigs } from './episode-rigs.js';
import { parseJob } from './queue-jobs.js';
import { checkSharedFolder } from './shared-folders.js';

export interface ChunkJobContext {
  /** True once the worker is asked to stop: the chunk goes back to the queue after its episode. */
  stopping: () => boolean;
  /** The worker's envs and controllers, kept from one chunk of a collection to the next. */
  rigs: EpisodeRigs;
}

/**
 * Runs one chunk of a queued collection: episodes first … first + count − 1, recorded into the
 * collection's dataset when it has one. A chunk that a worker before had started (it reported
 * progress before its first episode) may have written some of its episodes: those seeds are read
 * back from the dataset and run again for their summaries, but not written a second time.
 */
export async function processChunkJob(
  job: Job,
  token: string | undefined,
  context: ChunkJobContext,
): Promise<ChunkResult> {
  const startedAt = Date.now();
  let data: ChunkJob;
  try {
    data = parseJob(ChunkJobSchema, job.data, `episodes job ${job.id}`);
    if (data.dataset) checkSharedFolder(data.dataset.dir, data.dataset.token, 'the dataset folder');
  } catch (error) {
    throw new UnrecoverableError((error as Error).message);
  }
  const startedBefore = job.progress !== null && typeof job.progress === 'object';
  const written =
    startedBefore && data.dataset
      ? await seedsWritten(data.dataset.dir, data.collectionId)
      : new Set<number>();
  // Said before any episode is written: a worker that takes the job after this one knows to look.
  const progress: ChunkProgress = { done: 0, successes: 0 };
  await job.updateProgress({ ...progress });
  const rig = await context.rigs.take(data).catch((error: unknown) => {
    // A prior that does not load does not load on another worker either.
    throw error instanceof ArmpriorError ? new UnrecoverableError(error.message) : error;
  });
  const { env, controller } = rig;
  let dataset: DatasetWriter | undefined;
  let ended = false;
  try {
    dataset = data.dataset ? await openSimDataset(data.dataset.dir, env) : undefined;
    // The actor as docs/datasets.md names it, as `sim --record` writes it.
    const actor = data.prior ? priorActorName(data.prior.task, data.prior.version) : data.controller;
    const sink = dataset ? new DatasetSink(dataset, actor, data.collectionId) : undefined;
    const episodes: EpisodeSummary[] = [];
    let skipped = 0;
    for (let k = data.first; k < data.first + data.count; k++) {
      if (context.stopping()) {
        await job.moveToWait(token);
        throw new WaitingError();
      }
      const seed = data.seed + k;
      const already = written.has(seed);
      if (already) skipped++;
      const episode = await runEpisode(env, controller, seed, {
        index: k,
        sinks: sink && !already ? [sink] : [],
      });
      episodes.push(episode);
      progress.done++;
      if (episode.success) progress.successes++;
      // Progress is for people watching; the next episode's update replaces a lost one.
      job.updateProgress({ ...progress }).catch(() => {});
    }
    ended = true;
    return { episodes, skipped, startedAt, finishedAt: Date.now() };
  } catch (error) {
    // Bad input (a prior that does not load, a dataset of another task) does not get better by trying again.
    if (error instanceof ArmpriorError && error.code !== 'disk_full')
      throw new UnrecoverableError(error.message);
    throw error;
  } finally {
    // Before the job ends: every episode it ran is on disk.
    await dataset?.close();
    if (ended) context.rigs.give(rig);
    else context.rigs.discard(rig);
  }
}

/** The seeds of the collection's episodes already in the dataset. */
async function seedsWritten(dir: string, collectionId: string): Promise<Set<number>> {
  const metas = await readEpisodeMetas(dir);
  return new Set(
    metas.filter((m) => m.collection === collectionId && m.seed !== undefined).map((m) => m.seed!),
  );
}

import { type Job, UnrecoverableError } from 'bullmq';
import { type SimReport, simReport } from '../episodes/sim-report.js';
import { type ChunkResult, ChunkResultSchema, CollectionJobSchema } from './collection-jobs.js';
import { parseJob } from './queue-jobs.js';

/** What a collection job returns: `armprior sim`'s report, and where the episodes were recorded. */
export interface CollectionJobResult {
  report: SimReport;
  dataset: string | undefined;
  /** Episodes a chunk found already written by a worker that had died, and did not write again. */
  skipped: number;
}

/**
 * The collection's own job, run once every chunk has ended: adds the chunks' episodes up into
 * the report `armprior sim` prints (its speed: from the first chunk's start to the last one's
 * end). Chunks that failed are named and the collection fails; the episodes of the others are
 * in the dataset.
 */
export async function processCollectionJob(job: Job): Promise<CollectionJobResult> {
  let data: ReturnType<typeof parseCollection>;
  try {
    data = parseCollection(job);
  } catch (error) {
    throw new UnrecoverableError((error as Error).message);
  }
  const failures = Object.entries(await job.getIgnoredChildrenFailures());
  if (failures.length > 0) {
    const lines = failures.map(([child, reason]) => `episodes from ${chunkStart(child)}: ${reason}`);
    throw new UnrecoverableError(
      `${failures.length} chunk${failures.length === 1 ? '' : 's'} of collection ${data.collectionId} failed${data.dataset ? ` (the others' episodes are in ${data.dataset.dir})` : ''}: ${lines.join('; ')}`,
    );
  }
  // Each value checked for the fields the report reads; the rest is the summary as the chunk made it.
  const chunks = Object.values(await job.getChildrenValues<unknown>()).map(
    (value) => ChunkResultSchema.parse(value) as unknown as ChunkResult,
  );
  const episodes = chunks.flatMap((c) => c.episodes);
  if (episodes.length !== data.episodes) {
    throw new UnrecoverableError(
      `collection ${data.collectionId}: its chunks ran ${episodes.length} episodes of ${data.episodes}`,
    );
  }
  const started = Math.min(...chunks.map((c) => c.startedAt));
  const finished = Math.max(...chunks.map((c) => c.finishedAt));
  return {
    report: simReport(
      {
        task: data.task,
        robot: data.robot,
        controller: data.controllerName,
        seed: data.seed,
        rewardType: data.rewardType,
      },
      episodes,
      Math.max(1e-3, (finished - started) / 1000),
    ),
    dataset: data.dataset?.dir,
    skipped: chunks.reduce((n, c) => n + c.skipped, 0),
  };
}

function parseCollection(job: Job) {
  return parseJob(CollectionJobSchema, job.data, `collection job ${job.id}`);
}

/** A child's key (`bull:episodes:<collection>.<first>`) as the first episode's number (1-based). */
function chunkStart(child: string): string {
  const first = Number(child.split('.').at(-1));
  return Number.isInteger(first) ? String(first + 1) : child;
}

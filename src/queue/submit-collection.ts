import { randomBytes } from 'node:crypto';
import { type FlowJob, FlowProducer } from 'bullmq';
import type { Redis } from 'ioredis';
import { CHUNK_QUEUE, type ChunkJob, COLLECTION_QUEUE, type CollectionJob } from './collection-jobs.js';
import { armpriorVersion } from './queue-jobs.js';
import { folderToken } from './shared-folders.js';

/** What `sim --queue` submits: the collection, but for the ids and the dataset marker the submission adds. */
export type CollectionSpec = Omit<CollectionJob, 'armprior' | 'collectionId' | 'dataset'> & {
  /** The dataset folder (absolute; opened once already, so it exists and fits the task). */
  datasetDir?: string;
  /** Episodes per chunk job. */
  chunk: number;
};

/** Tries of a chunk (a worker's crash, a lost connection); a kill is a stall, counted apart. */
const CHUNK_ATTEMPTS = 3;

/**
 * Queues a collection as a BullMQ flow: its episodes in chunks of `spec.chunk` consecutive ones,
 * each a child job, and the collection as the parent, which BullMQ hands to a worker once every
 * chunk has ended and which adds their episodes up into the report. Returns the collection's id.
 */
export async function submitCollection(
  connection: Redis,
  prefix: string,
  spec: CollectionSpec,
  now = new Date(),
): Promise<{ collectionId: string; chunks: number }> {
  const { chunk, datasetDir, ...about } = spec;
  const collectionId = `col-${now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15)}-${randomBytes(3).toString('hex')}`;
  const dataset = datasetDir ? { dir: datasetDir, token: folderToken(datasetDir) } : undefined;
  const collection: CollectionJob = {
    armprior: armpriorVersion(),
    collectionId,
    ...about,
    ...(dataset ? { dataset } : {}),
  };
  const { episodes, controllerName, rewardType, ...chunkFields } = collection;
  const children: FlowJob[] = [];
  for (let first = 0; first < episodes; first += chunk) {
    const job: ChunkJob = { ...chunkFields, first, count: Math.min(chunk, episodes - first) };
    children.push({
      name: 'chunk',
      queueName: CHUNK_QUEUE,
      data: job,
      opts: {
        jobId: `${collectionId}.${first}`,
        attempts: CHUNK_ATTEMPTS,
        backoff: { type: 'exponential', delay: 5000 },
        // A failed chunk must not leave the collection waiting for ever (BullMQ's default).
        ignoreDependencyOnFailure: true,
      },
    });
  }
  const flows = new FlowProducer({ connection, prefix });
  try {
    await flows.add({
      name: 'collection',
      queueName: COLLECTION_QUEUE,
      data: collection,
      opts: { jobId: collectionId },
      children,
    });
  } finally {
    await flows.close();
  }
  return { collectionId, chunks: children.length };
}

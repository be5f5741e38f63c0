import { FlowProducer } from 'bullmq';
import type { Redis } from 'ioredis';
import { BadInputError } from '../core/errors.js';
import type { CollectionJobResult } from './collection-job-processor.js';
import type { ChunkProgress } from './collection-jobs.js';
import { COLLECTION_QUEUE } from './collection-jobs.js';
import { type JobInState, readFlowSnapshot } from './flow-snapshot.js';

/** One chunk of a queued collection, as `sim status` shows it. */
export interface QueuedChunkStatus {
  first: number;
  count: number;
  /** BullMQ's state: waiting, active, delayed, completed, failed… */
  state: string;
  worker: string | undefined;
  done: number;
  successes: number;
  failedReason: string | undefined;
}

export interface QueuedCollectionStatus {
  collectionId: string;
  episodes: number;
  /** waiting-children while chunks remain, then waiting, active, completed or failed. */
  state: string;
  failedReason: string | undefined;
  result: CollectionJobResult | undefined;
  chunks: QueuedChunkStatus[];
}

/** The state of a queued collection and of each chunk, read from the queue. */
export async function collectionStatus(
  connection: Redis,
  prefix: string,
  collectionId: string,
): Promise<QueuedCollectionStatus> {
  const flows = new FlowProducer({ connection, prefix });
  try {
    const tree = await readFlowSnapshot(flows, { id: collectionId, queueName: COLLECTION_QUEUE, prefix });
    if (!tree) {
      throw new BadInputError(`the queue holds no collection ${collectionId} (under the prefix '${prefix}')`);
    }
    const chunks = tree.children.map(chunkStatus);
    chunks.sort((a, b) => a.first - b.first);
    return {
      collectionId,
      episodes: (tree.job.data as { episodes: number }).episodes,
      state: tree.state,
      failedReason: tree.job.failedReason || undefined,
      result: (tree.job.returnvalue as CollectionJobResult | null) ?? undefined,
      chunks,
    };
  } finally {
    await flows.close();
  }
}

function chunkStatus({ job, state }: JobInState): QueuedChunkStatus {
  const progress = (typeof job.progress === 'object' ? job.progress : {}) as Partial<ChunkProgress>;
  const data = job.data as { first: number; count: number };
  return {
    first: data.first,
    count: data.count,
    state,
    worker: job.processedBy,
    // A chunk given back starts again from its first episode (its written ones are skipped).
    done: state === 'completed' ? data.count : state === 'active' ? (progress.done ?? 0) : 0,
    successes: progress.successes ?? 0,
    failedReason: job.failedReason || undefined,
  };
}

/** Episodes done over all chunks, and how many of those succeeded. */
export function collectionProgress(status: QueuedCollectionStatus): { done: number; successes: number } {
  let done = 0;
  let successes = 0;
  for (const chunk of status.chunks) {
    done += chunk.done;
    if (chunk.state === 'completed' || chunk.state === 'active') successes += chunk.successes;
  }
  return { done, successes };
}

/** What `sim status` prints: the collection, then the chunks that are not simply waiting or done. */
export function collectionStatusLines(status: QueuedCollectionStatus): string[] {
  const { done, successes } = collectionProgress(status);
  const rate = done > 0 ? ` · success ${((100 * successes) / done).toFixed(0)}%` : '';
  const lines = [
    `collection ${status.collectionId}: ${describe(status)} · ${done}/${status.episodes} episodes${rate}`,
  ];
  for (const chunk of status.chunks) {
    if (chunk.state !== 'active' && chunk.state !== 'failed' && chunk.state !== 'delayed') continue;
    const range = `episodes ${chunk.first + 1}–${chunk.first + chunk.count}`;
    const detail =
      chunk.state === 'failed'
        ? `failed: ${chunk.failedReason ?? 'no reason given'}`
        : chunk.state === 'active'
          ? `running on ${chunk.worker ?? 'a worker'}, ${chunk.done}/${chunk.count}`
          : 'waiting to be tried again';
    lines.push(`  ${range.padEnd(24)} ${detail}`);
  }
  return lines;
}

function describe(status: QueuedCollectionStatus): string {
  const chunks = status.chunks.length;
  const finished = status.chunks.filter((c) => c.state === 'completed').length;
  switch (status.state) {
    case 'completed':
      return 'finished';
    case 'failed':
      return `failed: ${status.failedReason ?? 'no reason given'}`;
    case 'waiting-children':
      return `${finished} of ${chunks} chunks done, ${status.chunks.filter((c) => c.state === 'active').length} running`;
    default:
      return `adding up (${status.state})`;
  }
}

import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { ArmpriorError } from '../../core/errors.js';
import type { CollectionJobResult } from '../../queue/collection-job-processor.js';
import {
  collectionProgress,
  collectionStatus,
  collectionStatusLines,
  type QueuedCollectionStatus,
} from '../../queue/collection-status.js';
import { redactUrl } from '../../queue/queue-connection.js';
import { type CollectionSpec, submitCollection } from '../../queue/submit-collection.js';
import { createProgress, type Progress } from '../progress.js';
import { reportText } from '../sim-report-text.js';
import { connectQueue, type QueueOptions } from './experiment-queue.js';

// `armprior sim … --queue`: the episodes as chunk jobs of a BullMQ flow, run by `armprior
// worker`s (issue #20), recorded into one dataset; and `armprior sim status <id>`.

/** How often `--wait` reads the queue. */
const POLL_MS = 1000;

export interface SimQueueOptions extends QueueOptions {
  json?: boolean;
}

/** Submits the collection; with --wait, follows it and prints `sim`'s report. */
export async function submitCollectionToQueue(spec: CollectionSpec, options: SimQueueOptions): Promise<void> {
  const { connection, url } = await connectQueue(options.queue);
  try {
    const { collectionId, chunks } = await submitCollection(connection, options.prefix, spec);
    const prefix = options.prefix === 'armprior' ? '' : ` --prefix ${options.prefix}`;
    // On stderr with --json, so stdout stays one JSON document.
    const say = options.json ? process.stderr : process.stdout;
    say.write(
      `collection ${collectionId}: ${spec.episodes} episodes in ${chunks} chunks queued on ${redactUrl(url)}\n` +
        `workers: armprior worker --queue <url> --runs <the queue's runs folder>${prefix}\n` +
        `watch:   armprior sim status ${collectionId} --queue <url>${prefix}\n`,
    );
    if (options.wait) await follow(connection, options, collectionId);
  } finally {
    connection.disconnect();
  }
}

/** Prints the state of a queued collection; with --wait, follows it to its report. */
export async function printCollectionStatus(collectionId: string, options: SimQueueOptions): Promise<void> {
  const { connection } = await connectQueue(options.queue);
  try {
    if (options.wait) await follow(connection, options, collectionId);
    else
      process.stdout.write(
        `${collectionStatusLines(await collectionStatus(connection, options.prefix, collectionId)).join('\n')}\n`,
      );
  } finally {
    connection.disconnect();
  }
}

/** A bar over the episodes until the collection job ends; then the report, or the failure. */
async function follow(connection: Redis, options: SimQueueOptions, collectionId: string): Promise<void> {
  let progress: Progress | undefined;
  let status: QueuedCollectionStatus;
  for (;;) {
    status = await collectionStatus(connection, options.prefix, collectionId);
    const { done, successes } = collectionProgress(status);
    if (!progress) {
      progress = createProgress(`collection ${collectionId}`, status.episodes);
      // Followed midway (sim status --wait): the rate counts what is done from now on.
      progress.continueFrom(done);
    }
    const running = status.chunks.filter((c) => c.state === 'active').length;
    const rate = done > 0 ? `success ${((100 * successes) / done).toFixed(0)}% · ` : '';
    progress.update(done, `${rate}${running} chunk${running === 1 ? '' : 's'} running`);
    if (status.state === 'completed' || status.state === 'failed') break;
    await sleep(POLL_MS);
  }
  progress.stop();
  if (status.state === 'failed') {
    throw new ArmpriorError(
      'collection_failed',
      `collection ${collectionId} failed: ${status.failedReason ?? 'no reason given'}`,
    );
  }
  printReport(status.result!, options.json === true);
}

function printReport(result: CollectionJobResult, json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(result.report, null, 2)}\n`);
    return;
  }
  const extra: string[] = [];
  if (result.dataset) extra.push(`dataset       ${result.dataset}`);
  if (result.skipped > 0)
    extra.push(
      `retried       ${result.skipped} episodes a stopped worker had written were not written again`,
    );
  process.stdout.write(reportText(result.report, ' · on the queue', extra));
}

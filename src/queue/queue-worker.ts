import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Job, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { TrainProgress } from '../rl/train/train-options.js';
import { processChunkJob } from './chunk-job-processor.js';
import { processCollectionJob } from './collection-job-processor.js';
import { CHUNK_QUEUE, COLLECTION_QUEUE } from './collection-jobs.js';
import { EpisodeRigs } from './episode-rigs.js';
import { processExperimentJob } from './experiment-job-processor.js';
import { EXPERIMENT_QUEUE, RUN_QUEUE } from './queue-jobs.js';
import { processRunJob } from './run-job-processor.js';
import { checkRunsFolder } from './shared-folders.js';

/** How often a stopping worker looks whether it still waits for anything but Redis. */
const STOP_POLL_MS = 500;
/** How long a stopping worker with jobs in hand waits for a Redis that is away. */
const REDIS_AWAY_GRACE_MS = 30_000;

export interface QueueWorkerOptions {
  connection: Redis;
  prefix: string;
  /** The worker's --runs, resolved. */
  runsRoot: string;
  /** Runs trained at once by this worker, and chunks of episodes run at once. */
  concurrency: number;
  /** How long a worker that stopped answering keeps its jobs before another takes them (s). */
  lockSec: number;
  /** Shown by `experiment status` as who trains a run. */
  name?: string;
  log: (line: string) => void;
  statusOf: (progress: TrainProgress) => string;
}

export interface RunningWorker {
  name: string;
  /**
   * Stops taking jobs; running ones stop after their round, checkpoint and go back to the queue.
   * False when Redis was away and the worker stopped without it: BullMQ's connections then go on
   * trying to reconnect (their timers keep a process alive), so the caller should end the process.
   */
  stop(): Promise<boolean>;
}

/**
 * A worker of the queue: trains run jobs (`concurrency` at once) and tabulates experiments whose
 * runs have all ended; runs chunks of collections' episodes and adds up the collections. BullMQ leases each job to one worker and renews the lease while it works;
 * a worker that dies stops renewing, and once the lease has run out (`lockSec`) another worker
 * takes the job and continues the run from its checkpoint. A stalled run is taken again however
 * often that happens (each time it loses only the steps since its last checkpoint), so the stall
 * limit is high; a run that fails is tried a few times (the job's attempts).
 */
export async function startQueueWorker(options: QueueWorkerOptions): Promise<RunningWorker> {
  const { connection, prefix, runsRoot, log } = options;
  await checkRunsFolder(connection, prefix, runsRoot, 'this worker');
  const name = options.name ?? `${hostname()}:${process.pid}`;
  let stopping = false;
  // Jobs in this process's hands: stop() waits for them, however long Redis is away.
  let active = 0;
  const counted =
    <A extends unknown[], R>(process: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      active++;
      try {
        return await process(...args);
      } finally {
        active--;
      }
    };
  const common = {
    connection,
    prefix,
    name,
    lockDuration: options.lockSec * 1000,
    stalledInterval: options.lockSec * 1000,
    maxStalledCount: 1000,
  };
  const runs = new Worker(
    RUN_QUEUE,
    // Three parameters: BullMQ gives the processor an abort signal only then.
    counted((job: Job, token?: string, signal?: AbortSignal) =>
      processRunJob(job, token, signal, {
        runsRoot,
        stopping: () => stopping,
        log,
        statusOf: options.statusOf,
      }),
    ),
    { ...common, concurrency: options.concurrency },
  );
  const experiments = new Worker(
    EXPERIMENT_QUEUE,
    counted((job: Job) => processExperimentJob(job, runsRoot)),
    {
      ...common,
      concurrency: 1,
    },
  );
  const rigs = new EpisodeRigs();
  const chunks = new Worker(
    CHUNK_QUEUE,
    counted((job: Job, token?: string) => processChunkJob(job, token, { stopping: () => stopping, rigs })),
    { ...common, concurrency: options.concurrency },
  );
  const collections = new Worker(
    COLLECTION_QUEUE,
    counted((job: Job) => processCollectionJob(job)),
    {
      ...common,
      concurrency: 1,
    },
  );
  const workers = [runs, experiments, chunks, collections];
  for (const worker of workers) {
    worker.on('failed', (job, error) => {
      if (job) log(`${job.name} ${job.id} failed: ${error.message}`);
    });
    // Connection errors repeat while Redis is away; the worker reconnects on its own.
    worker.on('error', () => {});
  }
  experiments.on('completed', (job) => log(`experiment ${job.id}: results written`));
  chunks.on('completed', (job) => {
    const { first, count } = job.data as { first: number; count: number };
    log(`${job.id}: episodes ${first + 1}–${first + count} done`);
  });
  collections.on('completed', (job) => log(`collection ${job.id}: done`));
  return {
    name,
    async stop() {
      stopping = true;
      // close() waits for the running jobs, which stop after their round and go back to the queue.
      const closed = Promise.all(workers.map((worker) => worker.close())).then(() => {
        rigs.close();
        return true;
      });
      // But BullMQ's close() also waits for Redis: with Redis away it would never return. Once no
      // job is left to wait for, there is nothing to give back: the worker stops without it. A job
      // in hand stops after its round with a checkpoint, then waits for Redis to give it back;
      // after a grace, the worker stops anyway: the job's lease runs out and another worker
      // continues it from that checkpoint (as after a kill).
      let awaySince: number | undefined;
      for (;;) {
        const done = await Promise.race([closed, sleep(STOP_POLL_MS).then(() => false)]);
        if (done) return true;
        if (connection.status === 'ready') {
          awaySince = undefined;
          continue;
        }
        awaySince ??= performance.now();
        const graceOver = performance.now() - awaySince > REDIS_AWAY_GRACE_MS;
        if (active === 0 || graceOver) {
          rigs.close();
          log(
            active === 0
              ? 'Redis does not answer: stopped without waiting for it'
              : `Redis does not answer: stopped with ${active} job(s) in hand, which another worker continues once their lease runs out`,
          );
          return false;
        }
      }
    },
  };
}

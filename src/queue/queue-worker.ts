import { hostname } from 'node:os';
import { type Job, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { TrainProgress } from '../rl/train/train-options.js';
import { processExperimentJob } from './experiment-job-processor.js';
import { EXPERIMENT_QUEUE, RUN_QUEUE } from './queue-jobs.js';
import { processRunJob } from './run-job-processor.js';
import { checkRunsFolder } from './shared-runs-folder.js';

export interface QueueWorkerOptions {
  connection: Redis;
  prefix: string;
  /** The worker's --runs, resolved. */
  runsRoot: string;
  /** Runs trained at once by this worker. */
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
  /** Stops taking jobs; running ones stop after their round, checkpoint and go back to the queue. */
  stop(): Promise<void>;
}

/**
 * A worker of the queue: trains run jobs (`concurrency` at once) and tabulates experiments whose
 * runs have all ended. BullMQ leases each job to one worker and renews the lease while it works;
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
    (job: Job, token?: string, signal?: AbortSignal) =>
      processRunJob(job, token, signal, {
        runsRoot,
        stopping: () => stopping,
        log,
        statusOf: options.statusOf,
      }),
    { ...common, concurrency: options.concurrency },
  );
  const experiments = new Worker(EXPERIMENT_QUEUE, (job: Job) => processExperimentJob(job, runsRoot), {
    ...common,
    concurrency: 1,
  });
  for (const worker of [runs, experiments]) {
    worker.on('failed', (job, error) => {
      if (job) log(`${job.name} ${job.id} failed: ${error.message}`);
    });
    // Connection errors repeat while Redis is away; the worker reconnects on its own.
    worker.on('error', () => {});
  }
  experiments.on('completed', (job) => log(`experiment ${job.id}: results written`));
  return {
    name,
    async stop() {
      stopping = true;
      // close() waits for the running jobs, which stop after their round and go back to the queue.
      await Promise.all([runs.close(), experiments.close()]);
    },
  };
}

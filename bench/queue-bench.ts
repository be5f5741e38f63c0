import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { FlowProducer, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { resolvePrior } from '../src/controllers/priors.js';
import { PriorStore } from '../src/controllers/store.js';
import { packageRoot } from '../src/core/paths.js';
import { CHUNK_QUEUE, COLLECTION_QUEUE } from '../src/queue/collection-jobs.js';
import { openQueueConnection } from '../src/queue/queue-connection.js';
import { EXPERIMENT_QUEUE, RUN_QUEUE } from '../src/queue/queue-jobs.js';
import { submitExperiment } from '../src/queue/submit-experiment.js';
import { runExperiment } from '../src/rl/experiment/experiment.js';
import { type CollectionBenchResult, runCollectionBench } from './collection-bench.js';
import { waitForFlow } from './flow-wait.js';

// `armprior bench queue`: what the queue adds to an experiment. The same experiment (Reach, TD3
// with small networks, `runs` seeds) is trained locally, one run after the other as `armprior
// experiment` does, and through the queue by `workers` worker processes started beforehand; the
// job timestamps BullMQ keeps give the overhead per run. Then the same workers record a
// collection of episodes (bench/collection-bench.ts): the overhead per collected episode.

export interface QueueBenchOptions {
  url: string;
  runs: number;
  steps: number;
  workers: number;
  /** Episodes of the collection part (0: none), in chunks of `chunk`. */
  episodes: number;
  chunk: number;
  onProgress?: (message: string) => void;
}

export interface QueueBenchResult {
  runs: number;
  steps: number;
  workers: number;
  /** Median, over the runs a worker was idle for, of the time from the job's creation to a worker starting it. */
  enqueueToStartMs: number;
  /** From the last run's end to a worker starting the experiment's job (the table's). */
  lastRunToExperimentMs: number;
  localSec: number;
  queuedSec: number;
  /** localSec ÷ queuedSec. */
  speedup: number;
  collection: CollectionBenchResult | undefined;
}

/** Small runs, so the bench measures the queue rather than the learner. */
const SMALL = {
  learningStarts: 200,
  evaluation: { everySteps: 1000, episodes: 5 },
  checkpoint: { everySteps: 1000, keep: 1 },
  td3: { hidden: [32, 32], batchSize: 64 },
};

export async function runQueueBench(options: QueueBenchOptions): Promise<QueueBenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'armprior-bench-queue-'));
  const prefix = `armprior-bench-${process.pid}-${Date.now()}`;
  const connection = await openQueueConnection(options.url);
  const workers: ChildProcess[] = [];
  try {
    const prior = resolvePrior(new PriorStore(join(dir, 'priors')), 'reach', 'bundled');
    const spec = (name: string) => ({
      tasks: ['reach'],
      methods: ['td3' as const],
      seeds: options.runs,
      steps: options.steps,
      baselineSteps: options.steps,
      overrides: SMALL,
      robot: 'panda',
      runsRoot: join(dir, name, 'runs'),
      outDir: join(dir, name, 'out'),
      threshold: 0.9,
    });

    options.onProgress?.(`${options.runs} runs of ${options.steps} steps, one after the other`);
    let started = performance.now();
    await runExperiment({ ...spec('local'), priorFor: () => prior, heldOutEpisodes: 0, heldOutSeed: 0 });
    const localSec = (performance.now() - started) / 1000;

    options.onProgress?.(`the same runs through the queue, ${options.workers} worker processes`);
    const queued = spec('queued');
    // Idle workers, so that the overhead measured is the queue's, not a process start.
    workers.push(...(await startWorkers(connection, options.url, queued.runsRoot, prefix, options.workers)));
    started = performance.now();
    const { experimentId } = await submitExperiment(connection, prefix, {
      ...queued,
      methods: ['td3'],
      priors: { reach: prior },
      heldOut: { episodes: 0, seed: 0 },
    });
    const flows = new FlowProducer({ connection, prefix });
    try {
      await waitForFlow(connection, prefix, EXPERIMENT_QUEUE, experimentId, 'experiment');
      const queuedSec = (performance.now() - started) / 1000;
      const tree = await flows.getFlow({ id: experimentId, queueName: EXPERIMENT_QUEUE, prefix });
      const runs = (tree.children ?? []).map((c) => c.job).sort((a, b) => a.processedOn! - b.processedOn!);
      const firstWave = runs.slice(0, options.workers).map((job) => job.processedOn! - job.timestamp);
      const lastEnd = Math.max(...runs.map((job) => job.finishedOn!));
      let collection: CollectionBenchResult | undefined;
      if (options.episodes > 0) {
        options.onProgress?.(
          `${options.episodes} episodes of Reach's prior recorded here, then through the queue in chunks of ${options.chunk}`,
        );
        collection = await runCollectionBench(connection, prefix, dir, prior, {
          ...options,
          soloWorker: async (soloPrefix) => {
            const [solo] = await startWorkers(connection, options.url, join(dir, 'solo'), soloPrefix, 1);
            return async () => {
              await stopWorkers([solo!]);
              await removeQueues(connection, soloPrefix);
            };
          },
        });
      }
      return {
        runs: options.runs,
        steps: options.steps,
        workers: options.workers,
        enqueueToStartMs: median(firstWave),
        lastRunToExperimentMs: tree.job.processedOn! - lastEnd,
        localSec,
        queuedSec,
        speedup: localSec / queuedSec,
        collection,
      };
    } finally {
      await flows.close();
    }
  } finally {
    await stopWorkers(workers);
    await removeQueues(connection, prefix);
    connection.disconnect();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `n` worker processes on `prefix`, once they all wait for jobs. */
async function startWorkers(
  connection: Redis,
  url: string,
  runsRoot: string,
  prefix: string,
  n: number,
): Promise<ChildProcess[]> {
  const workers: ChildProcess[] = [];
  for (let w = 0; w < n; w++) {
    const args = ['worker', '--queue', url, '--runs', runsRoot, '--prefix', prefix];
    workers.push(
      spawn(process.execPath, [join(packageRoot(), 'bin', 'armprior.js'), ...args], { stdio: 'ignore' }),
    );
  }
  await waitForWorkers(connection, prefix, n);
  return workers;
}

async function stopWorkers(workers: ChildProcess[]): Promise<void> {
  for (const worker of workers) worker.kill('SIGINT');
  await Promise.all(workers.map((w) => (w.exitCode === null ? new Promise((r) => w.once('exit', r)) : null)));
}

/** Everything the bench left under `prefix` in Redis. */
async function removeQueues(connection: Redis, prefix: string): Promise<void> {
  for (const name of [RUN_QUEUE, EXPERIMENT_QUEUE, CHUNK_QUEUE, COLLECTION_QUEUE]) {
    const queue = new Queue(name, { connection, prefix });
    await queue.obliterate({ force: true });
    await queue.close();
  }
  await connection.del(`${prefix}:armprior:runs-folder`);
}

async function waitForWorkers(connection: Redis, prefix: string, n: number) {
  const queue = new Queue(RUN_QUEUE, { connection, prefix });
  try {
    for (let tries = 0; (await queue.getWorkersCount()) < n; tries++) {
      if (tries > 600) throw new Error(`${n} workers did not start within a minute`);
      await sleep(100);
    }
  } finally {
    await queue.close();
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { FlowProducer } from 'bullmq';
import type { Redis } from 'ioredis';
import { ArmEnv } from '../sim/env.js';
import { createPriorController, priorControllerName, type ResolvedPrior } from '../src/controllers/priors.js';
import { DatasetSink } from '../src/episodes/dataset/dataset-sink.js';
import { openSimDataset } from '../src/episodes/dataset/env-datasets.js';
import { runEpisode } from '../src/episodes/run-episode.js';
import { COLLECTION_QUEUE } from '../src/queue/collection-jobs.js';
import { submitCollection } from '../src/queue/submit-collection.js';

// The collection half of `armprior bench queue`: Reach's bundled prior recording `episodes`
// episodes into a dataset, here (as `armprior sim --record` does), then through the queue in
// chunks to one idle worker alone (its time less the local time, per episode, is what the queue
// costs an episode: taking jobs, setting up an env and the prior's sandbox in the worker, writing
// progress to Redis), then to the bench's N workers (the throughput).

export interface CollectionBenchResult {
  episodes: number;
  chunk: number;
  localSec: number;
  /** Through the queue to one worker alone. */
  soloSec: number;
  /** (soloSec − localSec) ÷ episodes. */
  overheadPerEpisodeMs: number;
  /** Through the queue to the N workers. */
  queuedSec: number;
  /** localSec ÷ queuedSec. */
  speedup: number;
}

export interface CollectionBenchOptions {
  episodes: number;
  chunk: number;
  /** Starts one idle worker on another prefix; the function it returns stops it. */
  soloWorker: (prefix: string) => Promise<() => Promise<void>>;
}

export async function runCollectionBench(
  connection: Redis,
  prefix: string,
  dir: string,
  prior: ResolvedPrior,
  options: CollectionBenchOptions,
): Promise<CollectionBenchResult> {
  const seed = 0;
  const started = performance.now();
  const env = await ArmEnv.create({ task: 'reach', robot: 'panda' });
  const controller = await createPriorController(env, prior);
  const rewardType = env.task.config.rewardType;
  try {
    const dataset = await openSimDataset(join(dir, 'local-demos'), env);
    const sink = new DatasetSink(dataset, controller.name);
    for (let k = 0; k < options.episodes; k++)
      await runEpisode(env, controller, seed + k, { index: k, sinks: [sink] });
    await dataset.close();
  } finally {
    controller.dispose();
    env.close();
  }
  const localSec = (performance.now() - started) / 1000;

  const collect = async (onPrefix: string, name: string) => {
    const started = performance.now();
    const { collectionId } = await submitCollection(connection, onPrefix, {
      task: 'reach',
      robot: 'panda',
      controller: 'prior:bundled',
      prior,
      seed,
      episodes: options.episodes,
      controllerName: priorControllerName(prior),
      rewardType,
      chunk: options.chunk,
      datasetDir: join(dir, name),
    });
    await finished(connection, onPrefix, collectionId);
    return (performance.now() - started) / 1000;
  };
  const soloPrefix = `${prefix}-solo`;
  const stopSolo = await options.soloWorker(soloPrefix);
  let soloSec: number;
  try {
    soloSec = await collect(soloPrefix, 'solo-demos');
  } finally {
    await stopSolo();
  }
  const queuedSec = await collect(prefix, 'queued-demos');
  return {
    episodes: options.episodes,
    chunk: options.chunk,
    localSec,
    soloSec,
    overheadPerEpisodeMs: ((soloSec - localSec) * 1000) / options.episodes,
    queuedSec,
    speedup: localSec / queuedSec,
  };
}

/** Waits for a collection's job to complete. */
async function finished(connection: Redis, prefix: string, collectionId: string): Promise<void> {
  const flows = new FlowProducer({ connection, prefix });
  try {
    for (;;) {
      const tree = await flows.getFlow({ id: collectionId, queueName: COLLECTION_QUEUE, prefix });
      const state = await tree.job.getState();
      if (state === 'failed') throw new Error(`the bench's collection failed: ${tree.job.failedReason}`);
      if (state === 'completed') return;
      await sleep(50);
    }
  } finally {
    await flows.close();
  }
}

import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { ArmEnv } from '../sim/env.js';
import { createPriorController, priorControllerName, type ResolvedPrior } from '../src/controllers/priors.js';
import { DatasetSink } from '../src/episodes/dataset/dataset-sink.js';
import { openSimDataset } from '../src/episodes/dataset/env-datasets.js';
import { runEpisode } from '../src/episodes/run-episode.js';
import { COLLECTION_QUEUE } from '../src/queue/collection-jobs.js';
import { submitCollection } from '../src/queue/submit-collection.js';
import { waitForFlow } from './flow-wait.js';

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
    await waitForFlow(connection, onPrefix, COLLECTION_QUEUE, collectionId, 'collection');
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

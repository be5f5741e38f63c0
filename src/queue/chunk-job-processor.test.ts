import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Job, UnrecoverableError } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { readEpisodeMetas } from '../episodes/dataset/reader.js';
import { processChunkJob } from './chunk-job-processor.js';
import type { ChunkJob, ChunkResult } from './collection-jobs.js';
import { EpisodeRigs } from './episode-rigs.js';
import { armpriorVersion } from './queue-jobs.js';
import { folderToken } from './shared-folders.js';

/** The part of a BullMQ job the processor uses: its data, and the progress it reports. */
function fakeJob(data: ChunkJob, progress: object | null = null) {
  const reported: object[] = [];
  const job = {
    id: `${data.collectionId}.${data.first}`,
    data,
    progress,
    updateProgress: async (value: object) => {
      reported.push(value);
    },
    moveToWait: async () => 0,
  };
  return { job: job as unknown as Job, reported };
}

function chunk(dir: string, first: number, count: number, more: Partial<ChunkJob> = {}): ChunkJob {
  return {
    armprior: armpriorVersion(),
    collectionId: 'col-test',
    task: 'reach',
    robot: 'panda',
    controller: 'random',
    seed: 100,
    dataset: { dir, token: folderToken(dir) },
    first,
    count,
    ...more,
  };
}

/** One worker's rigs: its chunks of one collection share an env and a controller, as a worker's do. */
const rigs = new EpisodeRigs();
const run = (job: Job) => processChunkJob(job, 'token', { stopping: () => false, rigs });
const seedsOf = async (dir: string) =>
  (await readEpisodeMetas(dir)).map((m) => m.seed).sort((a, b) => a! - b!);
/** What is compared between runs: the summaries, without the wall clock. */
const summaries = (result: ChunkResult) => result.episodes.map((e) => JSON.stringify(e));

describe('a chunk of a queued collection', () => {
  it('runs episodes first … first + count − 1 with seeds seed + k, each recorded once, tagged with the collection', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'armprior-chunk-'));
    const { job, reported } = fakeJob(chunk(dir, 2, 3));
    const result = await run(job);
    expect(result.episodes.map((e) => [e.index, e.seed])).toEqual([
      [2, 102],
      [3, 103],
      [4, 104],
    ]);
    expect(result.skipped).toBe(0);
    expect(await seedsOf(dir)).toEqual([102, 103, 104]);
    const metas = await readEpisodeMetas(dir);
    expect(metas.every((m) => m.collection === 'col-test' && m.actor === 'random')).toBe(true);
    // Progress is said before the first episode (a later worker knows to look), then per episode.
    expect(reported[0]).toEqual({ done: 0, successes: 0 });
    expect(reported.at(-1)).toMatchObject({ done: 3 });
  });

  it('taken again after a worker died in it: the seeds already written are run for their summaries, not written twice', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'armprior-chunk-'));
    // The whole chunk on a worker of its own (fresh env and controller).
    const whole = await processChunkJob(
      fakeJob(chunk(mkdtempSync(join(tmpdir(), 'armprior-chunk-')), 0, 4)).job,
      'token',
      { stopping: () => false, rigs: new EpisodeRigs() },
    );
    // The dying worker wrote the first two episodes of the chunk, and the job had reported progress.
    await run(fakeJob(chunk(dir, 0, 2)).job);
    // Another collection's episodes of the same seeds are not this chunk's.
    await run(fakeJob(chunk(dir, 2, 1, { collectionId: 'col-other' })).job);
    const retried = await run(fakeJob(chunk(dir, 0, 4), { done: 2, successes: 0 }).job);
    expect(retried.skipped).toBe(2);
    expect(summaries(retried)).toEqual(summaries(whole));
    expect(await seedsOf(dir)).toEqual([100, 101, 102, 102, 103]);
  });

  it('a dataset folder that is not the shared one, or a job of another version: the job fails for good, naming it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'armprior-chunk-'));
    const job = chunk(dir, 0, 1);
    writeFileSync(join(dir, '.armprior-queue'), 'another-token\n');
    const foreign = run(fakeJob(job).job);
    await expect(foreign).rejects.toBeInstanceOf(UnrecoverableError);
    await expect(foreign).rejects.toThrow(
      `the dataset folder ${dir} on this machine is not the folder the queue's workers share (.armprior-queue holds another token)`,
    );
    const old = run(fakeJob({ ...job, armprior: '0.0.1' }).job);
    await expect(old).rejects.toThrow(/was queued by armprior 0\.0\.1; this worker is armprior/);
  });
});

import { describe, expect, it } from 'vitest';
import type { ChunkJob } from './collection-jobs.js';
import { EpisodeRigs } from './episode-rigs.js';

const job = (collectionId: string): ChunkJob => ({
  armprior: '0',
  collectionId,
  task: 'reach',
  robot: 'panda',
  controller: 'random',
  seed: 0,
  first: 0,
  count: 1,
});

describe("a worker's episode rigs", () => {
  it('keeps the env and controller of a collection for its next chunk, and sets up anew for another', async () => {
    const rigs = new EpisodeRigs();
    const first = await rigs.take(job('col-a'));
    rigs.give(first);
    const again = await rigs.take(job('col-a'));
    expect(again).toBe(first);
    const other = await rigs.take(job('col-b'));
    expect(other.env).not.toBe(first.env);
    rigs.give(again);
    rigs.discard(other);
    // A rig given up after a failed chunk is not handed out again.
    const third = await rigs.take(job('col-b'));
    expect(third).not.toBe(other);
    rigs.give(third);
    rigs.close();
    const afterClose = await rigs.take(job('col-a'));
    expect(afterClose.env).not.toBe(first.env);
    rigs.discard(afterClose);
  });
});

import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArmEnv } from '../sim/env.js';
import { readDemonstrations } from '../src/episodes/dataset/env-datasets.js';
import { readEpisodeMetas } from '../src/episodes/dataset/reader.js';
import type { Episode } from '../src/episodes/episode.js';
import { usePatientSandbox } from './support/patient-sandbox.js';
import { startWorker, stopWorkers, until } from './support/queue-workers.js';
import { TestRedis } from './support/redis-server.js';
import { runCli } from './support/run-cli.js';

// `armprior sim … --queue`: episodes split over real worker processes into one dataset, against
// a real redis-server on 127.0.0.1 (issue #20).

// The episodes here and on the queue are compared one by one: no call may time out under load.
usePatientSandbox();

/** 24 episodes of Reach's bundled prior from seed 100, with `more` options. */
function simArgs(ws: string, ...more: string[]): string[] {
  return [
    'sim',
    '-t',
    'reach',
    '-c',
    'prior:bundled',
    '--priors',
    join(ws, 'priors'),
    '-n',
    '24',
    '-s',
    '100',
    ...more,
  ];
}

/** The collection id `sim --queue` printed. */
function collectionId(output: string): string {
  const id = /collection (col-[\w-]+):/.exec(output)?.[1];
  expect(id, output).toBeDefined();
  return id!;
}

const episodeFiles = (dataset: string) => {
  const dir = join(dataset, 'episodes');
  return existsSync(dir) ? readdirSync(dir).filter((n) => n.endsWith('.parquet')).length : 0;
};

/** A dataset's episodes by seed, as a learner reads them (checksums verified). */
async function episodesBySeed(dataset: string): Promise<Map<number, Episode>> {
  const env = await ArmEnv.create({ task: 'reach', robot: 'panda' });
  try {
    const { episodes } = await readDemonstrations(dataset, env);
    const seeds = (await readEpisodeMetas(dataset)).map((m) => m.seed!);
    return new Map(seeds.map((seed, i) => [seed, episodes[i]!]));
  } finally {
    env.close();
  }
}

/** An episode's columns, without its place in the dataset. */
const columns = (episode: Episode) => {
  const { index: _index, ...rest } = episode as Episode & { index?: number };
  return rest;
};

describe('collections on a job queue (BullMQ on a real redis-server)', () => {
  let redis: TestRedis;
  beforeAll(async () => {
    redis = await TestRedis.start();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('episodes over two workers, one killed mid-chunk, record what sim --record records here, none twice', async () => {
    const ws = mkdtempSync(join(tmpdir(), 'armprior-collect-'));
    const local = await runCli(simArgs(ws, '--record', join(ws, 'local'), '--json'));
    expect(local.code, local.stderr).toBe(0);
    const queue = ['--queue', redis.url, '--prefix', 'collect'];
    const dataset = join(ws, 'queued');
    const queued = await runCli(simArgs(ws, '--record', dataset, '--chunk', '12', ...queue));
    expect(queued.code, queued.stderr).toBe(0);
    expect(queued.stdout).toContain('24 episodes in 2 chunks queued');
    const id = collectionId(queued.stdout);
    const workerOptions = ['--prefix', 'collect', '--lock-timeout', '2'];
    // The first worker dies a few episodes into its chunk: they are on disk, the chunk is not done.
    const doomed = startWorker(redis, join(ws, 'runs'), 'doomed', workerOptions);
    await until(() => episodeFiles(dataset) >= 3, 120_000, 'the first episodes on disk');
    doomed.child.kill('SIGKILL');
    await doomed.exited;
    const writtenBeforeKill = episodeFiles(dataset);
    expect(writtenBeforeKill).toBeLessThan(12);
    const workers = ['a', 'b'].map((name) => startWorker(redis, join(ws, 'runs'), name, workerOptions));
    try {
      const followed = await runCli(['sim', 'status', id, '--wait', ...queue]);
      expect(followed.code, followed.stderr + workers.map((w) => w.log()).join('\n')).toBe(0);
      expect(followed.stdout).toContain(
        'reach · prior reach (bundled) controller · 24 episodes from seed 100 · on the queue',
      );
      expect(followed.stdout).toContain(`dataset       ${dataset}`);
      // The chunk the killed worker held was taken again; what it had written was not written again.
      expect(followed.stdout).toContain(
        `retried       ${writtenBeforeKill} episodes a stopped worker had written`,
      );
      const report = await runCli(['sim', 'status', id, '--wait', '--json', ...queue]);
      expect(JSON.parse(report.stdout).episodes).toEqual(JSON.parse(local.stdout).episodes);
      const status = await runCli(['sim', 'status', id, ...queue]);
      expect(status.stdout.trim()).toMatch(
        new RegExp(`^collection ${id}: finished · 24/24 episodes · success \\d+%$`),
      );
    } finally {
      await stopWorkers(workers);
    }
    expect(workers.some((w) => w.log().includes('.0: episodes 1–12 done'))).toBe(true);
    const here = await episodesBySeed(join(ws, 'local'));
    const there = await episodesBySeed(dataset);
    expect(episodeFiles(dataset)).toBe(24);
    // The actor as docs/datasets.md names it, here and on the queue.
    for (const recorded of [join(ws, 'local'), dataset]) {
      const actors = new Set((await readEpisodeMetas(recorded)).map((m) => m.actor));
      expect([...actors]).toEqual(['prior:reach:bundled']);
    }
    expect([...there.keys()].sort()).toEqual([...here.keys()].sort());
    for (const [seed, episode] of here)
      expect(columns(there.get(seed)!), `seed ${seed}`).toEqual(columns(episode));
  }, 600_000);

  it('a chunk made by another version fails with its message, the others complete, and the collection names it', async () => {
    const ws = mkdtempSync(join(tmpdir(), 'armprior-collect-'));
    const queue = ['--queue', redis.url, '--prefix', 'poison-col'];
    const dataset = join(ws, 'demos');
    const queued = await runCli(simArgs(ws, '--record', dataset, '--chunk', '12', ...queue));
    expect(queued.code, queued.stderr).toBe(0);
    const id = collectionId(queued.stdout);
    const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
    const chunks = new Queue('episodes', { connection, prefix: 'poison-col' });
    try {
      const second = (await chunks.getJob(`${id}.12`))!;
      await second.updateData({ ...second.data, armprior: '0.0.1' });
    } finally {
      await chunks.close();
      connection.disconnect();
    }
    const worker = startWorker(redis, join(ws, 'runs'), 'w', ['--prefix', 'poison-col']);
    try {
      const followed = await runCli(['sim', 'status', id, '--wait', ...queue]);
      expect(followed.code).toBe(2);
      expect(followed.stderr).toContain(
        `collection ${id} failed: 1 chunk of collection ${id} failed (the others' episodes are in ${dataset}): episodes from 13: episodes job ${id}.12 was queued by armprior 0.0.1`,
      );
    } finally {
      await stopWorkers([worker]);
    }
    expect(episodeFiles(dataset)).toBe(12);
  }, 300_000);

  it('bad input is refused before anything is queued: --replays, a dataset of another task', async () => {
    const ws = mkdtempSync(join(tmpdir(), 'armprior-collect-'));
    const queue = ['--queue', redis.url, '--prefix', 'refused'];
    const replays = await runCli(simArgs(ws, '--replays', join(ws, 'replays'), ...queue));
    expect(replays.code).toBe(2);
    expect(replays.stderr.trim()).toBe(
      'armprior: --replays writes scene replays on this machine: leave it out with --queue (record a dataset with --record)',
    );
    const push = await runCli(['sim', '-t', 'push', '-n', '1', '--record', join(ws, 'push-demos')]);
    expect(push.code, push.stderr).toBe(0);
    const mixed = await runCli(simArgs(ws, '--record', join(ws, 'push-demos'), ...queue));
    expect(mixed.code).toBe(2);
    expect(mixed.stderr).toContain('cannot append: the dataset holds other episodes');
    const nothing = await runCli(['sim', '-n', '1', ...queue]);
    expect(nothing.code).toBe(2);
    expect(nothing.stderr.trim()).toBe(
      "armprior: required option '-t, --task <name>' not specified; see armprior sim --help",
    );
    // Nothing reached the queue.
    const connection = new Redis(redis.url);
    try {
      expect(await connection.keys('refused:*')).toEqual([]);
    } finally {
      connection.disconnect();
    }
  }, 120_000);
});

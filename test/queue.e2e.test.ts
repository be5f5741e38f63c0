import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorker, stopWorkers, until } from './support/queue-workers.js';
import { TestRedis } from './support/redis-server.js';
import { runCli } from './support/run-cli.js';
import { metrics } from './support/run-metrics.js';

// `armprior experiment --queue` and `armprior worker` against a real redis-server on 127.0.0.1,
// with real worker processes (issue #20).

/** Small runs: 32×32 networks, a checkpoint every 500 steps. */
const SMALL = `learningStarts: 200
logEverySteps: 250
evaluation: { everySteps: 500, episodes: 5 }
checkpoint: { everySteps: 500, keep: 3 }
td3: { hidden: [32, 32], batchSize: 64 }
rlingua: { precollectEpisodes: 4, pretrainUpdates: 100 }
`;

/** `armprior experiment` on Reach with the small runs: `algos` × `seeds`, then `more` options. */
function experimentArgs(ws: string, algos: string, seeds: number, ...more: string[]): string[] {
  const args = ['experiment', '--tasks', 'reach', '--algos', algos, '--seeds', String(seeds)];
  return [...args, '--config', join(ws, 'small.yaml'), ...more];
}

function workspace(): string {
  const dir = mkdtempSync(join(tmpdir(), 'armprior-queue-'));
  writeFileSync(join(dir, 'small.yaml'), SMALL);
  return dir;
}

/** The CLI for commands that train or wait for training: up to 10 minutes. */
const slowCli = (args: string[]) => runCli(args, {}, undefined, undefined, 600_000);

/** The same experiment trained here, one run after the other, into l-out and l-runs. */
async function localExperiment(plan: string[], ws: string): Promise<void> {
  const local = await slowCli([...plan, '--out', join(ws, 'l-out'), '--runs', join(ws, 'l-runs')]);
  expect(local.code, local.stderr).toBe(0);
}

/** The experiment id `experiment --queue` printed. */
function experimentId(stdout: string): string {
  const id = /experiment (exp-[\w-]+):/.exec(stdout)?.[1];
  expect(id, stdout).toBeDefined();
  return id!;
}

type RunList = { runs: Record<string, { runDir: string; heldOut?: { successes: string } }> };
const runList = (out: string) => JSON.parse(readFileSync(join(out, 'runs.json'), 'utf8')) as RunList;

/** results.md without its wall-clock column (the last). */
function table(out: string): string[] {
  return readFileSync(join(out, 'results.md'), 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('|'))
    .map((line) => line.split('|').slice(0, -2).join('|'));
}

describe('experiments on a job queue (BullMQ on a real redis-server)', () => {
  let redis: TestRedis;
  beforeAll(async () => {
    redis = await TestRedis.start();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('an experiment of 6 runs over 3 workers writes what the local experiment writes, through a Redis restart', async () => {
    const ws = workspace();
    const plan = experimentArgs(ws, 'prior,td3,rlingua', 3, '--steps', '1000');
    plan.push('--baseline-steps', '1000', '--held-out', '20');
    plan.push('--prior', 'bundled', '--priors', join(ws, 'priors'));
    const queued = await runCli([
      ...plan,
      '--out',
      join(ws, 'q-out'),
      '--runs',
      join(ws, 'q-runs'),
      '--queue',
      redis.url,
    ]);
    expect(queued.code, queued.stderr).toBe(0);
    expect(queued.stdout).toContain('6 runs queued');
    const id = experimentId(queued.stdout);
    const workers = ['a', 'b', 'c'].map((name) => startWorker(redis, join(ws, 'q-runs'), name));
    try {
      // Redis goes away while runs train; the workers reconnect and nothing is lost.
      await until(() => workers.some((w) => w.log().includes(': done')), 180_000, 'a first run to finish');
      await redis.restart();
      const followed = await slowCli(['experiment', 'status', id, '--wait', '--queue', redis.url]);
      expect(followed.code, followed.stderr + workers.map((w) => w.log()).join('\n')).toBe(0);
      expect(followed.stdout).toContain('| reach | rlingua |');
      const status = await runCli(['experiment', 'status', id, '--queue', redis.url]);
      expect(status.stdout).toContain('finished (6 of 6 runs done)');
      // Each run names the worker that trained it; the three shared them.
      const trainedBy = new Set([...status.stdout.matchAll(/completed on (\w)/g)].map((m) => m[1]));
      expect(trainedBy.size).toBeGreaterThan(1);
    } finally {
      await stopWorkers(workers);
    }

    await localExperiment(plan, ws);
    const queuedRuns = runList(join(ws, 'q-out')).runs;
    const localRuns = runList(join(ws, 'l-out')).runs;
    expect(Object.keys(queuedRuns).sort()).toEqual(Object.keys(localRuns).sort());
    expect(Object.keys(queuedRuns)).toHaveLength(6);
    for (const [key, entry] of Object.entries(localRuns)) {
      expect(metrics(queuedRuns[key]!.runDir), key).toEqual(metrics(entry.runDir));
      expect(queuedRuns[key]!.heldOut, key).toEqual(entry.heldOut);
    }
    expect(table(join(ws, 'q-out'))).toEqual(table(join(ws, 'l-out')));
    expect(existsSync(join(ws, 'q-out', 'curves-reach.svg'))).toBe(true);
  }, 900_000);

  it('Ctrl-C on a worker gives its run back; a worker killed mid-run loses only time: the run ends with the same metrics', async () => {
    const ws = workspace();
    const plan = experimentArgs(ws, 'td3', 1, '--baseline-steps', '3000');
    plan.push('--held-out', '0');
    const queue = ['--queue', redis.url, '--prefix', 'killed'];
    const queued = await runCli([
      ...plan,
      '--out',
      join(ws, 'q-out'),
      '--runs',
      join(ws, 'q-runs'),
      ...queue,
    ]);
    expect(queued.code, queued.stderr).toBe(0);
    const id = experimentId(queued.stdout);
    const lock = ['--prefix', 'killed', '--lock-timeout', '3'];
    const checkpoints = () => {
      const runs = readdirSync(join(ws, 'q-runs')).filter((n) => n.startsWith('reach__'));
      const dir = runs[0] ? join(ws, 'q-runs', runs[0], 'checkpoints') : '';
      return dir && existsSync(dir) ? readdirSync(dir).filter((n) => n.startsWith('ckpt-')).length : 0;
    };
    // Ctrl-C: the run stops after its round with a checkpoint, and its job waits for another worker.
    const first = startWorker(redis, join(ws, 'q-runs'), 'first', lock);
    await until(() => first.log().includes('training'), 120_000, 'the first worker to start the run');
    first.child.kill('SIGINT');
    expect(await first.exited, first.log()).toBe(0);
    expect(first.log()).toMatch(/stopped at \d+ steps, checkpointed; back to the queue/);
    const waiting = await runCli(['experiment', 'status', id, ...queue]);
    expect(waiting.stdout).toMatch(/reach · td3 · seed 0\s+waiting/);
    // SIGKILL: the lease runs out and the next worker continues from the newest checkpoint.
    const second = startWorker(redis, join(ws, 'q-runs'), 'second', lock);
    const before = checkpoints();
    await until(() => checkpoints() > before, 180_000, 'a checkpoint by the second worker');
    second.child.kill('SIGKILL');
    await second.exited;
    const third = startWorker(redis, join(ws, 'q-runs'), 'third', lock);
    try {
      const followed = await slowCli(['experiment', 'status', id, '--wait', ...queue]);
      expect(followed.code, followed.stderr + third.log()).toBe(0);
      expect(second.log()).toContain('continuing');
      expect(third.log()).toContain('continuing');
    } finally {
      await stopWorkers([third]);
    }
    await localExperiment(plan, ws);
    const key = 'reach/td3/0';
    expect(metrics(runList(join(ws, 'q-out')).runs[key]!.runDir)).toEqual(
      metrics(runList(join(ws, 'l-out')).runs[key]!.runDir),
    );
  }, 900_000);

  it('a job whose config no longer validates, or made by another version, fails with its message; the rest complete', async () => {
    const ws = workspace();
    const plan = experimentArgs(ws, 'td3', 3, '--baseline-steps', '500', '--held-out', '0');
    plan.push('--out', join(ws, 'out'), '--runs', join(ws, 'runs'));
    const queued = await runCli([...plan, '--queue', redis.url, '--prefix', 'poison']);
    expect(queued.code, queued.stderr).toBe(0);
    const id = experimentId(queued.stdout);
    // Queued again while it is still queued: refused (its runs would be trained twice).
    const twice = await runCli([...plan, '--queue', redis.url, '--prefix', 'poison']);
    expect(twice.code).toBe(2);
    expect(twice.stderr.trim()).toBe(
      `armprior: ${join(ws, 'out')} is the folder of experiment ${id}, still training its runs: follow it with armprior experiment status ${id}, or give another --out`,
    );
    // Poison two of the runs in Redis before any worker takes them.
    const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
    const queue = new Queue('runs', { connection, prefix: 'poison' });
    try {
      const seed1 = (await queue.getJob(`${id}.reach.td3.1`))!;
      const config = seed1.data.config as { td3: Record<string, unknown> };
      await seed1.updateData({ ...seed1.data, config: { ...config, td3: { ...config.td3, batchSize: -1 } } });
      const seed2 = (await queue.getJob(`${id}.reach.td3.2`))!;
      await seed2.updateData({ ...seed2.data, armprior: '0.0.1' });
    } finally {
      await queue.close();
      connection.disconnect();
    }
    const worker = startWorker(redis, join(ws, 'runs'), 'w', ['--prefix', 'poison']);
    try {
      const followed = await slowCli([
        'experiment',
        'status',
        id,
        '--wait',
        '--queue',
        redis.url,
        '--prefix',
        'poison',
      ]);
      expect(followed.code).toBe(2);
      expect(followed.stderr).toContain(`experiment ${id} failed: 2 runs failed`);
      const status = await runCli(['experiment', 'status', id, '--queue', redis.url, '--prefix', 'poison']);
      expect(status.stdout).toMatch(/reach · td3 · seed 0\s+completed on w/);
      expect(status.stdout).toMatch(
        /seed 1\s+failed: reach · td3 · seed 1: its config no longer validates \(td3\.batchSize/,
      );
      expect(status.stdout).toMatch(
        /seed 2\s+failed: run job .* was queued by armprior 0\.0\.1; this worker is armprior/,
      );
      // The finished run is listed, so queueing the experiment again trains only the failed ones.
      expect(Object.keys(runList(join(ws, 'out')).runs)).toContain('reach/td3/0');
    } finally {
      await stopWorkers([worker]);
    }
  }, 600_000);

  it('an unreachable Redis, a wrong password and a worker on another runs folder: one clear line each, exit 2; Ctrl-C stops a worker whose Redis is gone', async () => {
    const ws = workspace();
    const plan = experimentArgs(
      ws,
      'td3',
      1,
      '--steps',
      '500',
      '--runs',
      join(ws, 'runs'),
      '--out',
      join(ws, 'out'),
    );
    const closed = await runCli([...plan, '--queue', 'redis://127.0.0.1:1']);
    expect(closed.code).toBe(2);
    expect(closed.stderr.trim()).toBe(
      'armprior: cannot use the queue at redis://127.0.0.1:1: nothing is listening there (is redis-server running?)',
    );
    const guarded = await TestRedis.start({ password: 'right-secret' });
    try {
      const wrong = await runCli([...plan, '--queue', `redis://:wrong-secret@127.0.0.1:${guarded.port}`]);
      expect(wrong.code).toBe(2);
      expect(wrong.stderr.trim()).toBe(
        `armprior: cannot use the queue at redis://:***@127.0.0.1:${guarded.port}: Redis refused the user name or password`,
      );
      const none = await runCli([...plan, '--queue'], {
        ARMPRIOR_QUEUE_URL: `redis://127.0.0.1:${guarded.port}`,
      });
      expect(none.code).toBe(2);
      expect(none.stderr).toContain('Redis wants a password');
      // The queue records its runs folder at the first submission; a worker elsewhere refuses.
      const ok = await runCli([...plan, '--queue', guarded.url]);
      expect(ok.code, ok.stderr).toBe(0);
      const elsewhere = await runCli(['worker', '--queue', guarded.url, '--runs', join(ws, 'other')]);
      expect(elsewhere.code).toBe(2);
      expect(elsewhere.stderr.trim()).toBe(
        `armprior: this worker uses ${join(ws, 'other')}, but the queue's run folders are at ${join(ws, 'runs')}: pass --runs ${join(ws, 'runs')} (a path every worker reaches), or use another --prefix`,
      );
      expect(elsewhere.stderr + wrong.stderr).not.toContain('secret');
      // Redis goes away under an idle worker: Ctrl-C still stops it, without waiting for Redis.
      const idle = startWorker(guarded, join(ws, 'runs'), 'idle', ['--prefix', 'idle']);
      await until(() => idle.log().includes('Ctrl-C stops it'), 60_000, 'the worker to start');
      await guarded.stop();
      idle.child.kill('SIGINT');
      expect(await idle.exited, idle.log()).toBe(0);
      expect(idle.log()).toContain('Redis does not answer: stopped without waiting for it');
    } finally {
      await guarded.stop();
    }
  }, 120_000);
});

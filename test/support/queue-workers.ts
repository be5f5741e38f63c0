import { type ChildProcess, spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TestRedis } from './redis-server.js';
import { cliBin } from './run-cli.js';

// Real `armprior worker` processes for the queue's tests (issue #20).

export interface StartedWorker {
  child: ChildProcess;
  log: () => string;
  exited: Promise<number | null>;
}

export function startWorker(
  redis: TestRedis,
  runs: string,
  name: string,
  extra: string[] = [],
): StartedWorker {
  const child = spawn(
    process.execPath,
    [cliBin, 'worker', '--queue', redis.url, '--runs', runs, '--name', name, ...extra],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  child.stdout!.on('data', (c: Buffer) => (log += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (log += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, log: () => log, exited };
}

export async function stopWorkers(workers: StartedWorker[]): Promise<void> {
  for (const w of workers) if (w.child.exitCode === null) w.child.kill('SIGINT');
  await Promise.all(workers.map((w) => w.exited));
}

/** Waits until `done()` holds, checking every 200 ms, for at most `ms`. */
export async function until(done: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!done()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

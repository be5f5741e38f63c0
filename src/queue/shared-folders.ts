import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { ArmpriorError } from '../core/errors.js';
import { writeFileAtomic } from '../rl/train/run-dir.js';

// The queue moves jobs, not files: run folders live under one path that every worker reaches (a
// shared filesystem). The first submission records that path in Redis and leaves a marker file
// with a random token in it; a worker checks both, so one whose --runs is another folder, or the
// same path on a machine where it is a different (unshared) folder, refuses before it trains.
// A queued collection's dataset folder gets the same kind of marker, its token in the jobs.

/** A worker's or a submission's runs folder is not the one the queue's workers share. */
export class RunsFolderError extends ArmpriorError {
  constructor(message: string) {
    super('queue_runs_folder', message);
  }
}

const MARKER_FILE = '.armprior-queue';

const markerToken = (dir: string): string | undefined => {
  const marker = join(dir, MARKER_FILE);
  return existsSync(marker) ? readFileSync(marker, 'utf8').trim() : undefined;
};

/** The token of the marker in `dir` (a dataset folder a collection writes to), left there now if it has none. */
export function folderToken(dir: string): string {
  const existing = markerToken(dir);
  if (existing) return existing;
  mkdirSync(dir, { recursive: true });
  const token = randomUUID();
  writeFileAtomic(join(dir, MARKER_FILE), `${token}\n`);
  return token;
}

/** That `dir` is, on this machine, the folder that holds `token`'s marker: the shared one. */
export function checkSharedFolder(dir: string, token: string, what: string): void {
  const found = markerToken(dir);
  if (found !== token) {
    throw new RunsFolderError(
      `${what} ${dir} on this machine is not the folder the queue's workers share (${MARKER_FILE} ${found === undefined ? 'is missing' : 'holds another token'}): mount the shared folder at that path`,
    );
  }
}

const metaKey = (prefix: string) => `${prefix}:armprior:runs-folder`;

/** On submission: the queue's runs folder is `runsRoot` (recorded now if the queue has none yet). */
export async function claimRunsFolder(connection: Redis, prefix: string, runsRoot: string): Promise<void> {
  const recorded = await connection.hgetall(metaKey(prefix));
  if (!recorded.path) {
    mkdirSync(runsRoot, { recursive: true });
    const token = randomUUID();
    writeFileAtomic(join(runsRoot, MARKER_FILE), `${token}\n`);
    // HSETNX: two first submissions at once agree on one token.
    await connection.hsetnx(metaKey(prefix), 'path', runsRoot);
    await connection.hsetnx(metaKey(prefix), 'token', token);
    const now = await connection.hgetall(metaKey(prefix));
    if (now.token !== token) writeFileAtomic(join(runsRoot, MARKER_FILE), `${now.token}\n`);
  }
  await checkRunsFolder(connection, prefix, runsRoot, 'this submission');
}

/**
 * That `runsRoot` is the queue's runs folder as this machine sees it: the same path, holding the
 * marker the first submission left. `who` names the checker in the message.
 */
export async function checkRunsFolder(
  connection: Redis,
  prefix: string,
  runsRoot: string,
  who: string,
): Promise<void> {
  const recorded = await connection.hgetall(metaKey(prefix));
  // Nothing submitted yet: any folder will do until the first experiment says which.
  if (!recorded.path) return;
  if (recorded.path !== runsRoot) {
    throw new RunsFolderError(
      `${who} uses ${runsRoot}, but the queue's run folders are at ${recorded.path}: pass --runs ${recorded.path} (a path every worker reaches), or use another --prefix`,
    );
  }
  checkSharedFolder(runsRoot, recorded.token ?? '', 'the runs folder');
}

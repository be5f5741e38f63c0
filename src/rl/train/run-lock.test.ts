import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REMOTE_STALE_MS, RunLock, RunLockedError, readRunLock, runStatus } from './run-lock.js';

const runDir = () => mkdtempSync(join(tmpdir(), 'armprior-lock-'));
const lockFile = (dir: string) => join(dir, 'run.lock');

/** The pid of a process that has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '']);
  return child.pid!;
}

/** How this process describes itself in a lock (host, and on Linux boot id, pid namespace, start). */
function ownHolder(): Record<string, unknown> {
  const dir = runDir();
  const lock = RunLock.acquire(dir, 'armprior train');
  const holder = JSON.parse(readFileSync(lockFile(dir), 'utf8'));
  lock.release();
  return holder;
}

/** A lock file as another process on this machine would have written it, with `fields` changed. */
function writeHolder(dir: string, fields: Record<string, unknown>): void {
  const { processStart: _start, ...machine } = ownHolder();
  writeFileSync(
    lockFile(dir),
    JSON.stringify({ ...machine, nonce: 'other', since: '2026-01-01T00:00:00.000Z', ...fields }),
  );
}

describe('run folder lock', () => {
  it('lets one holder in and refuses a second, naming the run and the holder', () => {
    const dir = runDir();
    const lock = RunLock.acquire(dir, 'armprior train');
    const holder = JSON.parse(readFileSync(lockFile(dir), 'utf8'));
    expect(holder).toMatchObject({ pid: process.pid, host: hostname(), command: 'armprior train' });
    let refused: unknown;
    try {
      RunLock.acquire(dir, 'armprior train --resume');
    } catch (error) {
      refused = error;
    }
    expect(refused).toBeInstanceOf(RunLockedError);
    expect((refused as RunLockedError).code).toBe('run_locked');
    expect((refused as Error).message).toBe(
      `${dir} is in use by another process (armprior train, pid ${process.pid} on ${hostname()}, since ${holder.since}): wait for it to end, or stop it first`,
    );
    expect(readRunLock(dir)).toMatchObject({ state: 'held', holder: { pid: process.pid } });
    lock.release();
    expect(existsSync(lockFile(dir))).toBe(false);
    RunLock.acquire(dir, 'armprior train').release();
  });

  it('takes over the lock of a process that is gone (killed, crashed)', () => {
    const dir = runDir();
    writeHolder(dir, { pid: deadPid() });
    expect(readRunLock(dir).state).toBe('stale');
    const lock = RunLock.acquire(dir, 'armprior train --resume');
    expect(JSON.parse(readFileSync(lockFile(dir), 'utf8')).pid).toBe(process.pid);
    lock.release();
  });

  it.skipIf(!existsSync('/proc/self/stat'))(
    'takes a lock whose pid now belongs to another process for stale (the pid was reused)',
    () => {
      const dir = runDir();
      writeHolder(dir, { processStart: '1' }); // this process's pid, another start time
      expect(readRunLock(dir).state).toBe('stale');
      const ours = RunLock.acquire(dir, 'armprior train');
      expect(readRunLock(dir).state).toBe('held');
      ours.release();
    },
  );

  it('judges a holder on another machine by its heartbeat', () => {
    const dir = runDir();
    writeHolder(dir, { host: 'elsewhere', pid: deadPid() });
    expect(readRunLock(dir).state).toBe('held'); // its pid means nothing here
    expect(() => RunLock.acquire(dir, 'armprior train')).toThrow(/pid \d+ on elsewhere/);
    const old = new Date(Date.now() - REMOTE_STALE_MS - 5000);
    utimesSync(lockFile(dir), old, old);
    expect(readRunLock(dir).state).toBe('stale');
    RunLock.acquire(dir, 'armprior train').release();
  });

  it('waits on a lock file being written, and takes one a crash left empty', () => {
    const dir = runDir();
    writeFileSync(lockFile(dir), '');
    expect(() => RunLock.acquire(dir, 'armprior train')).toThrow(/its lock file is being written/);
    const old = new Date(Date.now() - 60_000);
    utimesSync(lockFile(dir), old, old);
    RunLock.acquire(dir, 'armprior train').release();
  });

  it('releases only its own lock', () => {
    const dir = runDir();
    const lock = RunLock.acquire(dir, 'armprior train');
    writeHolder(dir, { nonce: 'someone-else' });
    lock.release();
    expect(JSON.parse(readFileSync(lockFile(dir), 'utf8')).nonce).toBe('someone-else');
  });
});

describe('run status for readers', () => {
  it('tells a live run from one whose process is gone', () => {
    const dir = runDir();
    expect(runStatus(dir, { status: 'running' })).toBe('interrupted'); // no lock: nobody trains it
    const lock = RunLock.acquire(dir, 'armprior train');
    expect(runStatus(dir, { status: 'running' })).toBe('running');
    lock.release();
    writeHolder(dir, { pid: deadPid() }); // what SIGKILL leaves
    expect(runStatus(dir, { status: 'running' })).toBe('interrupted');
    expect(runStatus(dir, { status: 'finished' })).toBe('finished');
    expect(runStatus(dir, { status: 'failed' })).toBe('failed');
  });
});

/**
 * One process at a time per run folder, and a way for readers to tell a live run from a dead
 * one (issue #17: two trainers on one folder both finished and wrote duplicate metrics; a run
 * killed with SIGKILL said `running` for ever).
 *
 * The lock is `<run>/run.lock`, created with O_EXCL and holding who took it: pid, host, and on
 * Linux the boot id, pid namespace and the process's start time (from /proc), which together
 * tell a live holder from a dead one whose pid was reused. A holder that is gone leaves a stale
 * lock, taken over by the next process; nothing needs cleaning by hand after a crash. A holder on
 * another machine (or in another pid namespace, e.g. a container) cannot be checked that way:
 * it touches the lock every {@link HEARTBEAT_MS}, and is taken for dead once the lock is older
 * than {@link REMOTE_STALE_MS}.
 *
 * Hand-written rather than proper-lockfile: that package judges staleness by mtime alone (a
 * run killed a second ago stays locked for its whole stale period, and a reader cannot tell a
 * dead run sooner) and records no holder to name in the refusal. Node has no flock().
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  linkSync,
  openSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  utimesSync,
  writeSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { asDiskFull } from '../../core/disk-full.js';
import { ArmpriorError } from '../../core/errors.js';
import type { RunInfo, RunStatus } from './run-dir.js';

/** How often a holder touches its lock (for readers on other machines). */
export const HEARTBEAT_MS = 10_000;
/** A lock held from another machine is stale once untouched this long. */
export const REMOTE_STALE_MS = 120_000;
/** A lock file still empty this long after its creation was left by a crash between create and write. */
const EMPTY_STALE_MS = 10_000;

const LOCK_FILE = 'run.lock';

const HolderSchema = z.object({
  pid: z.number().int().positive(),
  host: z.string(),
  /** Linux: /proc/sys/kernel/random/boot_id. */
  boot: z.string().optional(),
  /** Linux: the pid namespace (/proc/self/ns/pid), so pids are only compared within one. */
  pidNamespace: z.string().optional(),
  /** Linux: the process's start time in clock ticks since boot (/proc/<pid>/stat, field 22). */
  processStart: z.string().optional(),
  /** Unique per acquisition: a holder releases only its own lock. */
  nonce: z.string(),
  /** What holds it, for people: `armprior train`, `armprior experiment`… */
  command: z.string(),
  since: z.string(),
});

/** Who holds a run folder's lock (run.lock). */
export type RunLockHolder = z.infer<typeof HolderSchema>;

/** A run folder another live process holds: the message names the run and the holder. */
export class RunLockedError extends ArmpriorError {
  readonly runDir: string;
  readonly holder: RunLockHolder | undefined;
  constructor(runDir: string, holder: RunLockHolder | undefined) {
    super(
      'run_locked',
      `${runDir} is in use by another process (${describeHolder(holder)}): wait for it to end, or stop it first`,
    );
    this.runDir = runDir;
    this.holder = holder;
  }
}

function describeHolder(holder: RunLockHolder | undefined): string {
  if (!holder) return 'its lock file is being written';
  return `${holder.command}, pid ${holder.pid} on ${holder.host}, since ${holder.since}`;
}

/** What a reader finds in a run folder's lock. */
export type LockState =
  | { state: 'free' }
  | { state: 'held'; holder: RunLockHolder | undefined }
  | { state: 'stale'; holder: RunLockHolder | undefined };

/** This process, as a lock holder describes it. */
function self(command: string): RunLockHolder {
  const linux = linuxIdentity(process.pid);
  return {
    pid: process.pid,
    host: hostname(),
    ...linux,
    nonce: randomBytes(8).toString('hex'),
    command,
    since: new Date().toISOString(),
  };
}

/** Boot id, pid namespace and start time of `pid` (undefined fields off Linux or when unreadable). */
function linuxIdentity(pid: number): Pick<RunLockHolder, 'boot' | 'pidNamespace' | 'processStart'> {
  const read = (what: () => string) => {
    try {
      return what();
    } catch {
      return undefined; // not Linux, or no /proc: pid and host are all there is
    }
  };
  const boot = read(() => readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim());
  const pidNamespace = read(() => readlinkSync('/proc/self/ns/pid'));
  const processStart = read(() => startTimeOf(pid));
  return {
    ...(boot !== undefined ? { boot } : {}),
    ...(pidNamespace !== undefined ? { pidNamespace } : {}),
    ...(processStart !== undefined ? { processStart } : {}),
  };
}

/** Field 22 of /proc/<pid>/stat (after the command name, which may hold spaces and parentheses). */
function startTimeOf(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const start = fields[19]; // fields[0] is field 3 (state)
  if (start === undefined || !/^\d+$/.test(start)) throw new Error(`unexpected /proc/${pid}/stat`);
  return start;
}

/** Whether the process that wrote `holder` still runs, judged from this process. */
function holderAlive(holder: RunLockHolder, lockAgeMs: number): boolean {
  const here = linuxIdentity(process.pid);
  const comparable =
    holder.host === hostname() && holder.boot === here.boot && holder.pidNamespace === here.pidNamespace;
  if (!comparable) return lockAgeMs < REMOTE_STALE_MS;
  try {
    process.kill(holder.pid, 0);
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (holder.processStart === undefined) return true;
  try {
    return startTimeOf(holder.pid) === holder.processStart;
  } catch {
    return false; // it ended between the two checks
  }
}

/** The lock of `runDir` as a reader sees it: free, held by a live process, or left by a dead one. */
export function readRunLock(runDir: string): LockState {
  const { ino: _ino, ...state } = inspectLock(join(runDir, LOCK_FILE));
  return state;
}

/** {@link readRunLock}, with the lock file's inode: which file was judged. */
function inspectLock(file: string): LockState & { ino?: number } {
  let text: string;
  let ageMs: number;
  let ino: number;
  try {
    const stat = statSync(file);
    ageMs = Date.now() - stat.mtimeMs;
    ino = stat.ino;
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { state: 'free' };
    throw error;
  }
  let holder: RunLockHolder | undefined;
  try {
    holder = HolderSchema.parse(JSON.parse(text));
  } catch {
    // Created but not yet written (or cut short by a crash right then).
    return { state: ageMs < EMPTY_STALE_MS ? 'held' : 'stale', holder: undefined, ino };
  }
  return { state: holderAlive(holder, ageMs) ? 'held' : 'stale', holder, ino };
}

/**
 * Where a run stands, for anything that reads run.json (the viewer, reports): run.json's status,
 * except that a run it calls `running` whose lock no live process holds is `interrupted` (killed,
 * or its machine went down; `train --resume` continues it).
 */
export function runStatus(runDir: string, info: Pick<RunInfo, 'status'>): RunStatus {
  if (info.status !== 'running') return info.status;
  try {
    return readRunLock(runDir).state === 'held' ? 'running' : 'interrupted';
  } catch {
    return 'running'; // the lock cannot be read: say what run.json says
  }
}

/** A held run folder lock; {@link release} it when done (it is also released when the process exits). */
export class RunLock {
  private released = false;
  private readonly heartbeat: NodeJS.Timeout;
  private readonly onExit = () => this.release();

  private constructor(
    readonly runDir: string,
    readonly holder: RunLockHolder,
  ) {
    this.heartbeat = setInterval(() => this.touch(), HEARTBEAT_MS);
    this.heartbeat.unref();
    process.on('exit', this.onExit);
  }

  /**
   * Takes `runDir`'s lock for this process, taking over a stale one. Throws
   * {@link RunLockedError} naming the holder when a live process holds it.
   */
  static acquire(runDir: string, command: string): RunLock {
    const file = join(runDir, LOCK_FILE);
    const me = self(command);
    for (let attempt = 0; attempt < 5; attempt++) {
      if (tryCreate(file, me)) return new RunLock(runDir, me);
      const found = inspectLock(file);
      if (found.state === 'held') throw new RunLockedError(runDir, found.holder);
      if (found.state === 'stale') takeOverStale(file, found.ino);
    }
    // Only a lock that keeps appearing and going stale between our looks gets here.
    throw new RunLockedError(runDir, undefined);
  }

  /** Removes the lock if it is still this process's. Safe to call more than once. */
  release(): void {
    if (this.released) return;
    this.released = true;
    clearInterval(this.heartbeat);
    process.off('exit', this.onExit);
    const file = join(this.runDir, LOCK_FILE);
    try {
      const current = HolderSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
      if (current.nonce === this.holder.nonce) unlinkSync(file);
    } catch {
      // Gone or replaced (taken over as stale from another machine): not ours to remove.
    }
  }

  private touch(): void {
    const now = new Date();
    try {
      utimesSync(join(this.runDir, LOCK_FILE), now, now);
    } catch {
      // A heartbeat that cannot be written only makes remote readers think the run is dead sooner.
    }
  }
}

/** Creates the lock file with `holder` in it; false when one exists. */
function tryCreate(file: string, holder: RunLockHolder): boolean {
  let fd: number;
  try {
    fd = openSync(file, 'wx');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw asDiskFull(error, file);
  }
  try {
    const text = Buffer.from(`${JSON.stringify(holder, null, 2)}\n`);
    for (let done = 0; done < text.byteLength; ) done += writeSync(fd, text, done);
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    rmSync(file, { force: true });
    throw asDiskFull(error, file);
  }
  closeSync(fd);
  return true;
}

/**
 * Removes the stale lock file `staleIno`. Renamed aside first (of several processes taking it
 * over at once, one succeeds), then checked by inode: if the file moved is not the one judged
 * stale (another process took the lock over and locked in between), it is linked back (which,
 * unlike a rename, never replaces a lock a third process made meanwhile).
 */
function takeOverStale(file: string, staleIno: number | undefined): void {
  const aside = `${file}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    renameSync(file, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return; // someone else moved it
    throw error;
  }
  try {
    if (statSync(aside).ino !== staleIno) linkSync(aside, file);
  } catch {
    // EEXIST: a third process locked meanwhile; the next look decides who holds it.
  } finally {
    rmSync(aside, { force: true });
  }
}

import { randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { ArmpriorError } from './errors.js';

/**
 * An output path armprior cannot write: its folder does not exist or is not a folder, it is a
 * folder itself, permission denied, a read-only file system, a place such as /proc where files
 * cannot be created, no space left. Bad input (exit 2): one line naming the path (issue #17 §4:
 * `export --out /proc/nope.onnx` exited 1 with a stack).
 */
export class OutputPathError extends ArmpriorError {
  readonly path: string;
  constructor(path: string, reason: string, options?: { cause?: unknown }) {
    super('output_path', `cannot write ${path} (${reason})`, options);
    this.path = path;
  }
}

/** What an errno means for a path written to, in words. */
const REASONS: Readonly<Record<string, string>> = {
  ENOENT: 'ENOENT: no such file or folder',
  ENOTDIR: 'ENOTDIR: a part of the path is not a folder',
  EISDIR: 'EISDIR: it is a folder',
  EACCES: 'EACCES: permission denied',
  EPERM: 'EPERM: operation not permitted',
  EROFS: 'EROFS: read-only file system',
  EEXIST: 'EEXIST: a file is in the way',
  ENOSPC: 'ENOSPC: no space left on the device',
  EDQUOT: 'EDQUOT: disk quota exceeded',
  ENAMETOOLONG: 'ENAMETOOLONG: the name is too long',
  ELOOP: 'ELOOP: too many symbolic links',
};

/**
 * The {@link OutputPathError} for a failed write to `path`, when `cause` is a file-system error
 * about the place written to (not a bug: the user's path or machine); undefined otherwise.
 */
export function outputPathError(path: string, cause: unknown): OutputPathError | undefined {
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  const reason = code === undefined ? undefined : REASONS[code];
  return reason === undefined ? undefined : new OutputPathError(path, reason, { cause });
}

/**
 * Checks, before any work, that a file can be written at `file`: it is not a folder, its folder
 * exists (or, with `createFolder`, the nearest existing folder above it can hold new folders)
 * and a file can be created in it (a probe file is created and removed: permission bits do not
 * tell a read-only mount or /proc, and root passes every permission check).
 */
export function checkOutputFile(file: string, options: { createFolder?: boolean } = {}): void {
  if (isFolder(file)) throw new OutputPathError(file, REASONS.EISDIR!);
  const folder = dirname(file);
  if (options.createFolder) {
    probeFolder(file, nearestExisting(file, folder));
    return;
  }
  if (!existsSync(folder)) throw new OutputPathError(file, `its folder ${folder} does not exist`);
  probeFolder(file, folder);
}

/**
 * Checks, before any work, that the folder `dir` can be written into: it is a folder, or does not
 * exist yet and the nearest existing folder above it can hold new ones. Nothing is left behind.
 */
export function checkOutputDir(dir: string): void {
  probeFolder(dir, nearestExisting(dir, dir));
}

/**
 * Writes `data` to `file` atomically (a temporary file in the same folder, then a rename), with
 * `createFolder` making the folder first; a file-system failure about the path is an
 * {@link OutputPathError} and leaves no temporary file behind.
 */
export function writeOutputFile(
  file: string,
  data: string | Uint8Array,
  options: { createFolder?: boolean } = {},
): void {
  const temp = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    if (options.createFolder) mkdirSync(dirname(file), { recursive: true });
    const fd = openSync(temp, 'wx');
    try {
      writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, file);
  } catch (cause) {
    removeQuietly(temp);
    throw outputPathError(file, cause) ?? cause;
  }
}

function probeFolder(path: string, folder: string): void {
  if (!isFolder(folder)) throw new OutputPathError(path, `${folder} is not a folder`);
  const probe = join(folder, `.armprior-write-check-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    closeSync(openSync(probe, 'wx'));
  } catch (cause) {
    const error = outputPathError(path, cause);
    if (!error) throw cause;
    throw (cause as NodeJS.ErrnoException).code === 'ENOENT'
      ? new OutputPathError(path, `files cannot be created in ${folder}`, { cause })
      : error;
  }
  removeQuietly(probe);
}

/** `start` itself or the nearest of its parents that exists (`path` is for messages). */
function nearestExisting(path: string, start: string): string {
  let current = start;
  while (!existsSync(current)) {
    const parent = dirname(current);
    if (parent === current) throw new OutputPathError(path, `no folder above it exists`);
    current = parent;
  }
  return current;
}

function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function removeQuietly(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // never created, or already renamed away
  }
}

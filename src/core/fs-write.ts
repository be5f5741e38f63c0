import { rmSync, writeFileSync } from 'node:fs';
import { DiskFullError } from './errors.js';

/** errno codes of a full disk (ENOSPC) or a full quota (EDQUOT). */
const DISK_FULL_CODES = new Set(['ENOSPC', 'EDQUOT']);

/** Whether `error` is the file system saying there is no space left (disk or quota). */
export function isDiskFull(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return typeof code === 'string' && DISK_FULL_CODES.has(code);
}

/**
 * `error` as a {@link DiskFullError} naming `path` when it says the disk is full (issue #17: a
 * full disk is bad input from the environment, one clear line, not a stack trace); any other
 * error unchanged.
 */
export function diskFullOr(error: unknown, path: string): unknown {
  return isDiskFull(error) && !(error instanceof DiskFullError)
    ? new DiskFullError(path, { cause: error })
    : error;
}

/**
 * Writes a file this process has just named (a temporary or staging file nobody else reads),
 * removing what was written when the write fails, so a full disk leaves no partial file behind
 * and is reported as a {@link DiskFullError} naming `reportedPath` (default: `file`).
 */
export function writeFreshFile(file: string, content: string | Uint8Array, reportedPath = file): void {
  try {
    writeFileSync(file, content);
  } catch (error) {
    rmSync(file, { force: true });
    throw diskFullOr(error, reportedPath);
  }
}

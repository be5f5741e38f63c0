import { rmSync, writeFileSync } from 'node:fs';
import { DiskFullError } from './errors.js';

/**
 * A full disk is bad input from the environment (issue #17): one clear line naming the file
 * (exit 2), not a stack trace, and nothing half-written left behind. The places that write files
 * turn their errors through {@link asDiskFull}, or write through {@link writeFreshFile}.
 */

/** Error codes of a write that failed because the disk or the user's quota is full. */
const DISK_FULL_CODES = new Set(['ENOSPC', 'EDQUOT']);

/** Whether `error` is a failed write on a full disk (ENOSPC) or over the quota (EDQUOT). */
export function isDiskFull(error: unknown): boolean {
  if (error instanceof DiskFullError) return true;
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return typeof code === 'string' && DISK_FULL_CODES.has(code);
}

/**
 * What to throw for a failed write of `file`: a {@link DiskFullError} naming it when the disk is
 * full (the errno error as its cause), otherwise `error` itself (`throw asDiskFull(error, file)`).
 */
export function asDiskFull(error: unknown, file: string): unknown {
  if (error instanceof DiskFullError || !isDiskFull(error)) return error;
  return new DiskFullError(file, { cause: error });
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
    throw asDiskFull(error, reportedPath);
  }
}

import { DiskFullError } from './errors.js';

/** Error codes of a write that failed because the disk or the user's quota is full. */
const DISK_FULL_CODES = new Set(['ENOSPC', 'EDQUOT']);

/** Whether `error` is a failed write on a full disk (ENOSPC) or over the quota (EDQUOT). */
export function isDiskFull(error: unknown): boolean {
  return (
    error instanceof DiskFullError ||
    (error instanceof Error && DISK_FULL_CODES.has(String((error as NodeJS.ErrnoException).code)))
  );
}

/**
 * What to throw for a failed write of `file`: a {@link DiskFullError} naming it when the disk is
 * full (the errno error as its cause), otherwise `error` itself. Used at the boundaries that
 * write files (`throw asDiskFull(error, file)`), so a full disk reads as one clear line (exit 2)
 * instead of a stack (issue #17).
 */
export function asDiskFull(error: unknown, file: string): unknown {
  if (error instanceof DiskFullError || !isDiskFull(error)) return error;
  return new DiskFullError(file, { cause: error });
}

import { existsSync, realpathSync } from 'node:fs';
import { join, sep } from 'node:path';

/**
 * One path segment from a request (a task, a version, a run folder, a file): letters, digits,
 * `.`, `_`, `-`, not starting with a dot. That rules out `..`, separators, absolute paths, drive
 * letters, NUL and hidden files before the file system is touched.
 */
const SEGMENT = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}$/;

/** Whether `segment` may name something inside a data root. */
export function isSafeSegment(segment: string): boolean {
  return SEGMENT.test(segment);
}

/** A request path segment that is not a plain name (HTTP 400). */
export class UnsafePathError extends Error {
  constructor(readonly segment: string) {
    super(`'${segment}' is not a plain file or folder name`);
  }
}

/**
 * Resolves `segments` under `root` and returns the real path, or undefined when nothing is
 * there or the real path leaves the root (a symlink pointing out). Segments that are not plain
 * names throw {@link UnsafePathError}. Checking the realpath, not the joined string, is what
 * stops symlink escapes.
 */
export function resolveInside(root: string, ...segments: string[]): string | undefined {
  for (const segment of segments) if (!isSafeSegment(segment)) throw new UnsafePathError(segment);
  if (!existsSync(root)) return undefined;
  const joined = join(root, ...segments);
  if (!existsSync(joined)) return undefined;
  const realRoot = realpathSync(root);
  const real = realpathSync(joined);
  return real === realRoot || real.startsWith(realRoot + sep) ? real : undefined;
}

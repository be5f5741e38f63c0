import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The package's root folder (the one holding package.json). Code runs both from sources
 * (`src/…`, under vitest or tsx) and from the build (`dist/src/…`), so walk up instead of
 * hard-coding a depth.
 */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'config'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`armprior: cannot find the package root from ${import.meta.url}`);
    dir = parent;
  }
}

/** `config/<parts…>` inside the package. */
export function configPath(...parts: string[]): string {
  return join(packageRoot(), 'config', ...parts);
}

let version: string | undefined;
/** This armprior's version (package.json): queued jobs and the env protocol's hello carry it. */
export function armpriorVersion(): string {
  version ??= (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string })
    .version;
  return version;
}

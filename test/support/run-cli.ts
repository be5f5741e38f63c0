import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../../bin/armprior.js', import.meta.url));

/** What a CLI run printed and how it ended. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the real CLI (the build that `npm test` makes first) as a user would, with extra
 * environment variables and, optionally, text on standard input.
 */
export function runCli(
  args: readonly string[],
  env: Record<string, string> = {},
  input?: string,
  cwd?: string,
  /** Killed after this long (a run that never ends fails its test instead of hanging it). */
  timeoutMs = 300_000,
): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [bin, ...args],
      {
        timeout: timeoutMs,
        env: { ...process.env, ...env },
        maxBuffer: 16 * 2 ** 20,
        ...(cwd ? { cwd } : {}),
      },
      (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** The CLI's path, for tests that start it themselves (to kill it mid-run). */
export const cliBin = bin;

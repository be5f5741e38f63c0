/**
 * Starting a sandbox process: the command, its OS limit and its (empty) environment.
 */
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';
import { packageRoot } from '../../core/paths.js';

export type SandboxChild = ChildProcessByStdio<Writable, null, Readable>;

/**
 * Starts ./sandbox-process with `processMemoryLimitMb` as its RLIMIT_DATA, writing its answers
 * to the FIFO at `replyPath`. The limit is set by the shell that then becomes the sandbox
 * (exec): Node has no setrlimit, and a limit set before the process starts covers everything it
 * allocates. RLIMIT_DATA, not RLIMIT_AS: V8 reserves large address ranges it never touches.
 */
export function launchSandbox(processMemoryLimitMb: number, replyPath: string): SandboxChild {
  const { args, env } = sandboxEntry();
  return spawn(
    '/bin/sh',
    [
      '-c',
      'ulimit -d "$1" && shift && exec "$@"',
      'sh',
      String(processMemoryLimitMb * 1024),
      process.execPath,
      // No V8 background threads: nothing of the controller's can run between calls.
      '--single-threaded',
      // No WebAssembly: controllers have no use for it, and its memories and compiles were the
      // way around the isolate's limits.
      '--no-expose-wasm',
      ...args,
      replyPath,
    ],
    // Nothing of the host's environment (API keys among it) is handed to controller code's
    // process. Its own process group: Ctrl-C in a terminal goes to the host alone, which stops
    // in order (a training round, a robot's safe stop) while its priors keep answering.
    { stdio: ['pipe', 'ignore', 'pipe'], env, detached: true },
  );
}

/** The bundle of ./sandbox-process.ts this process starts, when running from sources. */
let sourceBundle: string | undefined;

/**
 * How to start ./sandbox-process: from the build, its `.js`. From sources (vitest, tsx), its
 * `.ts` bundled with esbuild (starting every sandbox through tsx's loader took seconds) into
 * node_modules/.cache, named by its content: processes running the same sources share it, and
 * isolated-vm, left out of the bundle, is found from there.
 */
function sandboxEntry(): { args: string[]; env: Record<string, string> } {
  if (!import.meta.url.endsWith('.ts')) {
    return { args: [fileURLToPath(new URL('./sandbox-process.js', import.meta.url))], env: {} };
  }
  if (sourceBundle === undefined) {
    const { outputFiles } = buildSync({
      entryPoints: [fileURLToPath(new URL('./sandbox-process.ts', import.meta.url))],
      bundle: true,
      platform: 'node',
      format: 'cjs',
      external: ['isolated-vm'],
      write: false,
      logLevel: 'silent',
    });
    const contents = outputFiles[0]!.contents;
    const dir = join(packageRoot(), 'node_modules', '.cache', 'armprior');
    const file = join(
      dir,
      `sandbox-process-${createHash('sha256').update(contents).digest('hex').slice(0, 16)}.cjs`,
    );
    if (!existsSync(file)) {
      mkdirSync(dir, { recursive: true });
      // Written aside, then renamed: a process starting it meanwhile never sees half a file.
      const partial = `${file}.${process.pid}.partial`;
      writeFileSync(partial, contents);
      renameSync(partial, file);
    }
    sourceBundle = file;
  }
  return { args: [sourceBundle], env: {} };
}

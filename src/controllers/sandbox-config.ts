import { z } from 'zod';
import { loadYamlConfig } from '../core/config-file.js';
import { configPath } from '../core/paths.js';

/** `config/sandbox.yaml`: limits of prior controllers. */
export const SandboxConfigSchema = z
  .object({
    /** V8 heap per controller (MiB; isolated-vm's minimum is 8). */
    memoryLimitMb: z.number().int().min(8).max(4096),
    /**
     * Data segment of each controller's sandbox process (MiB; RLIMIT_DATA, enforced by the OS):
     * typed arrays, WebAssembly memories and the isolate together. Node itself needs about 64.
     */
    processMemoryLimitMb: z.number().int().min(64).max(65_536),
    /** Longest one act() call may run (ms). */
    callTimeoutMs: z.number().positive().max(10_000),
    /** Longest the module's top level may run when loaded (ms). */
    loadTimeoutMs: z.number().positive().max(60_000),
    /** Failed calls after which the episode ends, with the reason recorded. */
    maxFailuresPerEpisode: z.number().int().min(1),
  })
  .strict();

export type SandboxConfig = z.output<typeof SandboxConfigSchema>;

/**
 * Reads the sandbox limits: the file ARMPRIOR_SANDBOX_CONFIG names, else the package's
 * config/sandbox.yaml. The call limit is wall clock, so a machine loaded enough to stall a call
 * past it changes the episode: a slow machine, or a test that compares episodes run at
 * different times, sets a longer `callTimeoutMs` this way for every command and worker at once.
 */
export function loadSandboxConfig(
  file = process.env.ARMPRIOR_SANDBOX_CONFIG || configPath('sandbox.yaml'),
): SandboxConfig {
  return loadYamlConfig(file, SandboxConfigSchema);
}

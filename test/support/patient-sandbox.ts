import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configPath } from '../../src/core/paths.js';

/**
 * For a test file that compares episodes of a prior run at different times or in different
 * processes: the sandbox's call limit (100 ms, wall clock) can be crossed on a loaded machine,
 * which ends an episode early in one run and not the other (CI of session 9: the first act() of
 * a fresh sandbox took over 200 ms). Gives this file's process, and every CLI and worker it
 * starts, the bundled limits with a 5 s call limit (ARMPRIOR_SANDBOX_CONFIG).
 */
export function usePatientSandbox(): void {
  const file = join(mkdtempSync(join(tmpdir(), 'armprior-sandbox-')), 'sandbox.yaml');
  const bundled = readFileSync(configPath('sandbox.yaml'), 'utf8');
  writeFileSync(file, bundled.replace(/^callTimeoutMs: \d+/m, 'callTimeoutMs: 5000'));
  process.env.ARMPRIOR_SANDBOX_CONFIG = file;
}

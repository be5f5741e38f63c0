import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadSandboxConfig } from './sandbox-config.js';

describe('the sandbox limits', () => {
  afterEach(() => {
    delete process.env.ARMPRIOR_SANDBOX_CONFIG;
  });

  it("are the package's config/sandbox.yaml, or the file ARMPRIOR_SANDBOX_CONFIG names, checked the same way", () => {
    expect(loadSandboxConfig().callTimeoutMs).toBe(100);
    const dir = mkdtempSync(join(tmpdir(), 'armprior-sandbox-'));
    const file = join(dir, 'sandbox.yaml');
    writeFileSync(
      file,
      'memoryLimitMb: 32\nprocessMemoryLimitMb: 256\ncallTimeoutMs: 2500\nloadTimeoutMs: 500\nmaxFailuresPerEpisode: 5\n',
    );
    process.env.ARMPRIOR_SANDBOX_CONFIG = file;
    expect(loadSandboxConfig().callTimeoutMs).toBe(2500);
    writeFileSync(file, 'memoryLimitMb: 32\ncallTimeoutMs: -1\n');
    expect(() => loadSandboxConfig()).toThrow(file);
  });
});

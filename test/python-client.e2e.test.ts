import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../src/core/paths.js';
import { cliBin, runCli } from './support/run-cli.js';

// The Python package's client (python/armprior_gym/client.py) against the real `armprior env
// serve`, run by Debian's python3 with the standard library only: the client needs nothing else.
// The Gymnasium layer, pyarrow and onnxruntime are tested in python-gym.e2e.test.ts.

const PYTHON = process.env.ARMPRIOR_PYTHON ?? '/usr/bin/python3';

describe("the Python package's client (issue #21)", () => {
  it('runs the episode armprior sim runs, reports a refused request, and a killed armprior as a crash', async () => {
    expect(existsSync(PYTHON), `the Python client's test needs python3 at ${PYTHON} (Debian's python3)`).toBe(
      true,
    );
    const root = packageRoot();
    const { stdout } = await promisify(execFile)(
      PYTHON,
      [join(root, 'python', 'tests', 'episode_vs_sim.py'), 'push', '7'],
      {
        env: {
          ...process.env,
          PYTHONPATH: join(root, 'python'),
          ARMPRIOR_COMMAND: `${process.execPath} ${cliBin}`,
        },
        timeout: 120_000,
      },
    );
    const python = JSON.parse(stdout) as {
      steps: number;
      return: number;
      success: boolean;
      refused: string;
      crashed: string;
    };
    const sim = JSON.parse(
      (await runCli(['sim', '-t', 'push', '-c', 'zero', '-n', '1', '-s', '7', '--json'])).stdout,
    );
    expect(python.steps).toBe(sim.episodes[0].length);
    expect(python.return).toBeCloseTo(sim.episodes[0].return, 9);
    expect(python.success).toBe(sim.episodes[0].success);
    expect(python.refused).toMatch(
      /step\(\) called before reset\(\) or after the episode ended|takes actions of 3 values/,
    );
    expect(python.crashed).toMatch(/^the armprior process ended \(exit code -9\) during 'reset'/);
  }, 180_000);
});

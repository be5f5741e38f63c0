import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { packageRoot } from '../../src/core/paths.js';

/**
 * A Python environment with Gymnasium, NumPy, pyarrow and onnxruntime for the tests of the
 * Python side (issue #21), made with Debian's python3 and installed with pip from a folder of
 * wheels, never from the network. CI's machines ship those wheels in /opt/pypi/files (no
 * Python registry is reachable there); ARMPRIOR_WHEELS names another folder.
 */
export const WHEELS = process.env.ARMPRIOR_WHEELS ?? '/opt/pypi/files';
const PYTHON = process.env.ARMPRIOR_PYTHON ?? '/usr/bin/python3';
/** Pinned: the versions the Python side was checked with. */
const REQUIREMENTS = ['gymnasium==1.3.0', 'numpy==2.4.6', 'pyarrow==25.0.1', 'onnxruntime==1.30.0'];
/** Kept between runs (under node_modules, so `npm ci` starts it anew); remade when the list changes. */
const ENV_DIR = join(packageRoot(), 'node_modules', '.cache', 'armprior-python-test-env');

/** Whether the tests can make the environment here: the interpreter and the wheels are there. */
export function pythonTestEnvPossible(): boolean {
  return existsSync(PYTHON) && existsSync(WHEELS);
}

/** The environment's python, made (about 30 s) or reused. */
export async function pythonTestEnv(): Promise<string> {
  const python = join(ENV_DIR, 'bin', 'python');
  const marker = join(ENV_DIR, 'installed.txt');
  const wanted = `${REQUIREMENTS.join('\n')}\n`;
  if (existsSync(marker) && readFileSync(marker, 'utf8') === wanted) return python;
  rmSync(ENV_DIR, { recursive: true, force: true });
  mkdirSync(join(ENV_DIR, '..'), { recursive: true });
  const run = promisify(execFile);
  await run(PYTHON, ['-m', 'venv', ENV_DIR]);
  await run(
    python,
    ['-m', 'pip', 'install', '--quiet', '--no-index', '--find-links', WHEELS, ...REQUIREMENTS],
    {
      timeout: 600_000,
    },
  );
  writeFileSync(marker, wanted);
  return python;
}

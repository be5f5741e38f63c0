import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * scripts/test-setup.sh, npm test's setup (issue #17 §5: on a fresh machine `npm test` failed the
 * browser test, whose chromium only .ci/run installed). Run with fake `id`, `sudo` and `apt-get`
 * on PATH: nothing is installed on this machine.
 */
const script = fileURLToPath(new URL('../scripts/test-setup.sh', import.meta.url));

interface Machine {
  uid: number;
  /** undefined: no sudo; true: passwordless; false: asks for a password. */
  sudo?: boolean;
  /** Whether apt-get exists. */
  apt?: boolean;
  /** Whether Debian's chromium is already there. */
  chromium?: boolean;
  /** Whether Debian's redis-server is already there (default: yes). */
  redis?: boolean;
  env?: Record<string, string>;
}

async function setup(
  machine: Machine,
): Promise<{ code: number; stderr: string; apt: string[]; chromium: string; redis?: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'armprior-setup-'));
  const bin = join(dir, 'bin');
  const chromium = join(dir, 'usr-bin-chromium');
  const redis = join(dir, 'usr-bin-redis-server');
  const log = join(dir, 'apt.log');
  const tool = (name: string, body: string) => {
    const file = join(bin, name);
    writeFileSync(file, `#!/bin/sh\n${body}\n`);
    chmodSync(file, 0o755);
  };
  writeFileSync(log, '');
  mkdirSync(bin);
  tool('id', `echo ${machine.uid}`);
  if (machine.sudo !== undefined) tool('sudo', machine.sudo ? '[ "$1" = -n ] && shift; exec "$@"' : 'exit 1');
  if (machine.apt !== false) {
    tool(
      'apt-get',
      `echo "$(id -u) $*" >> ${log}\ncase "$*" in *install*chromium*) printf '#!/bin/sh\\n' > ${chromium}; /bin/chmod +x ${chromium};; esac\ncase "$*" in *install*redis-server*) printf '#!/bin/sh\\n' > ${redis}; /bin/chmod +x ${redis};; esac`,
    );
  }
  tool('env', 'exec /usr/bin/env "$@"');
  tool('true', 'exit 0');
  if (machine.chromium) tool('../usr-bin-chromium', '');
  if (machine.redis !== false) tool('../usr-bin-redis-server', '');
  return new Promise((resolve) => {
    execFile(
      '/bin/sh',
      [script],
      {
        env: { PATH: bin, ARMPRIOR_DEBIAN_CHROMIUM: chromium, ARMPRIOR_DEBIAN_REDIS: redis, ...machine.env },
      },
      (error, _stdout, stderr) =>
        resolve({
          code: error ? Number(error.code) : 0,
          stderr,
          apt: readFileSync(log, 'utf8').trim().split('\n').filter(Boolean),
          chromium: existsSync(chromium) ? 'installed' : 'missing',
          ...(machine.redis === false ? { redis: existsSync(redis) ? 'installed' : 'missing' } : {}),
        }),
    );
  });
}

describe('npm test setup: Debian chromium for the browser test (issue #17 §5)', () => {
  it('does nothing when chromium is there', async () => {
    expect(await setup({ uid: 1000, chromium: true })).toEqual({
      code: 0,
      stderr: '',
      apt: [],
      chromium: 'installed',
    });
  });

  it('installs it with apt-get as root, or through passwordless sudo', async () => {
    const root = await setup({ uid: 0 });
    expect(root).toMatchObject({ code: 0, chromium: 'installed' });
    expect(root.apt).toEqual(['0 update -qq', '0 install -y -qq chromium']);
    expect(root.stderr).toMatch(/^npm test: installing Debian's chromium/);
    const sudo = await setup({ uid: 1000, sudo: true });
    expect(sudo).toMatchObject({ code: 0, chromium: 'installed' });
    expect(sudo.apt).toEqual(['1000 update -qq', '1000 install -y -qq chromium']);
  });

  it('stops with one line saying what to run when it cannot install', async () => {
    for (const machine of [{ uid: 1000 }, { uid: 1000, sudo: false }]) {
      const run = await setup(machine);
      expect(run).toEqual({
        code: 1,
        stderr:
          "npm test: the viewer's browser test needs Debian's chromium: run 'sudo apt-get install -y chromium', then npm test again\n",
        apt: [],
        chromium: 'missing',
      });
    }
    const noApt = await setup({ uid: 0, apt: false });
    expect(noApt.code).toBe(1);
    expect(noApt.stderr).toMatch(
      /^npm test: the viewer's browser test needs Chromium at .*: install it, or set ARMPRIOR_CHROMIUM/,
    );
    const named = await setup({ uid: 0, env: { ARMPRIOR_CHROMIUM: '/nonexistent/chrome' } });
    expect(named).toMatchObject({ code: 1, apt: [] });
    expect(named.stderr).toBe('npm test: ARMPRIOR_CHROMIUM=/nonexistent/chrome is not an executable file\n');
  });

  it('installs redis-server for the queue tests, with chromium in one apt-get when both are missing', async () => {
    const redisOnly = await setup({ uid: 0, chromium: true, redis: false });
    expect(redisOnly).toMatchObject({ code: 0, redis: 'installed' });
    expect(redisOnly.apt).toEqual(['0 update -qq', '0 install -y -qq redis-server']);
    expect(redisOnly.stderr).toMatch(/^npm test: installing Debian's redis-server for the queue's tests/);
    const both = await setup({ uid: 0, redis: false });
    expect(both).toMatchObject({ code: 0, chromium: 'installed', redis: 'installed' });
    expect(both.apt).toEqual(['0 update -qq', '0 install -y -qq chromium redis-server']);
    const cannot = await setup({ uid: 1000, redis: false });
    expect(cannot.stderr).toBe(
      "npm test: the viewer's browser test and the queue's tests need Debian's chromium redis-server: run 'sudo apt-get install -y chromium redis-server', then npm test again\n",
    );
  });

  it('is what npm test runs first, and .ci/run calls npm test', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    expect(pkg.scripts.pretest).toMatch(/^sh scripts\/test-setup\.sh && /);
    expect(readFileSync(new URL('../.ci/run', import.meta.url), 'utf8')).toMatch(/^npm test$/m);
  });
});

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Whether this machine lets an unprivileged process mount a size-limited tmpfs of its own
 * (`unshare -rm`, user namespaces): a real full disk for tests. Where it cannot, tests skip with
 * the reason given.
 */
export function tmpfsSupport(): { ok: true } | { ok: false; reason: string } {
  const page = spawnSync('getconf', ['PAGESIZE'], { encoding: 'utf8' });
  if (page.stdout?.trim() !== '4096')
    return { ok: false, reason: 'the tests size their tmpfs for 4 KiB pages' };
  const probe = mkdtempSync(join(tmpdir(), 'armprior-probe-'));
  const mounted = spawnSync(
    'unshare',
    ['-rm', 'sh', '-c', 'mount -t tmpfs -o size=64k tmpfs "$1"', 'sh', probe],
    {
      encoding: 'utf8',
    },
  );
  rmSync(probe, { recursive: true, force: true });
  if (mounted.error) return { ok: false, reason: `no unshare here (${mounted.error.message})` };
  if (mounted.status !== 0)
    return { ok: false, reason: `user namespaces cannot mount a tmpfs here: ${mounted.stderr.trim()}` };
  return { ok: true };
}

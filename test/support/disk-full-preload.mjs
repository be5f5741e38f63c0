/**
 * Preloaded into a CLI process (`node --import`, through NODE_OPTIONS) by tests: a disk that
 * fills up, without privileges (unlike a size-limited tmpfs). The first write to a file whose
 * path matches ARMPRIOR_TEST_DISK_FULL_FROM (a regular expression) writes half of its content and
 * fails with ENOSPC, as the kernel does when the disk fills mid-write; every write after it fails
 * too, at open. Tests only: the CLI itself has no such hook.
 */
import fs from 'node:fs';
import fsPromises from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';

const from = new RegExp(process.env.ARMPRIOR_TEST_DISK_FULL_FROM ?? '$^');
const { O_WRONLY, O_RDWR } = fs.constants;
const { openSync, writeFileSync, appendFileSync } = fs;
const { open } = fsPromises;
let full = false;

function enospc(path, syscall) {
  return Object.assign(new Error(`ENOSPC: no space left on device, ${syscall} '${path}'`), {
    code: 'ENOSPC',
    errno: -28,
    syscall,
    path: String(path),
  });
}

/** Whether this write of `path` finds the disk full (it is the one that fills it, or after). */
function fillsUp(path) {
  if (!full && !from.test(String(path))) return false;
  full = true;
  return true;
}

const writes = (flags) =>
  typeof flags === 'number' ? (flags & (O_WRONLY | O_RDWR)) !== 0 : /[wa+]/.test(flags);

fs.openSync = function openSyncOnAFillingDisk(path, flags = 'r', mode) {
  if (writes(flags) && fillsUp(path)) throw enospc(path, 'open');
  return openSync.call(this, path, flags, mode);
};
// Episode files (src/episodes/episode-folder.ts) are written through a promise FileHandle.
fsPromises.open = async function openOnAFillingDisk(path, flags = 'r', mode) {
  if (writes(flags) && fillsUp(path)) throw enospc(path, 'open');
  return open.call(this, path, flags, mode);
};
// Node 20 writes strings to a named file without going through openSync.
fs.writeFileSync = function writeFileSyncOnAFillingDisk(path, data, options) {
  if (typeof path !== 'number' && !full && fillsUp(path)) {
    const half =
      typeof data === 'string' ? data.slice(0, data.length >> 1) : data.subarray(0, data.length >> 1);
    writeFileSync.call(this, path, half, options);
    throw enospc(path, 'write');
  }
  if (typeof path !== 'number' && full) throw enospc(path, 'open');
  return writeFileSync.call(this, path, data, options);
};
fs.appendFileSync = function appendFileSyncOnAFillingDisk(path, ...rest) {
  if (typeof path !== 'number' && fillsUp(path)) throw enospc(path, 'open');
  return appendFileSync.call(this, path, ...rest);
};
// ES modules' `import { openSync } from 'node:fs'` see the patched functions too.
syncBuiltinESMExports();

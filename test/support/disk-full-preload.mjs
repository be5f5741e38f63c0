/**
 * Preloaded into a CLI process (`node --import`) by tests: a disk that fills up. The first file
 * opened for writing whose path matches ARMPRIOR_TEST_DISK_FULL_FROM (a regular expression)
 * fails with ENOSPC, and so does every file opened for writing after it, as on a full disk.
 * Works unprivileged on any machine, unlike a size-limited tmpfs.
 */
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';

const from = new RegExp(process.env.ARMPRIOR_TEST_DISK_FULL_FROM ?? '$^');
const { O_WRONLY, O_RDWR } = fs.constants;
const openSync = fs.openSync;

const { writeFileSync, appendFileSync } = fs;
let full = false;

/** Throws ENOSPC when the disk is full or `path` is the write that fills it. */
function fillUp(path, syscall) {
  if (!full && !from.test(String(path))) return;
  full = true;
  throw Object.assign(new Error(`ENOSPC: no space left on device, ${syscall} '${path}'`), {
    code: 'ENOSPC',
    errno: -28,
    syscall,
    path: String(path),
  });
}

fs.openSync = function openSyncOnAFillingDisk(path, flags = 'r', mode) {
  const writing = typeof flags === 'number' ? (flags & (O_WRONLY | O_RDWR)) !== 0 : /[wa+]/.test(flags);
  if (writing) fillUp(path, 'open');
  return openSync.call(this, path, flags, mode);
};
// Node 20 writes strings to a named file without going through openSync.
fs.writeFileSync = function writeFileSyncOnAFillingDisk(path, ...rest) {
  if (typeof path !== 'number') fillUp(path, 'open');
  return writeFileSync.call(this, path, ...rest);
};
fs.appendFileSync = function appendFileSyncOnAFillingDisk(path, ...rest) {
  if (typeof path !== 'number') fillUp(path, 'open');
  return appendFileSync.call(this, path, ...rest);
};
// ES modules' `import { openSync } from 'node:fs'` see the patched function too.
syncBuiltinESMExports();

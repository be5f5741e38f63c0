/**
 * A full disk for one CLI run, without privileges: loaded with `node --import` (NODE_OPTIONS),
 * it makes `fs.writeFileSync` to any path matching the regular expression in
 * `ARMPRIOR_TEST_DISK_FULL` write half of its content and then fail as the kernel does when the
 * disk is full (ENOSPC). `syncBuiltinESMExports` carries the patch to the `node:fs` named
 * imports of the ES modules loaded after it. Tests only: the CLI itself has no such hook.
 */
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';

const pattern = new RegExp(process.env.ARMPRIOR_TEST_DISK_FULL ?? '^$');
const writeFileSync = fs.writeFileSync;

fs.writeFileSync = function writeFileSyncOnAFullDisk(file, data, options) {
  if (typeof file === 'string' && pattern.test(file)) {
    const half =
      typeof data === 'string' ? data.slice(0, data.length >> 1) : data.subarray(0, data.length >> 1);
    writeFileSync.call(fs, file, half, options);
    const error = new Error(`ENOSPC: no space left on device, write`);
    Object.assign(error, { errno: -28, code: 'ENOSPC', syscall: 'write', path: file });
    throw error;
  }
  return writeFileSync.call(fs, file, data, options);
};
syncBuiltinESMExports();

/**
 * The integrity check of episode files (issue #17: one flipped byte at 84 of 202 offsets of a
 * file was read back with changed values). Every episode file has a SHA-256 of its bytes in
 * `checksums/<episode file>.sha256`, in `sha256sum` format with the path from the dataset folder
 * (`cd <dataset> && sha256sum -c checksums/*.sha256` checks a dataset by hand).
 *
 * One small file per episode rather than one manifest: episodes are published one at a time,
 * by any number of writers (src/episodes/episode-folder.ts), and a per-episode file is published
 * the same way, with no shared file to rewrite. The checksum is published first and claims the
 * index; a crash before the episode file follows leaves a checksum without a file, which
 * readers ignore. An episode file without a checksum was written before armprior kept them (or
 * by another tool): it is read, checked row by row as before, and reported as unverified.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DatasetError } from '../../core/errors.js';
import { EPISODES_DIR } from './schema.js';

/** The folder of the checksum files, beside `episodes/`. */
export const CHECKSUMS_DIR = 'checksums';

/** `episode-000012.parquet.sha256`. */
export function checksumFileName(episodeFileName: string): string {
  return `${episodeFileName}.sha256`;
}

/** The line of an episode file's checksum file: `<sha256>  episodes/<name>`. */
export function checksumLine(bytes: Uint8Array, episodeFileName: string): string {
  return `${sha256(bytes)}  ${EPISODES_DIR}/${episodeFileName}\n`;
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Checks the bytes of `episodes/<name>` of the dataset at `dir` against its checksum file.
 * Returns false when there is none (a file written before checksums: unverified); throws a
 * DatasetError (problem `corrupt`) naming the file when they differ or the checksum file is
 * damaged.
 */
export async function verifyEpisodeChecksum(dir: string, name: string, bytes: Uint8Array): Promise<boolean> {
  const file = join(dir, EPISODES_DIR, name);
  const checksumFile = join(dir, CHECKSUMS_DIR, checksumFileName(name));
  let text: string;
  try {
    text = await readFile(checksumFile, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
  const match = /^([0-9a-f]{64}) {2}(\S+)\n?$/.exec(text);
  if (!match || match[2] !== `${EPISODES_DIR}/${name}`) {
    throw new DatasetError(
      'dataset_invalid',
      'corrupt',
      file,
      `its checksum file ${checksumFile} is damaged (not "<sha256>  ${EPISODES_DIR}/${name}")`,
    );
  }
  if (sha256(bytes) !== match[1]) {
    throw new DatasetError(
      'dataset_invalid',
      'corrupt',
      file,
      `corrupted: its ${bytes.byteLength} bytes do not match the SHA-256 recorded when it was written (${checksumFile}). If another tool rewrote it on purpose (pyarrow keeps armprior's metadata), delete that checksum file: the episode is then read unverified`,
    );
  }
  return true;
}

/**
 * A folder of numbered episode files, for every episode format (Parquet datasets, the viewer's
 * scene replays): `episode-000123.<ext>` names, listing complete files apart from crash
 * leftovers in index order, and publishing a new file atomically (fsynced, never seen
 * half-written, never replacing another, even with several writers on one folder).
 */
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { link, mkdir, open, readdir, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { asDiskFull } from '../core/disk-full.js';

/** File name of episode `index` (six digits, more past 999999 so names still sort by length then text). */
export function episodeFileName(index: number, extension: string): string {
  return `episode-${String(index).padStart(6, '0')}.${extension}`;
}

const EPISODE_FILE = /^episode-(\d{6,})\.([a-z]+)$/;

/** The index in a complete episode file's name of that extension, or undefined for any other name. */
export function episodeIndexOf(fileName: string, extension: string): number | undefined {
  const match = EPISODE_FILE.exec(fileName);
  return match && match[2] === extension ? Number(match[1]) : undefined;
}

/** Temp files are dot-files in the same folder, so a listing never takes one for an episode. */
export function isTempFileName(fileName: string): boolean {
  return fileName.startsWith('.episode-') && fileName.endsWith('.tmp');
}

/** What an episodes folder holds. */
export interface EpisodeListing {
  /** Complete episode files, by increasing index. */
  episodes: { index: number; name: string }[];
  /** Temp files a crashed writer left (ignored by readers; safe to delete when no writer runs). */
  tempFiles: string[];
}

/** Lists `dir` (which must exist). Other files are left out: a folder may hold notes or plots. */
export async function listEpisodes(dir: string, extension: string): Promise<EpisodeListing> {
  return listingOf(await readdir(dir), extension);
}

/** {@link listEpisodes} for callers that cannot wait (the viewer's request handlers). */
export function listEpisodesSync(dir: string, extension: string): EpisodeListing {
  return listingOf(readdirSync(dir), extension);
}

function listingOf(names: readonly string[], extension: string): EpisodeListing {
  const episodes: EpisodeListing['episodes'] = [];
  const tempFiles: string[] = [];
  for (const name of names) {
    const index = episodeIndexOf(name, extension);
    if (index !== undefined) episodes.push({ index, name });
    else if (isTempFileName(name)) tempFiles.push(name);
  }
  episodes.sort((a, b) => a.index - b.index);
  tempFiles.sort();
  return { episodes, tempFiles };
}

/**
 * Publishes `bytes` as the episode after the highest index in `dir` (created if missing) and
 * returns its index and path. Another writer that takes that index first moves this one on to the
 * next. A full disk is a DiskFullError naming the file, with nothing half-written left.
 */
export async function publishNext(
  dir: string,
  extension: string,
  bytes: Uint8Array,
): Promise<{ index: number; path: string }> {
  try {
    await mkdir(dir, { recursive: true });
  } catch (error) {
    throw asDiskFull(error, dir);
  }
  let index = ((await listEpisodes(dir, extension)).episodes.at(-1)?.index ?? -1) + 1;
  for (;;) {
    const name = episodeFileName(index, extension);
    if (await publishFile(dir, name, bytes)) return { index, path: join(dir, name) };
    index++;
  }
}

/**
 * Writes `bytes` as `dir/name` if no such file exists; returns false (writing nothing) if one
 * does. The data goes to a temp dot-file in the same folder, is fsynced, then hard-linked to its
 * name: link, unlike rename, fails when the name is taken, so two writers appending to one
 * folder cannot overwrite each other's episodes. A crash leaves at most a temp file; a full disk
 * is a DiskFullError naming the file.
 */
export async function publishFile(dir: string, name: string, bytes: Uint8Array): Promise<boolean> {
  const temp = join(dir, `.${name}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
  const target = join(dir, name);
  try {
    const handle = await open(temp, 'wx');
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (error) {
    await unlink(temp).catch(() => {}); // nothing half-written stays behind
    throw asDiskFull(error, target);
  }
  try {
    const published = await linkOrRename(temp, target);
    if (published) await syncDirectory(dir);
    return published;
  } finally {
    await unlink(temp).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error; // renamed away: nothing left to remove
    });
  }
}

async function linkOrRename(temp: string, target: string): Promise<boolean> {
  try {
    await link(temp, target);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    // Filesystems without hard links (some network and FUSE mounts): check, then rename. The
    // window between the two is the only place two writers could still collide.
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS') throw error;
    const exists = await stat(target).then(
      () => true,
      (e: NodeJS.ErrnoException) => {
        if (e.code === 'ENOENT') return false;
        throw e;
      },
    );
    if (exists) return false;
    await rename(temp, target);
    return true;
  }
}

/** Makes the new name durable (POSIX: a rename or link is on disk once its folder is fsynced). */
async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } catch (error) {
    // Some platforms (Windows) cannot fsync a folder; the file itself is already synced there.
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL') throw error;
  } finally {
    await handle.close();
  }
}

/**
 * The episodes folder on disk: listing complete episode files apart from crash leftovers, and
 * publishing a new file so that it is never seen half-written and never replaces another.
 */
import { randomBytes } from 'node:crypto';
import { link, open, readdir, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { episodeIndexOf, isTempFileName } from './schema.js';

/** What an episodes folder holds. */
export interface EpisodeListing {
  /** Complete episode files, by increasing index. */
  episodes: { index: number; name: string }[];
  /** Temp files a crashed writer left (ignored by readers; safe to delete when no writer runs). */
  tempFiles: string[];
}

/** Lists `dir` (which must exist). Other files are left out: a folder may hold notes or plots. */
export async function listEpisodes(dir: string): Promise<EpisodeListing> {
  const names = await readdir(dir);
  const episodes: EpisodeListing['episodes'] = [];
  const tempFiles: string[] = [];
  for (const name of names) {
    const index = episodeIndexOf(name);
    if (index !== undefined) episodes.push({ index, name });
    else if (isTempFileName(name)) tempFiles.push(name);
  }
  episodes.sort((a, b) => a.index - b.index);
  tempFiles.sort();
  return { episodes, tempFiles };
}

/**
 * Writes `bytes` as `dir/name` if no such file exists; returns false (writing nothing) if one
 * does. The data goes to a temp dot-file in the same folder, is fsynced, then hard-linked to its
 * name: link, unlike rename, fails when the name is taken, so two writers appending to one
 * dataset cannot overwrite each other's episodes. A crash leaves at most a temp file.
 */
export async function publishFile(dir: string, name: string, bytes: Uint8Array): Promise<boolean> {
  const temp = join(dir, `.${name}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
  const handle = await open(temp, 'wx');
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
  const target = join(dir, name);
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

import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  episodeFileName,
  listEpisodes,
  listEpisodesSync,
  publishFile,
  publishNext,
} from './episode-folder.js';

const freshDir = () => mkdtempSync(join(tmpdir(), 'armprior-episode-folder-'));
const bytes = (text: string) => Buffer.from(text);

describe('the episode folder', () => {
  it('lists episode files of one extension by index (numerically), temp files apart, other files left out', async () => {
    const dir = freshDir();
    for (const name of [
      episodeFileName(1_000_000, 'json'),
      episodeFileName(999_999, 'json'),
      episodeFileName(2, 'json'),
      episodeFileName(3, 'parquet'),
      '.episode-000004.json.123-abcd.tmp',
      'notes.md',
      'episode-12.json', // too few digits: not an episode file
    ])
      writeFileSync(join(dir, name), '');
    const expected = {
      episodes: [
        { index: 2, name: 'episode-000002.json' },
        { index: 999_999, name: 'episode-999999.json' },
        { index: 1_000_000, name: 'episode-1000000.json' },
      ],
      tempFiles: ['.episode-000004.json.123-abcd.tmp'],
    };
    expect(await listEpisodes(dir, 'json')).toEqual(expected);
    expect(listEpisodesSync(dir, 'json')).toEqual(expected);
    expect((await listEpisodes(dir, 'parquet')).episodes).toEqual([
      { index: 3, name: 'episode-000003.parquet' },
    ]);
  });

  it('publishes after the highest index, never over an existing file, and leaves no temp file', async () => {
    const dir = join(freshDir(), 'made-on-demand');
    expect(await publishNext(dir, 'json', bytes('a'))).toEqual({
      index: 0,
      path: join(dir, 'episode-000000.json'),
    });
    writeFileSync(join(dir, episodeFileName(7, 'json')), 'kept');
    expect((await publishNext(dir, 'json', bytes('b'))).index).toBe(8);
    expect(await publishFile(dir, episodeFileName(7, 'json'), bytes('over'))).toBe(false);
    expect(readFileSync(join(dir, episodeFileName(7, 'json')), 'utf8')).toBe('kept');
    expect(readdirSync(dir).sort()).toEqual([
      'episode-000000.json',
      'episode-000007.json',
      'episode-000008.json',
    ]);
  });

  it('gives concurrent writers distinct files, each whole', async () => {
    const dir = freshDir();
    const written = await Promise.all(
      Array.from({ length: 8 }, (_, i) => publishNext(dir, 'json', bytes(`writer ${i}`))),
    );
    expect(new Set(written.map((w) => w.index)).size).toBe(8);
    const contents = written.map((w) => readFileSync(w.path, 'utf8')).sort();
    expect(contents).toEqual(Array.from({ length: 8 }, (_, i) => `writer ${i}`));
    expect((await listEpisodes(dir, 'json')).tempFiles).toEqual([]);
  });
});

/**
 * Reads a recorded dataset into replay-buffer episodes, refusing anything that would put wrong
 * data into a learner: a file that does not match its checksum, is not whole, a layout or task
 * other than the expected one, rows out of order, non-finite numbers. Every refusal is a
 * DatasetError naming the file.
 */
import { stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { DatasetError } from '../../core/errors.js';
import { INPUT_LIMITS, InputFileError, readInputFileAsync } from '../../core/input-file.js';
import type { Episode, RecordedEpisode } from '../episode.js';
import { listEpisodes } from '../episode-folder.js';
import { verifyEpisodeChecksum } from './checksums.js';
import { tableToEpisode } from './episode-table.js';
import { checkExpectation, type DatasetExpectation } from './expectation.js';
import { describeDifference, parseMetadata, transitionSizes } from './metadata.js';
import { decodeParquet, readParquetKeyValue } from './parquet-io.js';
import { type DatasetMeta, EPISODE_FILE_EXTENSION, EPISODES_DIR, type EpisodeMeta } from './schema.js';

/** What a file holds beyond the replay-buffer columns. */
export interface EpisodeDetails {
  file: string;
  meta: EpisodeMeta;
  /** length: 1 where the step was cut short. */
  truncated: Uint8Array;
  /** length: seconds since `meta.startedAt`. */
  timeSec: Float64Array;
  /** Robot recordings: length × action, the command sent after the safety filter. */
  sentAction?: Float64Array;
  /** Robot recordings: length, limits enforced per step. */
  safetyInterventions?: Int32Array;
}

export interface DatasetContents {
  meta: DatasetMeta;
  /** By increasing index, ready for `ReplayBuffer.addEpisode`. */
  episodes: Episode[];
  /** Same order as `episodes`. */
  details: EpisodeDetails[];
  /** Temp files a crashed writer left in the episodes folder (ignored; a caller may warn). */
  tempFiles: string[];
  /**
   * Episode files without a checksum (written before armprior kept them, or by another tool):
   * read and checked row by row, but a flipped byte in them cannot be told. A caller may warn.
   */
  unverified: string[];
}

/** Reads every episode of the dataset at `dir`, checked against `expected`. */
export async function readDataset(dir: string, expected: DatasetExpectation): Promise<DatasetContents> {
  const episodesDir = join(dir, EPISODES_DIR);
  const isDir = await stat(episodesDir).then(
    (s) => s.isDirectory(),
    (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return false;
      throw error;
    },
  );
  if (!isDir) {
    throw new DatasetError(
      'dataset_invalid',
      'missing',
      dir,
      `no dataset here: ${episodesDir} does not exist`,
    );
  }
  const { episodes: files, tempFiles } = await listEpisodes(episodesDir, EPISODE_FILE_EXTENSION);
  if (files.length === 0) {
    const leftovers = tempFiles.length > 0 ? ` (only ${tempFiles.length} unfinished temp file(s))` : '';
    throw new DatasetError('dataset_invalid', 'missing', dir, `no episodes in ${episodesDir}${leftovers}`);
  }
  let meta: DatasetMeta | undefined;
  let firstFile = '';
  const episodes: Episode[] = [];
  const details: EpisodeDetails[] = [];
  const unverified: string[] = [];
  for (const { index, name } of files) {
    const file = join(episodesDir, name);
    const read = await readEpisodeFile(file, index);
    if (!read.verified) unverified.push(file);
    if (!meta) {
      checkExpectation(read.dataset, expected, file);
      meta = read.dataset;
      firstFile = name;
    } else {
      const difference = describeDifference(read.dataset, meta, ['this file', firstFile]);
      if (difference) {
        throw new DatasetError(
          'dataset_invalid',
          'dataset_mismatch',
          file,
          `does not belong with ${firstFile}: ${difference}`,
        );
      }
    }
    const { truncated, timeSec, sentAction, safetyInterventions, ...episode } = read.record;
    episodes.push(episode);
    details.push({
      file,
      meta: read.episode,
      truncated,
      timeSec,
      ...(sentAction ? { sentAction } : {}),
      ...(safetyInterventions ? { safetyInterventions } : {}),
    });
  }
  return { meta: meta!, episodes, details, tempFiles, unverified };
}

/**
 * The bytes of one episode file, read through the bounded reader (a regular file of at most
 * {@link INPUT_LIMITS}.record bytes); anything else is a {@link DatasetError} naming the file.
 */
export async function readEpisodeBytes(file: string): Promise<Uint8Array> {
  try {
    return await readInputFileAsync(file, { maxBytes: INPUT_LIMITS.record, what: 'the episode file' });
  } catch (cause) {
    if (!(cause instanceof InputFileError)) throw cause;
    throw new DatasetError(
      'dataset_invalid',
      cause.problem === 'missing' ? 'missing' : 'io',
      file,
      cause.detail,
      {
        cause,
      },
    );
  }
}

/**
 * Reads and checks one episode file (`<dataset>/episodes/<name>`): its bytes against its
 * checksum first, so a damaged file never reaches the decoder, then its content. `index` is the
 * one its name gives (checked against the rows and metadata, so a renamed copy is noticed).
 * `verified` is false for a file without a checksum (written before them).
 */
export async function readEpisodeFile(
  file: string,
  index: number,
): Promise<{ dataset: DatasetMeta; episode: EpisodeMeta; record: RecordedEpisode; verified: boolean }> {
  const bytes = await readEpisodeBytes(file);
  const verified = await verifyEpisodeChecksum(dirname(dirname(file)), basename(file), bytes);
  const { table, keyValue } = decodeParquet(bytes, file);
  const { dataset, episode } = parseMetadata(keyValue, file);
  if (episode.index !== index) {
    throw new DatasetError(
      'dataset_invalid',
      'metadata',
      file,
      `metadata says episode ${episode.index}, the file name ${index}`,
    );
  }
  const record = tableToEpisode(table, index, transitionSizes(dataset), file);
  if (record.length !== episode.length) {
    throw new DatasetError(
      'dataset_invalid',
      'rows',
      file,
      `${record.length} rows, the metadata says ${episode.length} steps`,
    );
  }
  return { dataset, episode, record, verified };
}

/**
 * Every episode of the dataset at `dir`, checked against the layout its own first file declares
 * (for tools that take any dataset: `armprior dataset export`).
 */
export async function readWholeDataset(dir: string): Promise<DatasetContents> {
  const episodesDir = join(dir, EPISODES_DIR);
  const first = (await readDirEpisodes(dir)).at(0);
  if (!first) throw new DatasetError('dataset_invalid', 'missing', dir, `no episodes in ${episodesDir}`);
  const file = join(episodesDir, first.name);
  const { dataset } = parseMetadata(readParquetKeyValue(await readEpisodeBytes(file), file), file);
  return readDataset(dir, {
    task: dataset.task,
    observationFields: dataset.observationFields,
    goalSize: dataset.goalSize,
    actionSize: dataset.actionSize,
  });
}

async function readDirEpisodes(dir: string): Promise<{ index: number; name: string }[]> {
  const listing = await listEpisodes(join(dir, EPISODES_DIR), EPISODE_FILE_EXTENSION).catch(
    (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT' || error.code === 'ENOTDIR')
        throw new DatasetError(
          'dataset_invalid',
          'missing',
          dir,
          `no dataset here: ${join(dir, EPISODES_DIR)} does not exist`,
        );
      throw error;
    },
  );
  return listing.episodes;
}

/**
 * The metadata of every complete episode at `dir` (none when it has no episodes folder yet),
 * by increasing index, read from the files' footers alone: what a queued chunk of episodes
 * checks before it writes, so as not to write a seed twice.
 */
export async function readEpisodeMetas(dir: string): Promise<EpisodeMeta[]> {
  const episodesDir = join(dir, EPISODES_DIR);
  const listing = await listEpisodes(episodesDir, EPISODE_FILE_EXTENSION).catch(
    (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return { episodes: [] };
      throw error;
    },
  );
  const metas: EpisodeMeta[] = [];
  for (const { name } of listing.episodes) {
    const file = join(episodesDir, name);
    metas.push(parseMetadata(readParquetKeyValue(await readEpisodeBytes(file), file), file).episode);
  }
  return metas;
}

/**
 * Records episodes (demonstrations from a prior, policy rollouts, robot runs) as a dataset:
 * one Parquet file per episode, written when the episode ends, so a crash loses at most the
 * episode in progress. Appends to an existing dataset, never overwrites it.
 */
import { mkdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { DatasetError, messageOf } from '../../core/errors.js';
import { type Episode, EpisodeBuilder, type RecordedEpisode } from '../episode.js';
import { episodeFileName, listEpisodes, publishFile } from '../episode-folder.js';
import type { EndReason, Step, TransitionSizes } from '../step.js';
import { CHECKSUMS_DIR, checksumFileName, checksumLine } from './checksums.js';
import { episodeToTable } from './episode-table.js';
import { describeDifference, metadataEntries, parseMetadata, transitionSizes } from './metadata.js';
import { encodeParquet, readParquetKeyValue } from './parquet-io.js';
import { readEpisodeBytes } from './reader.js';
import {
  type DatasetMeta,
  type DatasetMetaInput,
  DatasetMetaSchema,
  EPISODE_FILE_EXTENSION,
  EPISODES_DIR,
  type EpisodeMeta,
  type EpisodeStart,
  EpisodeStartSchema,
  FORMAT_VERSION,
} from './schema.js';

export interface DatasetWriterOptions {
  /** Wall clock for `startedAt`/`createdAt` (injected so tests are reproducible). */
  now?: () => Date;
}

/** What {@link DatasetWriter.beginEpisode} takes. */
export type EpisodeStartInput = EpisodeStart & {
  /** Wall-clock start; default: the writer's clock at `beginEpisode`. */
  startedAt?: Date;
};

/** A written episode file. */
export interface WrittenEpisode {
  index: number;
  path: string;
  length: number;
}

/** The episode in progress: its steps are copied in as they come (callers reuse their arrays). */
interface OpenEpisode {
  start: EpisodeStart;
  startedAt: Date;
  steps: EpisodeBuilder;
  hasSentAction?: boolean;
  hasSafetyInterventions?: boolean;
}

/** Steps a robot recording's episode starts with room for (it grows as needed). */
const INITIAL_STEPS = 256;

export class DatasetWriter {
  readonly dir: string;
  readonly meta: DatasetMeta;
  readonly sizes: TransitionSizes;
  private readonly episodesDir: string;
  private readonly checksumsDir: string;
  private readonly now: () => Date;
  private nextIndex: number;
  private episode: OpenEpisode | undefined;
  private closed = false;
  /** Settles when every episode ended so far has been written (or has failed to be). */
  private publishing: Promise<void> = Promise.resolve();

  private constructor(dir: string, meta: DatasetMeta, nextIndex: number, now: () => Date) {
    this.dir = dir;
    this.meta = meta;
    this.sizes = transitionSizes(meta);
    this.episodesDir = join(dir, EPISODES_DIR);
    this.checksumsDir = join(dir, CHECKSUMS_DIR);
    this.nextIndex = nextIndex;
    this.now = now;
  }

  /**
   * Opens `dir` for writing, creating it if needed. An existing dataset is appended to after its
   * last episode; its metadata must match `meta` (same task, robot, source, layout, sizes).
   */
  static async open(dir: string, meta: DatasetMetaInput, options: DatasetWriterOptions = {}) {
    const parsed = DatasetMetaSchema.safeParse({
      formatVersion: FORMAT_VERSION,
      ...meta,
      observationFields: meta.observationFields.map((f) => ({ name: f.name, size: f.size })),
    });
    if (!parsed.success) {
      const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
      throw new DatasetError(
        'dataset_write',
        'metadata',
        dir,
        `invalid dataset metadata: ${problems.join('; ')}`,
      );
    }
    const episodesDir = join(dir, EPISODES_DIR);
    await mkdir(episodesDir, { recursive: true });
    await mkdir(join(dir, CHECKSUMS_DIR), { recursive: true });
    const { episodes } = await listEpisodes(episodesDir, EPISODE_FILE_EXTENSION);
    const last = episodes.at(-1);
    if (last) {
      const file = join(episodesDir, last.name);
      const existing = parseMetadata(readParquetKeyValue(await readEpisodeBytes(file), file), file).dataset;
      const difference = describeDifference(existing, parsed.data, ['existing', 'new']);
      if (difference) {
        throw new DatasetError(
          'dataset_write',
          'dataset_mismatch',
          dir,
          `cannot append: the dataset holds other episodes (${difference}); record into another folder`,
        );
      }
    }
    return new DatasetWriter(dir, parsed.data, last ? last.index + 1 : 0, options.now ?? (() => new Date()));
  }

  /** Starts recording an episode (the previous one must have ended). */
  beginEpisode(start: EpisodeStartInput): void {
    this.assertOpen();
    if (this.episode) this.misuse('beginEpisode: the previous episode has not ended (call endEpisode)');
    const { startedAt, ...rest } = start;
    const parsed = EpisodeStartSchema.safeParse(rest);
    if (!parsed.success) {
      this.misuse(
        `beginEpisode: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
      );
    }
    this.episode = {
      start: parsed.data,
      startedAt: startedAt ?? this.now(),
      steps: new EpisodeBuilder(this.sizes, INITIAL_STEPS),
    };
  }

  /** Adds the next step of the episode in progress; its vectors are checked and copied. */
  addStep(step: Step): void {
    this.assertOpen();
    const episode = this.episode;
    if (!episode) throw this.misuse('addStep outside an episode (call beginEpisode first)');
    const t = episode.steps.length;
    const { observation: o, goal: g, action: a } = this.sizes;
    const vector = (name: string, values: ArrayLike<number>, size: number) => {
      if (values.length !== size) this.badStep(t, `${name} has ${values.length} values, expected ${size}`);
      for (let i = 0; i < size; i++) {
        if (!Number.isFinite(values[i])) this.badStep(t, `${name}[${i}] is ${values[i]}`);
      }
      return values;
    };
    const timeSec = step.timeSec ?? t * this.meta.ctrlDtSec;
    if (!Number.isFinite(step.reward)) this.badStep(t, `reward is ${step.reward}`);
    if (!Number.isFinite(timeSec)) this.badStep(t, `timeSec is ${timeSec}`);
    const priorAction = step.priorAction == null ? null : vector('priorAction', step.priorAction, a);
    if (step.priorActed && !priorAction) this.badStep(t, 'priorActed is true but no priorAction was given');
    // A column is all or nothing within a file: every step of a robot recording has both.
    const hasSent = step.sentAction !== undefined;
    const hasInterventions = step.safetyInterventions !== undefined;
    if (t > 0 && (hasSent !== episode.hasSentAction || hasInterventions !== episode.hasSafetyInterventions)) {
      this.badStep(
        t,
        'sentAction and safetyInterventions must be given on every step of an episode or on none',
      );
    }
    episode.hasSentAction = hasSent;
    episode.hasSafetyInterventions = hasInterventions;
    const interventions = step.safetyInterventions;
    if (interventions !== undefined && !(Number.isInteger(interventions) && interventions >= 0)) {
      this.badStep(t, `safetyInterventions is ${interventions}, not a count`);
    }
    vector('observation', step.observation, o);
    vector('achievedGoal', step.achievedGoal, g);
    vector('desiredGoal', step.desiredGoal, g);
    vector('action', step.action, a);
    vector('nextObservation', step.nextObservation, o);
    vector('nextAchievedGoal', step.nextAchievedGoal, g);
    if (step.sentAction) vector('sentAction', step.sentAction, a);
    episode.steps.add({ ...step, priorAction, timeSec });
  }

  /**
   * Ends the episode in progress and writes its file under the next free index. An episode
   * with no steps writes nothing and returns null.
   *
   * The episode is taken synchronously, so the next one may begin before this promise settles
   * (a control loop does not wait for the disk); files are still published one at a time, in
   * the order their episodes ended, and {@link close} waits for all of them.
   */
  endEpisode({ reason }: { reason: EndReason }): Promise<WrittenEpisode | null> {
    this.assertOpen();
    const episode = this.episode;
    if (!episode) throw this.misuse('endEpisode outside an episode (call beginEpisode first)');
    this.episode = undefined;
    if (episode.steps.length === 0) return Promise.resolve(null);
    const record = episode.steps.take();
    const previous = this.publishing;
    const written = (async () => {
      await previous; // never rejects: see below
      try {
        return await this.publish(episode, record, reason);
      } catch (error) {
        throw new DatasetError(
          'dataset_write',
          'io',
          this.dir,
          `an episode of ${record.length} steps could not be written: ${messageOf(error)}`,
          { cause: error },
        );
      }
    })();
    // The chain only orders the writes; each caller gets its own episode's failure.
    this.publishing = written.then(
      () => undefined,
      () => undefined,
    );
    return written;
  }

  /**
   * Closes the writer once the episodes still being written are on disk. An episode still in
   * progress is dropped (end it with reason `aborted` first to keep it); the count of its steps
   * is returned so a caller can say so.
   */
  async close(): Promise<{ discardedSteps: number }> {
    const discardedSteps = this.discardEpisode();
    this.closed = true;
    await this.publishing;
    return { discardedSteps };
  }

  /** Drops the episode in progress without writing it; returns how many steps it had. */
  discardEpisode(): number {
    const steps = this.episode?.steps.length ?? 0;
    this.episode = undefined;
    return steps;
  }

  private async publish(
    episode: OpenEpisode,
    record: RecordedEpisode,
    reason: EndReason,
  ): Promise<WrittenEpisode> {
    for (;;) {
      const index = this.nextIndex;
      const meta: EpisodeMeta = {
        ...episode.start,
        index,
        length: record.length,
        endReason: reason,
        startedAt: episode.startedAt.toISOString(),
        createdAt: this.now().toISOString(),
      };
      const bytes = encodeParquet(
        episodeToTable(record, index, this.sizes),
        metadataEntries(this.meta, meta),
      );
      const name = episodeFileName(index, EPISODE_FILE_EXTENSION);
      // The checksum first (src/episodes/dataset/checksums.ts): it claims the index, and an episode file
      // never appears without it. Taken: another writer has this index.
      if (
        await publishFile(this.checksumsDir, checksumFileName(name), Buffer.from(checksumLine(bytes, name)))
      ) {
        let published = false;
        try {
          published = await publishFile(this.episodesDir, name, bytes);
        } finally {
          // Not published (a writer that keeps no checksums took the name, or the write failed):
          // the checksum describes no file of ours.
          if (!published) await unlink(join(this.checksumsDir, checksumFileName(name))).catch(() => {});
        }
        if (published) {
          this.nextIndex = index + 1;
          return { index, path: join(this.episodesDir, name), length: record.length };
        }
      }
      // Another writer took this index since we looked: continue after its newest episode.
      const { episodes } = await listEpisodes(this.episodesDir, EPISODE_FILE_EXTENSION);
      this.nextIndex = Math.max(index + 1, (episodes.at(-1)?.index ?? -1) + 1);
    }
  }

  private assertOpen(): void {
    if (this.closed) this.misuse('the writer is closed');
  }

  private misuse(message: string): never {
    throw new DatasetError('dataset_write', 'writer_state', this.dir, message);
  }

  private badStep(t: number, message: string): never {
    throw new DatasetError('dataset_write', 'bad_step', this.dir, `step ${t}: ${message}`);
  }
}

/** Options of {@link writeEpisodeData}. */
export interface WriteEpisodeDataOptions {
  start: EpisodeStartInput;
  /** Default: `terminated` when the last step is terminal, else `truncated` (a time limit). */
  reason?: EndReason;
}

/**
 * Writes one episode of columns in one call (e.g. a rollout collected by the learner). The
 * `truncated` column is set on the last step when the episode ended truncated; timestamps are
 * `step × ctrlDtSec`.
 */
export async function writeEpisodeData(
  writer: DatasetWriter,
  episode: Episode,
  options: WriteEpisodeDataOptions,
): Promise<WrittenEpisode | null> {
  const { observation: o, goal: g, action: a } = writer.sizes;
  const n = episode.length;
  const reason = options.reason ?? (episode.terminated[n - 1] ? 'terminated' : 'truncated');
  const slice = (values: Float64Array, size: number, t: number) => values.subarray(t * size, t * size + size);
  writer.beginEpisode(options.start);
  try {
    addSteps();
  } catch (error) {
    writer.discardEpisode(); // leave the writer usable: the bad episode is not half-kept
    throw error;
  }
  return writer.endEpisode({ reason });

  function addSteps(): void {
    for (let t = 0; t < n; t++) {
      writer.addStep({
        observation: slice(episode.observation, o, t),
        achievedGoal: slice(episode.achievedGoal, g, t),
        desiredGoal: slice(episode.desiredGoal, g, t),
        action: slice(episode.action, a, t),
        nextObservation: slice(episode.nextObservation, o, t),
        nextAchievedGoal: slice(episode.nextAchievedGoal, g, t),
        reward: episode.reward[t]!,
        terminated: episode.terminated[t] === 1,
        truncated: t === n - 1 && reason === 'truncated',
        priorActed: episode.priorActed[t] === 1,
        priorAction: episode.hasPriorAction[t] ? slice(episode.priorAction, a, t) : null,
      });
    }
  }
}

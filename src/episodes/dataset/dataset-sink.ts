import type { EpisodeSink } from '../sink.js';
import type { EpisodeBegin, EpisodeEnd, Step } from '../step.js';
import type { DatasetWriter, WrittenEpisode } from './writer.js';

/**
 * Writes the episodes handed to it into a Parquet dataset (one file per episode, docs/datasets.md)
 * through a {@link DatasetWriter}. `actor` names what chose the actions where the producer does
 * not (`EpisodeBegin.actor` wins).
 */
export class DatasetSink implements EpisodeSink {
  /** The last episode written (null: it had no steps). */
  lastWritten: WrittenEpisode | null | undefined;

  constructor(
    readonly writer: DatasetWriter,
    private readonly actor?: string,
    /** Tags every episode with the queued collection writing it. */
    private readonly collection?: string,
  ) {}

  begin(begin: EpisodeBegin): void {
    const actor = begin.actor ?? this.actor;
    if (actor === undefined) throw new Error('DatasetSink: no actor named for the episode');
    this.writer.beginEpisode({
      actor,
      ...(begin.seed !== undefined ? { seed: begin.seed } : {}),
      ...(begin.priorVersion !== undefined ? { priorVersion: begin.priorVersion } : {}),
      ...(this.collection !== undefined ? { collection: this.collection } : {}),
    });
  }

  step(step: Step): void {
    this.writer.addStep(step);
  }

  /** Resolves when the file is on disk; the writer still publishes files in the order episodes end. */
  async end(end: EpisodeEnd): Promise<void> {
    this.lastWritten = await this.writer.endEpisode(end);
  }
}

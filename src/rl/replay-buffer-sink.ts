import { type Episode, EpisodeBuilder } from '../episodes/episode.js';
import type { EpisodeSink } from '../episodes/sink.js';
import type { Step, TransitionSizes } from '../episodes/step.js';
import type { ReplayBuffer } from './replay-buffer.js';

/**
 * Collects one env's episode and stores it into a replay buffer when it ends: whole, because
 * HER relabels a transition with goals achieved later in its own episode.
 */
export class ReplayBufferSink implements EpisodeSink {
  private readonly builder: EpisodeBuilder;

  constructor(
    /** Where the next episodes go (RLingua's precollection fills the demonstration buffer). */
    public buffer: ReplayBuffer,
    sizes: TransitionSizes,
    maxEpisodeSteps: number,
    /** Runs on each stored episode (the observation normaliser's statistics). */
    private readonly afterStore?: (episode: Episode) => void,
  ) {
    this.builder = new EpisodeBuilder(sizes, maxEpisodeSteps);
  }

  begin(): void {
    this.builder.clear();
  }

  step(step: Step): void {
    this.builder.add(step);
  }

  end(): void {
    const episode = this.builder.take();
    this.buffer.addEpisode(episode);
    this.afterStore?.(episode);
  }
}

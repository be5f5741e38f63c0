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
  private dropPriorLabels = false;

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
    this.dropPriorLabels = false;
  }

  /**
   * The prior's answers on the steps it drove in this episode are not kept as imitation labels
   * (the episode failed: RLingua's filtered demonstrations). Its answers on the policy's steps
   * stay: there the prior is the expert correcting the policy, whatever the episode's outcome.
   */
  dropLabelsOfPriorSteps(): void {
    this.dropPriorLabels = true;
  }

  step(step: Step): void {
    this.builder.add(step);
  }

  end(): void {
    const episode = this.builder.take();
    if (this.dropPriorLabels) withoutPriorStepLabels(episode);
    this.buffer.addEpisode(episode);
    this.afterStore?.(episode);
  }
}

/** Clears the label of every step the prior drove (in place). */
function withoutPriorStepLabels(episode: Episode): void {
  const a = episode.priorAction.length / Math.max(1, episode.length);
  for (let t = 0; t < episode.length; t++) {
    if (episode.priorActed[t] !== 1) continue;
    episode.hasPriorAction[t] = 0;
    episode.priorAction.fill(0, t * a, (t + 1) * a);
  }
}

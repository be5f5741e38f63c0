import type { EpisodeBegin, EpisodeEnd, Step } from './step.js';

/**
 * Where episodes go: the replay buffer, a Parquet dataset, the viewer's scene replays, the
 * rollout critic. A producer calls `begin`, then `step` for every step, then `end`; `end` may
 * write to disk (the producer awaits it, or — a real-time loop — collects its failure later).
 */
export interface EpisodeSink {
  /** Steps must carry the scene's body poses (a simulation fills `Step.scene` only when asked). */
  readonly needsScenePoses?: boolean;
  begin(begin: EpisodeBegin): void;
  /** The step's arrays are the producer's: copy what is kept. */
  step(step: Step): void;
  end(end: EpisodeEnd): void | Promise<void>;
}

import type { Episode } from '../../episodes/episode.js';
import type { TransitionSizes } from '../../episodes/step.js';
import type { LearnerBatch } from '../learner.js';
import type { RunningNormalizer } from '../normalizer.js';
import type { Batch } from '../replay-buffer.js';

/**
 * Turns replay batches into what the networks take: rows of [observation, desired goal],
 * normalised (or passed through when normalisation is off), for the state before and after
 * each step. Arrays are allocated once and reused for every update.
 */
export class BatchBuilder {
  readonly out: LearnerBatch & { priorAction: Float32Array; hasPriorAction: Float32Array };
  private readonly raw: Float32Array;
  private readonly rawNext: Float32Array;

  constructor(
    private readonly sizes: TransitionSizes,
    private readonly batch: Batch,
    private readonly normalizer: RunningNormalizer | undefined,
    /** Whether rows with a HER-relabelled goal keep their imitation label (rlingua.imitateRelabeled). */
    private readonly imitateRelabeled = true,
  ) {
    const width = sizes.observation + sizes.goal;
    this.raw = new Float32Array(batch.size * width);
    this.rawNext = new Float32Array(batch.size * width);
    this.out = {
      size: batch.size,
      input: new Float32Array(batch.size * width),
      nextInput: new Float32Array(batch.size * width),
      action: batch.action,
      reward: batch.reward,
      notDone: batch.notDone,
      priorAction: batch.priorAction,
      hasPriorAction: batch.hasPriorAction,
    };
  }

  /** Fills `out` from the replay batch it was built over (call after sampling into it). */
  build(): LearnerBatch {
    const { observation: o, goal: g } = this.sizes;
    const width = o + g;
    const b = this.batch;
    for (let r = 0; r < b.size; r++) {
      this.raw.set(b.observation.subarray(r * o, r * o + o), r * width);
      this.raw.set(b.desiredGoal.subarray(r * g, r * g + g), r * width + o);
      this.rawNext.set(b.nextObservation.subarray(r * o, r * o + o), r * width);
      this.rawNext.set(b.desiredGoal.subarray(r * g, r * g + g), r * width + o);
    }
    if (!this.imitateRelabeled) {
      for (let r = 0; r < b.size; r++) if (b.relabeled[r] === 1) b.hasPriorAction[r] = 0;
    }
    if (this.normalizer) {
      this.normalizer.normalize(this.raw, b.size, this.out.input);
      this.normalizer.normalize(this.rawNext, b.size, this.out.nextInput);
    } else {
      this.out.input.set(this.raw);
      this.out.nextInput.set(this.rawNext);
    }
    return this.out;
  }
}

/** Rows of [observation, desired goal] for `rows` envs, normalised: what the policy acts on. */
export function policyInput(
  observation: Float64Array,
  desiredGoal: Float64Array,
  rows: number,
  sizes: TransitionSizes,
  normalizer: RunningNormalizer | undefined,
): Float32Array {
  const { observation: o, goal: g } = sizes;
  const width = o + g;
  const input = new Float32Array(rows * width);
  for (let r = 0; r < rows; r++) {
    input.set(observation.subarray(r * o, r * o + o), r * width);
    input.set(desiredGoal.subarray(r * g, r * g + g), r * width + o);
  }
  if (normalizer) normalizer.normalize(input, rows, input);
  return input;
}

/** Observations with the episode's desired goal and, for HER's relabelled goals, the achieved ones. */
export function updateNormalizer(
  normalizer: RunningNormalizer | undefined,
  episode: Episode,
  sizes: TransitionSizes,
): void {
  if (!normalizer) return;
  const { observation: o, goal: g } = sizes;
  const width = o + g;
  const rows = new Float64Array(2 * episode.length * width);
  for (let t = 0; t < episode.length; t++) {
    const observation = episode.observation.subarray(t * o, t * o + o);
    rows.set(observation, 2 * t * width);
    rows.set(episode.desiredGoal.subarray(t * g, t * g + g), 2 * t * width + o);
    rows.set(observation, (2 * t + 1) * width);
    rows.set(episode.achievedGoal.subarray(t * g, t * g + g), (2 * t + 1) * width + o);
  }
  normalizer.update(rows, 2 * episode.length);
}

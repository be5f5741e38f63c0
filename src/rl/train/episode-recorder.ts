import type { EpisodeData, TransitionSizes } from '../replay-buffer.js';

/** One transition as the training loop sees it, env by env. */
export interface TransitionInput {
  observation: ArrayLike<number>;
  achievedGoal: ArrayLike<number>;
  desiredGoal: ArrayLike<number>;
  action: ArrayLike<number>;
  reward: number;
  nextObservation: ArrayLike<number>;
  nextAchievedGoal: ArrayLike<number>;
  terminated: boolean;
  priorActed: boolean;
  /** The prior's proposal when it was asked this step. */
  priorAction: ArrayLike<number> | undefined;
}

/** Collects one env's episode step by step into preallocated arrays, then hands out an EpisodeData. */
export class EpisodeRecorder {
  private data: EpisodeData;

  constructor(
    private readonly sizes: TransitionSizes,
    private readonly maxSteps: number,
  ) {
    this.data = allocate(sizes, maxSteps);
  }

  get length(): number {
    return this.data.length;
  }

  add(t: TransitionInput): void {
    const d = this.data;
    const i = d.length;
    if (i >= this.maxSteps) throw new RangeError(`episode longer than ${this.maxSteps} steps`);
    const { observation: o, goal: g, action: a } = this.sizes;
    d.observation.set(t.observation, i * o);
    d.achievedGoal.set(t.achievedGoal, i * g);
    d.desiredGoal.set(t.desiredGoal, i * g);
    d.action.set(t.action, i * a);
    d.reward[i] = t.reward;
    d.nextObservation.set(t.nextObservation, i * o);
    d.nextAchievedGoal.set(t.nextAchievedGoal, i * g);
    d.terminated[i] = t.terminated ? 1 : 0;
    d.priorActed[i] = t.priorActed ? 1 : 0;
    if (t.priorAction) {
      d.priorAction.set(t.priorAction, i * a);
      d.hasPriorAction[i] = 1;
    } else {
      d.priorAction.fill(0, i * a, i * a + a);
      d.hasPriorAction[i] = 0;
    }
    d.length = i + 1;
  }

  /** The recorded episode (trimmed views) and a fresh recorder state for the next one. */
  take(): EpisodeData {
    const d = this.data;
    this.data = allocate(this.sizes, this.maxSteps);
    return d;
  }
}

function allocate(sizes: TransitionSizes, n: number): EpisodeData {
  const { observation: o, goal: g, action: a } = sizes;
  return {
    length: 0,
    observation: new Float64Array(n * o),
    achievedGoal: new Float64Array(n * g),
    desiredGoal: new Float64Array(n * g),
    action: new Float64Array(n * a),
    reward: new Float64Array(n),
    nextObservation: new Float64Array(n * o),
    nextAchievedGoal: new Float64Array(n * g),
    terminated: new Uint8Array(n),
    priorActed: new Uint8Array(n),
    priorAction: new Float64Array(n * a),
    hasPriorAction: new Uint8Array(n),
  };
}

import type { Rng } from '../core/rng.js';
import type { Episode } from '../episodes/episode.js';
import type { TransitionSizes } from '../episodes/step.js';

/** Values per slot of each stored array (see {@link ReplayBuffer.snapshot}). */
function perSlot(name: string, sizes: TransitionSizes): number {
  if (name === 'obs' || name === 'nextObs') return sizes.observation;
  if (name === 'achieved' || name === 'desired' || name === 'nextAchieved') return sizes.goal;
  if (name === 'action' || name === 'priorAction') return sizes.action;
  return 1;
}

/** The arrays of a {@link ReplayBuffer.snapshot}, grouped by how many values a slot holds. */
const SNAPSHOT_GROUPS = {
  observation: ['obs', 'nextObs'],
  goal: ['achieved', 'desired', 'nextAchieved'],
  action: ['action', 'priorAction'],
  one: ['reward', 'terminated', 'priorActed', 'hasPriorAction', 'episodeEnd'],
} as const;
const SNAPSHOT_FLAGS = new Set(['terminated', 'priorActed', 'hasPriorAction']);

/**
 * What is wrong with a {@link ReplayBuffer.snapshot} read back from disk, judged on its own
 * (before the env's sizes are known): a missing array or one of the wrong type, or lengths that
 * do not split into `min(added, capacity)` equal slots. Undefined when it is whole; `restore`
 * then checks the sizes against the buffer's.
 */
export function snapshotProblem(
  snapshot: { added: number; arrays: Record<string, unknown> },
  capacity: number,
): string | undefined {
  const slots = Math.min(snapshot.added, capacity);
  for (const names of Object.values(SNAPSHOT_GROUPS)) {
    let perSlotSeen: number | undefined;
    for (const name of names) {
      const array = snapshot.arrays[name];
      const Type = SNAPSHOT_FLAGS.has(name) ? Uint8Array : Float64Array;
      if (!(array instanceof Type))
        return `'${name}' is ${array === undefined ? 'missing' : `not a ${Type.name}`}`;
      const per = slots === 0 ? 0 : array.length / slots;
      if (!Number.isInteger(per) || (slots === 0 && array.length !== 0))
        return `'${name}' holds ${array.length} values, not a whole number per slot of ${slots}`;
      if (names === SNAPSHOT_GROUPS.one && slots > 0 && per !== 1)
        return `'${name}' holds ${array.length} values for ${slots} slots`;
      if (perSlotSeen !== undefined && per !== perSlotSeen)
        return `'${name}' holds ${per} values per slot, '${names[0]}' ${perSlotSeen}`;
      perSlotSeen = per;
    }
  }
  return undefined;
}

/** A sampled batch, in preallocated Float32 arrays (what the learner's graphs take). */
export interface Batch {
  size: number;
  observation: Float32Array;
  desiredGoal: Float32Array;
  action: Float32Array;
  reward: Float32Array;
  nextObservation: Float32Array;
  /**
   * The weight of γ · Q(next state) in the critic's target: 1 − terminated for a one-step
   * return; (1 − terminated) · γ^(m − 1) for an m-step return (`reward` then holds the m
   * discounted rewards and `nextObservation` the state after the m-th step).
   */
  notDone: Float32Array;
  priorAction: Float32Array;
  hasPriorAction: Float32Array;
  /** 1 where HER replaced the goal. */
  relabeled: Uint8Array;
}

/** How to recompute a reward for a relabeled goal (the env's computeReward). */
export type RewardFunction = (achievedGoal: Float64Array, desiredGoal: Float64Array) => number;

/** Hindsight experience replay, "future" strategy (Andrychowicz et al. 2017; RL Zoo uses k = 4). */
export interface HerOptions {
  /** Relabeled goals per real one: a goal is relabeled with probability k / (k + 1). */
  k: number;
  computeReward: RewardFunction;
}

/**
 * n-step returns (Sutton & Barto §7.1; DDPGfD, Večerík et al. 2017, uses them on demonstrations):
 * a sampled row sums the discounted rewards of up to `steps` steps of its episode and
 * bootstraps from the state after the last, so a sparse success reaches the critic's values
 * `steps` times sooner. The sum stops at the episode's end or a termination. Off-policy (the
 * later steps' actions were not the current policy's), it is biased towards the return of
 * whoever acted: the prior on its demonstrations. SAC's soft target then counts the entropy
 * of the bootstrap state only, as soft n-step variants commonly do.
 */
export interface NStepOptions {
  /** Steps summed per row (1: the one-step return). */
  steps: number;
  /** The learner's discount γ. */
  gamma: number;
}

/** How rows are drawn from one buffer: HER's relabelling and the return's length, both optional. */
export interface SampleOptions {
  her?: HerOptions | undefined;
  nStep?: NStepOptions | undefined;
}

/**
 * A preallocated ring of transitions, stored episode by episode so that HER can relabel with
 * goals achieved later in the same episode (Stable-Baselines3's HerReplayBuffer does the same).
 * Oldest episodes are overwritten first; a transition is sampled only while it is whole.
 */
export class ReplayBuffer {
  readonly capacity: number;
  readonly sizes: TransitionSizes;
  private readonly obs: Float64Array;
  private readonly achieved: Float64Array;
  private readonly desired: Float64Array;
  private readonly action: Float64Array;
  private readonly reward: Float64Array;
  private readonly nextObs: Float64Array;
  private readonly nextAchieved: Float64Array;
  private readonly terminated: Uint8Array;
  private readonly priorActed: Uint8Array;
  private readonly priorAction: Float64Array;
  private readonly hasPriorAction: Uint8Array;
  /** Absolute index (over all transitions ever added) of the end of each slot's episode. */
  private readonly episodeEnd: Float64Array;
  /** Transitions ever added; slot = absolute index mod capacity. */
  private added = 0;
  private readonly goalScratch: Float64Array;
  private readonly achievedScratch: Float64Array;

  constructor(capacity: number, sizes: TransitionSizes) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new Error(`capacity must be a positive integer, got ${capacity}`);
    this.capacity = capacity;
    this.sizes = sizes;
    const { observation: o, goal: g, action: a } = sizes;
    this.obs = new Float64Array(capacity * o);
    this.achieved = new Float64Array(capacity * g);
    this.desired = new Float64Array(capacity * g);
    this.action = new Float64Array(capacity * a);
    this.reward = new Float64Array(capacity);
    this.nextObs = new Float64Array(capacity * o);
    this.nextAchieved = new Float64Array(capacity * g);
    this.terminated = new Uint8Array(capacity);
    this.priorActed = new Uint8Array(capacity);
    this.priorAction = new Float64Array(capacity * a);
    this.hasPriorAction = new Uint8Array(capacity);
    this.episodeEnd = new Float64Array(capacity);
    this.goalScratch = new Float64Array(g);
    this.achievedScratch = new Float64Array(g);
  }

  /** Transitions that can be sampled. */
  get size(): number {
    return Math.min(this.added, this.capacity);
  }

  /** Transitions ever added. */
  get totalAdded(): number {
    return this.added;
  }

  /** Fraction of stored transitions where the prior acted. */
  priorActedFraction(): number {
    let n = 0;
    for (let i = 0; i < this.size; i++) n += this.priorActed[i]!;
    return this.size === 0 ? 0 : n / this.size;
  }

  /** Appends a whole episode (longer than the capacity: only its last `capacity` steps are kept). */
  addEpisode(episode: Episode): void {
    const { observation: o, goal: g, action: a } = this.sizes;
    const end = this.added + episode.length;
    for (let t = 0; t < episode.length; t++) {
      const slot = (this.added + t) % this.capacity;
      this.obs.set(episode.observation.subarray(t * o, t * o + o), slot * o);
      this.achieved.set(episode.achievedGoal.subarray(t * g, t * g + g), slot * g);
      this.desired.set(episode.desiredGoal.subarray(t * g, t * g + g), slot * g);
      this.action.set(episode.action.subarray(t * a, t * a + a), slot * a);
      this.reward[slot] = episode.reward[t]!;
      this.nextObs.set(episode.nextObservation.subarray(t * o, t * o + o), slot * o);
      this.nextAchieved.set(episode.nextAchievedGoal.subarray(t * g, t * g + g), slot * g);
      this.terminated[slot] = episode.terminated[t]!;
      this.priorActed[slot] = episode.priorActed[t]!;
      this.priorAction.set(episode.priorAction.subarray(t * a, t * a + a), slot * a);
      this.hasPriorAction[slot] = episode.hasPriorAction[t]!;
      this.episodeEnd[slot] = end;
    }
    this.added = end;
  }

  /**
   * The stored transitions for a checkpoint: the filled part of every array (slots
   * 0 … size − 1) and the counter that places them in the ring. Views, not copies.
   */
  snapshot(): { added: number; arrays: Record<string, Float64Array | Uint8Array> } {
    const n = this.size;
    const arrays: Record<string, Float64Array | Uint8Array> = {};
    for (const [name, full] of Object.entries(this.storage())) {
      arrays[name] = full.subarray(0, n * perSlot(name, this.sizes));
    }
    return { added: this.added, arrays };
  }

  /** Puts back a {@link snapshot} taken from a buffer of the same capacity and sizes. */
  restore(snapshot: { added: number; arrays: Record<string, Float64Array | Uint8Array> }): void {
    const n = Math.min(snapshot.added, this.capacity);
    for (const [name, target] of Object.entries(this.storage())) {
      const source = snapshot.arrays[name];
      const length = n * perSlot(name, this.sizes);
      if (!source || source.length !== length || source.constructor !== target.constructor) {
        throw new Error(
          `replay buffer snapshot: '${name}' holds ${source?.length ?? 'no'} values, expected ${length}`,
        );
      }
      target.set(source);
    }
    this.added = snapshot.added;
  }

  private storage(): Record<string, Float64Array | Uint8Array> {
    return {
      obs: this.obs,
      achieved: this.achieved,
      desired: this.desired,
      action: this.action,
      reward: this.reward,
      nextObs: this.nextObs,
      nextAchieved: this.nextAchieved,
      terminated: this.terminated,
      priorActed: this.priorActed,
      priorAction: this.priorAction,
      hasPriorAction: this.hasPriorAction,
      episodeEnd: this.episodeEnd,
    };
  }

  /** A batch buffer of `size` rows to sample into (reuse it across updates). */
  createBatch(size: number): Batch {
    const { observation: o, goal: g, action: a } = this.sizes;
    return {
      size,
      observation: new Float32Array(size * o),
      desiredGoal: new Float32Array(size * g),
      action: new Float32Array(size * a),
      reward: new Float32Array(size),
      nextObservation: new Float32Array(size * o),
      notDone: new Float32Array(size),
      priorAction: new Float32Array(size * a),
      hasPriorAction: new Float32Array(size),
      relabeled: new Uint8Array(size),
    };
  }

  /**
   * Fills rows [from, from + count) of `batch` with transitions drawn uniformly, relabeling
   * goals with HER's "future" strategy when `her` is given: with probability k/(k+1), the goal
   * becomes the achieved goal after a uniformly drawn step t' ≥ t of the same episode, and the
   * reward is recomputed for it. With `nStep` the row holds an n-step return (see
   * {@link NStepOptions}); it draws nothing more from `rng`, so the rows drawn stay the same.
   */
  sampleInto(batch: Batch, rng: Rng, options: SampleOptions = {}, from = 0, count = batch.size - from): void {
    const { her, nStep } = options;
    const n = this.size;
    if (n === 0) throw new Error('cannot sample from an empty replay buffer');
    const { observation: o, goal: g, action: a } = this.sizes;
    const oldest = this.added - n;
    const relabelProbability = her ? her.k / (her.k + 1) : 0;
    for (let row = from; row < from + count; row++) {
      const absolute = oldest + rng.int(0, n - 1);
      const slot = absolute % this.capacity;
      batch.observation.set(this.obs.subarray(slot * o, slot * o + o), row * o);
      batch.nextObservation.set(this.nextObs.subarray(slot * o, slot * o + o), row * o);
      batch.action.set(this.action.subarray(slot * a, slot * a + a), row * a);
      batch.priorAction.set(this.priorAction.subarray(slot * a, slot * a + a), row * a);
      batch.hasPriorAction[row] = this.hasPriorAction[slot]!;
      batch.notDone[row] = 1 - this.terminated[slot]!;
      if (her && rng.next() < relabelProbability) {
        // t' uniform in [t, episode end), as SB3's "future": the goal achieved after step t'.
        const future = absolute + rng.int(0, this.episodeEnd[slot]! - 1 - absolute);
        const futureSlot = future % this.capacity;
        this.goalScratch.set(this.nextAchieved.subarray(futureSlot * g, futureSlot * g + g));
        this.achievedScratch.set(this.nextAchieved.subarray(slot * g, slot * g + g));
        batch.desiredGoal.set(this.goalScratch, row * g);
        batch.reward[row] = her.computeReward(this.achievedScratch, this.goalScratch);
        // The prior's action stays a label to imitate: with "future" goals the goal is where
        // the episode actually went after this action, so the action is one that reaches it
        // (hindsight imitation, as in goal-conditioned supervised learning). Dropping these
        // labels measurably hurt: Push BC from prior data fell from 45% to 15–30% success.
        batch.relabeled[row] = 1;
      } else {
        batch.desiredGoal.set(this.desired.subarray(slot * g, slot * g + g), row * g);
        batch.reward[row] = this.reward[slot]!;
        batch.relabeled[row] = 0;
      }
      if (nStep && nStep.steps > 1)
        this.extendReturn(batch, row, absolute, nStep, batch.relabeled[row] ? her : undefined);
    }
  }

  /**
   * Turns row `row` (transition `absolute`, its one-step reward already in place) into an
   * n-step return: adds the discounted rewards of the next steps of the episode, with the row's
   * goal (recomputed by `her` where it relabelled the goal, in `goalScratch`), and moves the
   * bootstrap to the state after the last step summed.
   */
  private extendReturn(
    batch: Batch,
    row: number,
    absolute: number,
    nStep: NStepOptions,
    her?: HerOptions,
  ): void {
    const { observation: o, goal: g } = this.sizes;
    const slot = absolute % this.capacity;
    const end = this.episodeEnd[slot]!;
    let last = slot;
    let discount = 1;
    let ret = batch.reward[row]!;
    for (let i = 1; i < nStep.steps && absolute + i < end && !this.terminated[last]; i++) {
      last = (absolute + i) % this.capacity;
      discount *= nStep.gamma;
      let reward = this.reward[last]!;
      if (her) {
        this.achievedScratch.set(this.nextAchieved.subarray(last * g, last * g + g));
        reward = her.computeReward(this.achievedScratch, this.goalScratch);
      }
      ret += discount * reward;
    }
    batch.reward[row] = ret;
    batch.nextObservation.set(this.nextObs.subarray(last * o, last * o + o), row * o);
    batch.notDone[row] = (1 - this.terminated[last]!) * discount;
  }
}

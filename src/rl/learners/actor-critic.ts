import ort from 'onnxruntime-node';
import { ArmpriorError } from '../../core/errors.js';
import type { Rng } from '../../core/rng.js';
import { initMlp } from '../graph/mlp.js';
import type { PackedSlot } from '../graph/packed.js';
import type { Learner, LearnerState, LearnerStats } from '../learner.js';
import { type Feeds, type Outputs, scalarOutput } from './feeds.js';
import { PackedState, packMlp } from './packed-state.js';
import type { UpdateGraph } from './update-graph.js';

/** An update whose losses or new parameters were not finite: it was rejected, nothing changed. */
export class NonFiniteUpdateError extends ArmpriorError {
  constructor(message: string) {
    super('update_not_finite', message);
  }
}

/** An actor and two critics (TD3, SAC), in the order their initial values are drawn. */
export function actorAndTwinCritics(
  actorSizes: readonly number[],
  criticSizes: readonly number[],
): { name: string; sizes: readonly number[] }[] {
  return [
    { name: 'actor', sizes: actorSizes },
    { name: 'q1', sizes: criticSizes },
    { name: 'q2', sizes: criticSizes },
  ];
}

/**
 * What every actor-critic learner shares below its losses and update order (DESIGN.md: share
 * what is the same, not a base class): an onnxruntime session per update graph, the packed
 * parameters and Adam moments carried between calls, the count of updates, and the guard that
 * rejects an update whose results are not finite. A learner (td3.ts, sac.ts) builds its graphs,
 * feeds each call and reads its stats; this runs the call and keeps the state.
 */
export class ActorCriticCore<Part extends string> {
  private updateCount = 0;

  private constructor(
    private readonly algorithm: Learner['algorithm'],
    private readonly parts: Partial<Record<Part, { graph: UpdateGraph; session: ort.InferenceSession }>>,
    readonly state: PackedState,
  ) {}

  /**
   * Sessions for `graphs` (a learner may leave out a part its config never runs), and the state
   * they take: the MLPs `networks` initialised from `rng` in that order (PyTorch's default
   * initialisation), their targets copies of them, the other trainable tensors (`initial`, e.g.
   * SAC's log α) as given, every Adam moment zero.
   */
  static async create<Part extends string>(o: {
    algorithm: Learner['algorithm'];
    graphs: Partial<Record<Part, UpdateGraph>>;
    networks: readonly { name: string; sizes: readonly number[] }[];
    initial?: Readonly<Record<string, Float32Array>>;
    rng: Rng;
  }): Promise<ActorCriticCore<Part>> {
    const parts: Partial<Record<Part, { graph: UpdateGraph; session: ort.InferenceSession }>> = {};
    const layout = new Map<string, readonly PackedSlot[]>();
    for (const [part, graph] of Object.entries(o.graphs) as [Part, UpdateGraph][]) {
      parts[part] = { graph, session: await createSession(graph) };
      for (const [name, slots] of Object.entries(graph.packed)) layout.set(name, slots);
    }
    const state = new PackedState(layout);
    for (const { name, sizes } of o.networks) state.initialize(name, packMlp(initMlp(sizes, o.rng)));
    for (const [name, values] of Object.entries(o.initial ?? {})) state.initialize(name, values);
    state.checkComplete();
    return new ActorCriticCore(o.algorithm, parts, state);
  }

  /** Updates accepted so far. */
  get updates(): number {
    return this.updateCount;
  }

  /** Runs the graph `part`: each input from `data` if there, else the state's tensor of that name. */
  async run(part: Part, data: Feeds): Promise<Outputs> {
    const built = this.parts[part];
    if (!built) throw new Error(`${this.algorithm}: no '${part}' update graph was built for this config`);
    const { graph, session } = built;
    const feeds: Feeds = {};
    for (const name of graph.inputs) feeds[name] = data[name] ?? this.state.get(name)!;
    return session.run(feeds);
  }

  /**
   * Accepts an update's outputs: its state becomes the next one and the update is counted. An
   * update with a non-finite stat or new tensor is rejected whole with a
   * {@link NonFiniteUpdateError}, and nothing changes: training never goes on with NaN weights.
   */
  accept(out: Outputs, stats: LearnerStats): void {
    const reject = (why: string) =>
      new NonFiniteUpdateError(
        `${this.algorithm.toUpperCase()} update ${this.updateCount + 1} rejected: ${why}`,
      );
    for (const [key, value] of Object.entries(stats))
      if (!Number.isFinite(value)) throw reject(`${key} is ${value} (is there NaN in the batch?)`);
    // The graph's sum of every new value is finite when they all are: scan only when it is not.
    if (!Number.isFinite(scalarOutput(out.new_sum))) {
      const bad = this.state.firstNonFinite(out);
      if (bad) throw reject(`${bad.name} became ${bad.value}`);
    }
    this.state.carry(out);
    this.updateCount++;
  }

  /** The whole state, with the learner's own counters after `updates`. */
  getState(counters: Record<string, number> = {}): LearnerState {
    return {
      algorithm: this.algorithm,
      counters: { updates: this.updateCount, ...counters },
      tensors: this.state.save(),
    };
  }

  /** Restores {@link getState}'s output and returns its counters (refused whole if it does not fit). */
  loadState(saved: LearnerState): Record<string, number> {
    this.state.load(this.algorithm, saved);
    this.updateCount = saved.counters.updates ?? 0;
    return saved.counters;
  }

  async close(): Promise<void> {
    for (const { session } of Object.values(this.parts) as { session: ort.InferenceSession }[])
      await session.release();
  }
}

/**
 * A session for an update graph. With two learners' or two graphs' sessions alternating on 2
 * cores, idle spinning of one's thread pool would slow the other, and the host steps the sim
 * between calls: no spinning (DESIGN.md, onnxruntime facts).
 */
function createSession(graph: UpdateGraph): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(graph.bytes, {
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  });
}

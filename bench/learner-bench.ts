import ort from 'onnxruntime-node';
import { Rng } from '../src/core/rng.js';
import { adamStepScalars, DEFAULT_ADAM } from '../src/rl/graph/adam.js';
import { initMlp } from '../src/rl/graph/mlp.js';
import {
  actorSizes,
  buildActorUpdate,
  buildCriticUpdate,
  criticSizes,
  networkShapes,
  type Td3GraphConfig,
  type UpdateGraph,
} from '../src/rl/td3-graphs.js';

/** Results of `armprior bench learner`. */
export interface LearnerBenchResult {
  batchSize: number;
  hidden: number[];
  observationSize: number;
  actionSize: number;
  /** Critic steps (both critics) per second. */
  criticUpdatesPerSec: number;
  /** Actor steps (with the soft target updates) per second. */
  actorUpdatesPerSec: number;
  /** Full TD3 updates per second: a critic step every update, an actor step every `policyDelay`. Goal ≥ 100. */
  td3UpdatesPerSec: number;
  policyDelay: number;
}

/**
 * TD3 updates through the onnxruntime graphs at the size (2 × 256 MLPs, batch 256, the
 * Push task's 21 inputs and 3 actions): parameters and Adam moments are carried from one call's
 * outputs to the next call's inputs, as in training.
 */
export async function runLearnerBench(
  options: { updates?: number; batchSize?: number } = {},
): Promise<LearnerBenchResult> {
  const config: Td3GraphConfig = {
    observationSize: 21,
    actionSize: 3,
    hidden: [256, 256],
    gamma: 0.98,
    tau: 0.005,
    targetNoiseClip: 0.5,
  };
  const batchSize = options.batchSize ?? 256;
  const updates = options.updates ?? 200;
  const policyDelay = 2;
  const rng = Rng.fromSeed(0);
  // Two sessions alternate on 2 cores: idle spinning of one's thread pool would slow the other.
  const sessionOptions: ort.InferenceSession.SessionOptions = {
    graphOptimizationLevel: 'all',
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  };
  const critic = buildCriticUpdate(config);
  const actor = buildActorUpdate(config);
  const criticSession = await ort.InferenceSession.create(critic.bytes, sessionOptions);
  const actorSession = await ort.InferenceSession.create(actor.bytes, sessionOptions);
  try {
    const state = new Map<string, ort.Tensor>();
    const net = (prefix: string, sizes: number[]) => {
      const params = initMlp(sizes, rng);
      networkShapes(prefix, sizes).forEach(({ name, shape }, i) => {
        const data = i % 2 === 0 ? params.weights[i / 2]! : params.biases[(i - 1) / 2]!;
        state.set(name, new ort.Tensor('float32', data, shape));
        state.set(`m.${name}`, new ort.Tensor('float32', new Float32Array(data.length), shape));
        state.set(`v.${name}`, new ort.Tensor('float32', new Float32Array(data.length), shape));
      });
    };
    net('actor', actorSizes(config));
    net('q1', criticSizes(config));
    net('q2', criticSizes(config));
    for (const [prefix, sizes] of [
      ['actor', actorSizes(config)],
      ['q1', criticSizes(config)],
      ['q2', criticSizes(config)],
    ] as const) {
      for (const { name } of networkShapes(prefix, sizes))
        state.set(name.replace(prefix, `${prefix}_target`), state.get(name)!);
    }
    const data = (width: number) =>
      new ort.Tensor(
        'float32',
        Float32Array.from({ length: batchSize * width }, () => rng.uniform(-1, 1)),
        [batchSize, width],
      );
    const batch = {
      obs: data(config.observationSize),
      action: data(config.actionSize),
      reward: data(1),
      not_done: new ort.Tensor('float32', new Float32Array(batchSize).fill(1), [batchSize, 1]),
      next_obs: data(config.observationSize),
      noise: data(config.actionSize),
    };
    const feeds = (graph: UpdateGraph, t: number) => {
      const { lrT, epsHat } = adamStepScalars(t, { ...DEFAULT_ADAM, learningRate: 1e-3 });
      const scalars = {
        lr_t: new ort.Tensor('float32', Float32Array.of(lrT), []),
        eps_hat: new ort.Tensor('float32', Float32Array.of(epsHat), []),
      };
      return Object.fromEntries(
        graph.inputs.map((name) => [
          name,
          (batch as Record<string, ort.Tensor>)[name] ??
            (scalars as Record<string, ort.Tensor>)[name] ??
            state.get(name)!,
        ]),
      );
    };
    const carry = (out: ort.InferenceSession.OnnxValueMapType) => {
      for (const [name, tensor] of Object.entries(out))
        if (name.startsWith('new.')) state.set(name.slice(4), tensor as ort.Tensor);
    };
    const criticStep = async (t: number) => carry(await criticSession.run(feeds(critic, t)));
    const actorStep = async (t: number) => carry(await actorSession.run(feeds(actor, t)));
    for (let t = 1; t <= 10; t++) {
      await criticStep(t);
      await actorStep(t);
    }
    let start = performance.now();
    for (let t = 1; t <= updates; t++) await criticStep(10 + t);
    const criticUpdatesPerSec = updates / ((performance.now() - start) / 1000);
    start = performance.now();
    for (let t = 1; t <= updates; t++) await actorStep(10 + t);
    const actorUpdatesPerSec = updates / ((performance.now() - start) / 1000);
    start = performance.now();
    for (let t = 1; t <= updates; t++) {
      await criticStep(10 + updates + t);
      if (t % policyDelay === 0) await actorStep(10 + updates + t);
    }
    const td3UpdatesPerSec = updates / ((performance.now() - start) / 1000);
    return {
      batchSize,
      hidden: [...config.hidden],
      observationSize: config.observationSize,
      actionSize: config.actionSize,
      criticUpdatesPerSec,
      actorUpdatesPerSec,
      td3UpdatesPerSec,
      policyDelay,
    };
  } finally {
    await criticSession.release();
    await actorSession.release();
  }
}

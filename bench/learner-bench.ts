import { Rng } from '../src/core/rng.js';
import { type Td3Batch, Td3ConfigSchema, Td3Learner } from '../src/rl/td3.js';

/** Results of `armprior bench learner`. */
export interface LearnerBenchResult {
  batchSize: number;
  hidden: number[];
  inputSize: number;
  actionSize: number;
  /** Full TD3 updates per second through Td3Learner.update: a critic step every update, an actor step every `policyDelay`. Goal ≥ 100. */
  td3UpdatesPerSec: number;
  policyDelay: number;
}

/**
 * TD3 updates of the real learner at the size (2 × 256 MLPs, batch 256, the Push task's
 * 18 + 3 inputs and 3 actions): parameters and Adam moments carried from call to call, the
 * non-finite checks included, as in training. Only the batches are synthetic.
 */
export async function runLearnerBench(options: { updates?: number } = {}): Promise<LearnerBenchResult> {
  const config = Td3ConfigSchema.parse({ hidden: [256, 256], batchSize: 256 });
  const sizes = { input: 21, action: 3 };
  const updates = options.updates ?? 200;
  const rng = Rng.fromSeed(0);
  const learner = await Td3Learner.create(config, sizes, rng);
  const n = config.batchSize;
  const values = (k: number) => Float32Array.from({ length: n * k }, () => rng.uniform(-1, 1));
  const batch: Td3Batch = {
    size: n,
    input: values(sizes.input),
    action: values(sizes.action),
    reward: values(1),
    notDone: new Float32Array(n).fill(1),
    nextInput: values(sizes.input),
  };
  try {
    for (let i = 0; i < 10; i++) await learner.update(batch, rng);
    const start = performance.now();
    for (let i = 0; i < updates; i++) await learner.update(batch, rng);
    const td3UpdatesPerSec = updates / ((performance.now() - start) / 1000);
    return {
      batchSize: n,
      hidden: [...config.hidden],
      inputSize: sizes.input,
      actionSize: sizes.action,
      td3UpdatesPerSec,
      policyDelay: config.policyDelay,
    };
  } finally {
    await learner.close();
  }
}

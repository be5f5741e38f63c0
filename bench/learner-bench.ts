import { Rng } from '../src/core/rng.js';
import type { Learner, LearnerBatch } from '../src/rl/learner.js';
import { SacConfigSchema, SacLearner } from '../src/rl/learners/sac.js';
import { Td3ConfigSchema, Td3Learner } from '../src/rl/learners/td3.js';
import { presetFor } from '../src/rl/train/presets.js';

/** Results of `armprior bench learner`. */
export interface LearnerBenchResult {
  batchSize: number;
  hidden: number[];
  inputSize: number;
  actionSize: number;
  /** Full TD3 updates per second through Td3Learner.update: a critic step every update, an actor step every `policyDelay`. Goal ≥ 100. */
  td3UpdatesPerSec: number;
  policyDelay: number;
  /**
   * Full SAC updates per second through SacLearner.update: entropy coefficient ('auto'),
   * critics, actor and soft targets every update, in one onnxruntime call.
   */
  sacUpdatesPerSec: number;
  /**
   * TD3 as the rlingua preset trains it (its td3 settings, read from presets.ts): 3 × 256 MLPs,
   * LayerNorm critics, the imitation term with its Q-filter and the normalised Q term (every row
   * of the batch labelled).
   */
  rlinguaTd3UpdatesPerSec: number;
  /** The same without LayerNorm on the critics (td3.criticLayerNorm: false): what LayerNorm costs. */
  rlinguaTd3PlainCriticsUpdatesPerSec: number;
}

/**
 * TD3 and SAC updates of the real learners at the size (2 × 256 MLPs, batch 256, the
 * Push task's 18 + 3 inputs and 3 actions): parameters and Adam moments carried from call to
 * call, the non-finite checks included, as in training. Only the batches are synthetic; both
 * learners get the same batch and the same measurement (10 warm-up updates, then `updates`).
 */
export async function runLearnerBench(options: { updates?: number } = {}): Promise<LearnerBenchResult> {
  const td3Config = Td3ConfigSchema.parse({ hidden: [256, 256], batchSize: 256 });
  const sacConfig = SacConfigSchema.parse({ hidden: [256, 256], batchSize: 256 });
  const sizes = { input: 21, action: 3 };
  const updates = options.updates ?? 200;
  const rng = Rng.fromSeed(0);
  const n = td3Config.batchSize;
  const values = (k: number) => Float32Array.from({ length: n * k }, () => rng.uniform(-1, 1));
  const batch: LearnerBatch = {
    size: n,
    input: values(sizes.input),
    action: values(sizes.action),
    reward: values(1),
    notDone: new Float32Array(n).fill(1),
    nextInput: values(sizes.input),
    priorAction: values(sizes.action),
    hasPriorAction: new Float32Array(n).fill(1),
  };
  const measure = async (learner: Learner): Promise<number> => {
    try {
      for (let i = 0; i < 10; i++) await learner.update(batch, rng);
      const start = performance.now();
      for (let i = 0; i < updates; i++) await learner.update(batch, rng);
      return updates / ((performance.now() - start) / 1000);
    } finally {
      await learner.close();
    }
  };
  const td3UpdatesPerSec = await measure(await Td3Learner.create(td3Config, sizes, rng));
  const sacUpdatesPerSec = await measure(await SacLearner.create(sacConfig, sizes, rng));
  const rlingua = { ...(presetFor('rlingua').td3 as Record<string, unknown>), batchSize: n };
  const rlinguaTd3UpdatesPerSec = await measure(
    await Td3Learner.create(Td3ConfigSchema.parse(rlingua), sizes, rng),
  );
  const rlinguaTd3PlainCriticsUpdatesPerSec = await measure(
    await Td3Learner.create(Td3ConfigSchema.parse({ ...rlingua, criticLayerNorm: false }), sizes, rng),
  );
  return {
    batchSize: n,
    hidden: [...td3Config.hidden],
    inputSize: sizes.input,
    actionSize: sizes.action,
    td3UpdatesPerSec,
    policyDelay: td3Config.policyDelay,
    sacUpdatesPerSec,
    rlinguaTd3UpdatesPerSec,
    rlinguaTd3PlainCriticsUpdatesPerSec,
  };
}

import { relative } from 'node:path';
import { ArmEnv } from '../../../sim/env.js';
import { rewardRange } from '../../../sim/tasks/task.js';
import { Rng } from '../../core/rng.js';
import { ReplayBuffer } from '../replay-buffer.js';
import { createLearner, createNormalizer } from './learner-factory.js';
import { PolicyAverage } from './policy-average.js';
import { policyMetadataFor, writePolicyFile } from './policy-file.js';
import { readRunInfo, runFiles } from './run-dir.js';
import { RunLock } from './run-lock.js';
import { applyRunCheckpoint, type RunState, readRunCheckpoint } from './run-state.js';
import type { TrainConfig } from './train-config.js';

/**
 * Writes the policy of a run's newest good checkpoint to `out` (default the run's policy.onnx):
 * the learner and normaliser are restored exactly as training left them, then exported. Writing
 * into the run folder takes its lock: a run still training is refused (RunLockedError).
 */
export async function exportRun(
  runDir: string,
  config: TrainConfig,
  out = runFiles(runDir).policy,
): Promise<{ file: string; step: number; skipped: { dir: string; reason: string }[] }> {
  const info = readRunInfo(runDir);
  const lock = relative(runDir, out).startsWith('..')
    ? undefined
    : RunLock.acquire(runDir, 'armprior export');
  try {
    return await exportLocked(runDir, info, config, out);
  } finally {
    lock?.release();
  }
}

async function exportLocked(
  runDir: string,
  info: ReturnType<typeof readRunInfo>,
  config: TrainConfig,
  out: string,
): Promise<{ file: string; step: number; skipped: { dir: string; reason: string }[] }> {
  const env = await ArmEnv.create({ task: info.task, robot: info.robot });
  const sizes = { observation: env.observationSize, goal: env.goalSize, action: env.actionSize };
  const learner = await createLearner(
    config,
    { input: sizes.observation + sizes.goal, action: sizes.action },
    Rng.fromSeed(0),
    rewardRange(env.task),
  );
  try {
    const normalizer = createNormalizer(config, sizes);
    const checkpoint = readRunCheckpoint(runFiles(runDir).checkpoints);
    const average = new PolicyAverage(config.policyAveraging);
    // The checkpoint is restored whole (buffers included): one code path with resuming.
    applyRunCheckpoint(checkpoint, {
      state: {} as RunState,
      normalizer,
      online: new ReplayBuffer(checkpoint.capacities.online, sizes),
      demo: new ReplayBuffer(checkpoint.capacities.demo, sizes),
      learner,
      average,
    });
    writePolicyFile(out, average.policy(learner), normalizer, policyMetadataFor(env, config.algo));
    return { file: out, step: checkpoint.step, skipped: checkpoint.skipped };
  } finally {
    await learner.close();
    env.close();
  }
}

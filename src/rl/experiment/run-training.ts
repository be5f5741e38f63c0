import type { ResolvedPrior } from '../../controllers/priors.js';
import { newRunInfo, readRunInfo, recordRunFailure, writeRunConfig, writeRunInfo } from '../train/run-dir.js';
import { RunLock } from '../train/run-lock.js';
import { priorNeeded, type TrainConfig, withPinnedPrior } from '../train/train-config.js';
import type { TrainProgress } from '../train/train-options.js';
import { train } from '../train/trainer.js';
import { type PriorIdentity, priorIdentity } from './experiment-manifest.js';

// One run of an experiment, the same whoever trains it: `armprior experiment` on this machine, or
// a queue's worker (src/queue). Sharing it is what makes a worker's metrics.jsonl record for record
// the local one's (issue #20).

/** The config a run of the experiment trains with: its prior pinned by version, and that prior's identity. */
export function pinnedRunConfig(
  resolved: TrainConfig,
  taskPrior: ResolvedPrior,
): { config: TrainConfig; prior: ResolvedPrior | undefined; identity: PriorIdentity | undefined } {
  const prior = priorNeeded(resolved) ? taskPrior : undefined;
  return {
    config: prior ? withPinnedPrior(resolved, prior.version) : resolved,
    prior,
    identity: prior ? priorIdentity(prior) : undefined,
  };
}

export interface ExperimentRunTraining {
  task: string;
  method: string;
  seed: number;
  robot: string;
  runDir: string;
  config: TrainConfig;
  /** Continue from the run folder's newest checkpoint. */
  resume: boolean;
  prior: ResolvedPrior | undefined;
}

export interface RunTrainingHooks {
  onProgress?: ((progress: TrainProgress) => void) | undefined;
  /** Polled by the run: true stops it after a checkpoint. */
  shouldStop?: (() => boolean) | undefined;
  onNotice?: ((message: string) => void) | undefined;
  /** Who trains it, for run.lock's holder: `armprior experiment`, `armprior worker`. */
  command?: string;
  /** Who continues it once stopped, for run.json (default: the same armprior experiment). */
  continuedBy?: string;
}

/** One training run, its folder locked while it trains: a `train --resume` of it is refused, readers see it live. */
export async function trainLocked(
  run: ExperimentRunTraining,
  hooks: RunTrainingHooks,
): Promise<Awaited<ReturnType<typeof train>>> {
  const { task, method, seed, robot, runDir, config, resume, prior } = run;
  const lock = RunLock.acquire(runDir, hooks.command ?? 'armprior experiment');
  // The method's name (an ablation's, say) labels the run in plots and reports.
  const info = resume ? readRunInfo(runDir) : newRunInfo(task, robot, method, seed);
  try {
    // On a resume the saved config is this one (the manifest's plan compared them), but for a
    // `rlingua.prior: active` saved before versions were pinned: writing it again pins that.
    writeRunConfig(runDir, config);
    writeRunInfo(runDir, { ...info, status: 'running', updated: new Date().toISOString() });
    const trained = await train({
      task,
      robot,
      seed,
      config,
      runDir,
      resume,
      prior,
      ...(hooks.onProgress ? { onProgress: hooks.onProgress } : {}),
      ...(hooks.shouldStop ? { shouldStop: hooks.shouldStop } : {}),
      ...(hooks.onNotice ? { onNotice: hooks.onNotice } : {}),
    });
    writeRunInfo(runDir, {
      ...info,
      status: trained.interrupted ? 'interrupted' : 'finished',
      updated: new Date().toISOString(),
      envSteps: trained.envSteps,
      ...(trained.interrupted
        ? {
            message: `stopped on request; ${hooks.continuedBy ?? 'the same armprior experiment'} continues it`,
          }
        : {}),
    });
    return trained;
  } catch (error) {
    // The run folder says why it stopped (if it still can: the error that stopped the run
    // is the one reported); the same experiment command continues it.
    recordRunFailure(runDir, info, error);
    throw error;
  } finally {
    lock.release();
  }
}

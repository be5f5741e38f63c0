import type { ResolvedPrior } from '../../controllers/priors.js';
import { newRunDir } from '../train/run-dir.js';
import { resolveTrainConfig, type TrainConfig } from '../train/train-config.js';
import { type ExperimentManifest, type PriorIdentity, type RunPlan, runKey } from './experiment-manifest.js';
import { type ExperimentMethod, methodRun } from './methods.js';
import { pinnedRunConfig } from './run-training.js';

/** What an experiment says about its runs: the budgets, the config fields for every run, the robot, the priors. */
export interface RunPlanSpec {
  steps: number;
  baselineSteps: number;
  overrides: Record<string, unknown>;
  robot: string;
  runsRoot: string;
  priorFor: (task: string) => ResolvedPrior;
}

/** One seed of a method on a task, as the experiment will train it, and what the run list holds of it. */
export interface PlannedRun {
  task: string;
  method: string;
  seed: number;
  /** runs.json's key. */
  key: string;
  /** For messages: `push · rlingua · seed 0`. */
  label: string;
  /** The resolved config, its prior pinned by version. */
  config: TrainConfig;
  prior: ResolvedPrior | undefined;
  identity: PriorIdentity | undefined;
  /** Reuse the listed run, continue it, or start a new one. */
  previous: RunPlan;
}

/**
 * The run of `seed` of `method` on `task`: its config resolved as the method says and its prior
 * pinned, and the run list's verdict on it. The same for a local experiment and a queued one,
 * so both train (and reuse) exactly the same runs.
 */
export function planRun(
  spec: RunPlanSpec,
  manifest: ExperimentManifest,
  task: string,
  method: Exclude<ExperimentMethod, 'prior'>,
  seed: number,
): PlannedRun {
  const { algo, overrides, steps } = methodRun(method, spec.overrides, spec);
  const resolved = resolveTrainConfig(algo, 'experiment', overrides, { totalSteps: steps, algo });
  const { config, prior, identity } = pinnedRunConfig(resolved, spec.priorFor(task));
  const key = runKey(task, method, seed);
  return {
    task,
    method,
    seed,
    key,
    label: `${task} · ${method} · seed ${seed}`,
    config,
    prior,
    identity,
    previous: manifest.plan(key, config, spec.robot, identity),
  };
}

/**
 * Where a run that is not reused trains: the folder it stopped in (with the wall clock it had
 * trained for), or a new one. It is listed in the run list now, before it trains, so a crash
 * leaves it to be continued.
 */
export function listRunToTrain(
  run: PlannedRun,
  manifest: ExperimentManifest,
  runsRoot: string,
): { runDir: string; wallClockSec: number; resume: boolean } {
  const resume = run.previous.kind === 'resume';
  const runDir =
    run.previous.kind === 'resume'
      ? run.previous.entry.runDir
      : newRunDir(runsRoot, run.task, run.method, run.seed);
  const wallClockSec = run.previous.kind === 'resume' ? run.previous.entry.wallClockSec : 0;
  manifest.set(run.key, { runDir, wallClockSec, ...(run.identity ? { prior: run.identity } : {}) });
  return { runDir, wallClockSec, resume };
}

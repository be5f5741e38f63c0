import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ArmEnv } from '../../../sim/env.js';
import { evaluationSeeds } from '../../controllers/evaluate.js';
import { createPriorController, type ResolvedPrior } from '../../controllers/priors.js';
import {
  newRunDir,
  newRunInfo,
  recordRunFailure,
  runFiles,
  writeRunConfig,
  writeRunInfo,
} from '../train/run-dir.js';
import { RunLock } from '../train/run-lock.js';
import { priorNeeded, resolveTrainConfig } from '../train/train-config.js';
import type { TrainProgress } from '../train/train-options.js';
import { train } from '../train/trainer.js';
import { aggregate, type RunCurve, readRunCurve, stepsToThreshold } from './curves.js';
import { markdownTable } from './experiment-table.js';
import { episodeSuccesses, mcNemar, policySuccesses } from './held-out.js';
import { type MethodResult, MILESTONES, successAt } from './method-result.js';
import { type ExperimentMethod, methodRun } from './methods.js';
import { successCurvesSvg } from './plot.js';
import { reportRuns, speedupLines } from './report.js';

/** What `armprior experiment` compares: methods × tasks × seeds. */
export interface ExperimentPlan {
  tasks: string[];
  /** `prior` (the controller alone, evaluated), the training presets and RLingua's ablations. */
  methods: ExperimentMethod[];
  seeds: number;
  /** Env steps per run of RLingua, its ablations and behaviour cloning. */
  steps: number;
  /** Env steps per run of the RL baselines without the prior (td3, sac). */
  baselineSteps: number;
  /** Config fields applied to every training run (a --config file). */
  overrides: Record<string, unknown>;
  robot: string;
  runsRoot: string;
  outDir: string;
  /** The prior for each task (RLingua's, and the `prior` row). */
  priorFor: (task: string) => ResolvedPrior;
  /** Success rate counted as solved for the "steps to" column. */
  threshold: number;
  /** Episodes each final policy (and the prior) is scored on after training (0: none). */
  heldOutEpisodes: number;
  /** Held-out episode k is reset with heldOutSeed + k. */
  heldOutSeed: number;
  onRunStart?: (label: string, index: number, total: number) => void;
  onProgress?: (progress: TrainProgress) => void;
  /** Progress of a held-out evaluation (episodes done of `total`). */
  onHeldOut?: (label: string, done: number, total: number) => void;
}

export type { MethodResult };

export interface ExperimentResult {
  results: MethodResult[];
  tableFile: string;
  jsonFile: string;
  curveFiles: string[];
}

/**
 * Runs the comparison of the RLingua paper on our tasks: each training method for each seed
 * (seeds 0 … n−1, the same evaluation episodes for all), the prior alone as a reference; then
 * scores every final policy and the prior on held-out episodes, paired (McNemar). Writes a
 * markdown table, the raw results as JSON and one success-curve SVG per task into `outDir`.
 */
export async function runExperiment(plan: ExperimentPlan): Promise<ExperimentResult> {
  mkdirSync(plan.outDir, { recursive: true });
  const results: MethodResult[] = [];
  const curveFiles: string[] = [];
  const trainingMethods = plan.methods.filter((m): m is Exclude<ExperimentMethod, 'prior'> => m !== 'prior');
  const total = plan.tasks.length * trainingMethods.length * plan.seeds;
  const heldOutSeeds = evaluationSeeds(plan.heldOutEpisodes, plan.heldOutSeed);
  let index = 0;
  for (const task of plan.tasks) {
    const curves = new Map<string, RunCurve[]>();
    const references = [];
    let priorHeldOut: boolean[] | undefined;
    if (plan.methods.includes('prior')) {
      const prior = await evaluatePrior(plan, task, heldOutSeeds);
      priorHeldOut = prior.heldOut;
      references.push({
        label: `prior (${plan.priorFor(task).label})`,
        value: prior.result.finalSuccess[0]!,
      });
      results.push(prior.result);
    }
    for (const method of trainingMethods) {
      const { algo, overrides, steps } = methodRun(method, plan.overrides, plan);
      const result: MethodResult = {
        task,
        method,
        steps,
        seeds: [],
        runDirs: [],
        finalSuccess: [],
        stepsToThreshold: [],
        successAt: Object.fromEntries(MILESTONES.map((m) => [m, []])),
        heldOutSuccess: [],
        againstPrior: [],
        wallClockSec: [],
      };
      for (let seed = 0; seed < plan.seeds; seed++) {
        plan.onRunStart?.(`${task} · ${method} · seed ${seed}`, ++index, total);
        const config = resolveTrainConfig(algo, 'experiment', overrides, { totalSteps: steps, algo });
        const runDir = newRunDir(plan.runsRoot, task, method, seed);
        const started = performance.now();
        const trained = await trainLocked(plan, task, seed, runDir, method, config);
        const wallClock = (performance.now() - started) / 1000;
        const curve = readRunCurve(runDir, method, seed);
        curves.set(method, [...(curves.get(method) ?? []), curve]);
        result.seeds.push(seed);
        result.runDirs.push(runDir);
        result.finalSuccess.push(trained.lastEvaluation?.successRate ?? Number.NaN);
        result.stepsToThreshold.push(stepsToThreshold(curve, plan.threshold));
        for (const m of MILESTONES) result.successAt[m]!.push(successAt(curve, m));
        result.wallClockSec.push(wallClock);
        if (heldOutSeeds.length > 0) {
          const successes = await heldOutOfPolicy(
            plan,
            task,
            runDir,
            `${task} · ${method} · seed ${seed}`,
            heldOutSeeds,
          );
          result.heldOutSuccess.push(rate(successes));
          if (priorHeldOut) result.againstPrior.push(mcNemar(successes, priorHeldOut));
        }
      }
      results.push(result);
    }
    const svg = await successCurvesSvg(
      `${task}: success rate against environment steps`,
      [...curves].map(([method, runs]) => aggregate(runs, method)),
      references,
    );
    const file = join(plan.outDir, `curves-${task}.svg`);
    writeFileSync(file, svg);
    curveFiles.push(file);
  }
  const runDirs = results.flatMap((r) => r.runDirs);
  const { speedups, notes } = reportRuns(runDirs, { threshold: plan.threshold });
  const ratios = speedupLines({ speedups, notes });
  const tableFile = join(plan.outDir, 'results.md');
  writeFileSync(
    tableFile,
    markdownTable(results, plan) + (ratios.length > 0 ? `\n${ratios.join('\n')}\n` : ''),
  );
  const jsonFile = join(plan.outDir, 'results.json');
  writeFileSync(
    jsonFile,
    `${JSON.stringify({ plan: { ...plan, priorFor: undefined }, results, speedups }, null, 2)}\n`,
  );
  return { results, tableFile, jsonFile, curveFiles };
}

/** One training run, its folder locked while it trains: a `train --resume` of it is refused, readers see it live. */
async function trainLocked(
  plan: ExperimentPlan,
  task: string,
  seed: number,
  runDir: string,
  method: string,
  config: ReturnType<typeof resolveTrainConfig>,
): Promise<Awaited<ReturnType<typeof train>>> {
  const lock = RunLock.acquire(runDir, 'armprior experiment');
  // The method's name (an ablation's, say) labels the run in plots and reports.
  const info = newRunInfo(task, plan.robot, method, seed);
  try {
    writeRunConfig(runDir, config);
    writeRunInfo(runDir, info);
    const trained = await train({
      task,
      robot: plan.robot,
      seed,
      config,
      runDir,
      prior: priorNeeded(config) ? plan.priorFor(task) : undefined,
      ...(plan.onProgress ? { onProgress: plan.onProgress } : {}),
    });
    writeRunInfo(runDir, {
      ...info,
      status: 'finished',
      updated: new Date().toISOString(),
      envSteps: trained.envSteps,
    });
    return trained;
  } catch (error) {
    // The run folder says why it stopped (if it still can: the error that stopped the run
    // is the one reported); `train --resume` can continue it.
    recordRunFailure(runDir, info, error);
    throw error;
  } finally {
    lock.release();
  }
}

/** The prior alone: on the training evaluation's episodes (the curves' reference line) and the held-out ones. */
async function evaluatePrior(
  plan: ExperimentPlan,
  task: string,
  heldOutSeeds: readonly number[],
): Promise<{ result: MethodResult; heldOut: boolean[] }> {
  const config = resolveTrainConfig('td3', 'experiment', plan.overrides);
  const started = performance.now();
  const env = await ArmEnv.create({ task, robot: plan.robot });
  try {
    const controller = await createPriorController(env, plan.priorFor(task));
    try {
      const training = await episodeSuccesses(
        env,
        controller,
        evaluationSeeds(config.evaluation.episodes, config.evaluation.seed),
      );
      const label = `${task} · prior`;
      const heldOut = await episodeSuccesses(env, controller, heldOutSeeds, (done) =>
        plan.onHeldOut?.(label, done, heldOutSeeds.length),
      );
      const successRate = rate(training);
      return {
        heldOut,
        result: {
          task,
          method: 'prior',
          seeds: [0],
          runDirs: [],
          finalSuccess: [successRate],
          stepsToThreshold: [successRate >= plan.threshold ? 0 : undefined],
          successAt: {},
          heldOutSuccess: heldOut.length > 0 ? [rate(heldOut)] : [],
          againstPrior: [],
          wallClockSec: [(performance.now() - started) / 1000],
        },
      };
    } finally {
      controller.dispose();
    }
  } finally {
    env.close();
  }
}

/** The run's final policy.onnx (what `train` exported: with policy averaging, the mean) on the held-out episodes. */
async function heldOutOfPolicy(
  plan: ExperimentPlan,
  task: string,
  runDir: string,
  label: string,
  seeds: readonly number[],
): Promise<boolean[]> {
  const env = await ArmEnv.create({ task, robot: plan.robot });
  try {
    return await policySuccesses(env, runFiles(runDir).policy, seeds, (done) =>
      plan.onHeldOut?.(label, done, seeds.length),
    );
  } finally {
    env.close();
  }
}

function rate(successes: readonly boolean[]): number {
  return successes.filter(Boolean).length / Math.max(1, successes.length);
}

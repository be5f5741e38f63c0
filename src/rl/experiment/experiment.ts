import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ArmEnv } from '../../../sim/env.js';
import { evaluationSeeds } from '../../controllers/evaluate.js';
import { createPriorController, type ResolvedPrior } from '../../controllers/priors.js';
import { runFiles } from '../train/run-dir.js';
import { resolveTrainConfig } from '../train/train-config.js';
import type { TrainProgress } from '../train/train-options.js';
import { aggregate, type RunCurve, readRunCurve, stepsToThreshold } from './curves.js';
import {
  ExperimentManifest,
  ExperimentManifestError,
  priorIdentity,
  successesOn,
  successRecord,
} from './experiment-manifest.js';
import { markdownTable } from './experiment-table.js';
import { episodeSuccesses, mcNemar, policySuccesses } from './held-out.js';
import { type MethodResult, MILESTONES, successAt } from './method-result.js';
import { type ExperimentMethod, methodRun } from './methods.js';
import { listRunToTrain, type PlannedRun, planRun } from './planned-run.js';
import { successCurvesSvg } from './plot.js';
import { reportRuns, speedupLines } from './report.js';
import { trainLocked } from './run-training.js';

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
  /** Polled by the run in training: true stops it after a checkpoint, and the experiment with it. */
  shouldStop?: () => boolean;
  /** A run the run list holds that cannot stand for its seed (why a new one is trained), a run continued. */
  onNotice?: (message: string) => void;
  /**
   * Only tabulate: every training run must be finished and listed in runs.json (workers of a
   * queue trained them); one that is not is an error instead of being trained here.
   */
  reuseOnly?: boolean;
}

export type { MethodResult };

export type ExperimentResult =
  | {
      stopped?: undefined;
      results: MethodResult[];
      tableFile: string;
      jsonFile: string;
      curveFiles: string[];
    }
  /** Stopped on request (`shouldStop`) after a checkpoint: the same plan run again continues. */
  | { stopped: { runsDone: number; runsTotal: number }; results: MethodResult[] };

/**
 * Runs the comparison of the RLingua paper on our tasks: each training method for each seed
 * (seeds 0 … n−1, the same evaluation episodes for all), the prior alone as a reference; then
 * scores every final policy and the prior on held-out episodes, paired (McNemar). Writes a
 * markdown table, the raw results as JSON and one success-curve SVG per task into `outDir`.
 * `outDir/runs.json` lists the runs as they go: the same plan run again reuses the finished ones
 * (and their held-out scores) and continues the interrupted ones.
 */
export async function runExperiment(plan: ExperimentPlan): Promise<ExperimentResult> {
  mkdirSync(plan.outDir, { recursive: true });
  const manifest = ExperimentManifest.open(plan.outDir);
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
      const prior = await evaluatePrior(plan, manifest, task, heldOutSeeds);
      priorHeldOut = prior.heldOut;
      references.push({
        label: `prior (${plan.priorFor(task).label})`,
        value: prior.result.finalSuccess[0]!,
      });
      results.push(prior.result);
    }
    for (const method of trainingMethods) {
      const { steps } = methodRun(method, plan.overrides, plan);
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
        const planned = planRun(plan, manifest, task, method, seed);
        const { label } = planned;
        index++;
        plan.onRunStart?.(label, index, total);
        const run = await trainedRun(plan, manifest, planned);
        if (run === 'stopped') return { stopped: { runsDone: index - 1, runsTotal: total }, results };
        const curve = readRunCurve(run.runDir, method, seed);
        curves.set(method, [...(curves.get(method) ?? []), curve]);
        result.seeds.push(seed);
        result.runDirs.push(run.runDir);
        result.finalSuccess.push(curve.successRate.at(-1) ?? Number.NaN);
        result.stepsToThreshold.push(stepsToThreshold(curve, plan.threshold));
        for (const m of MILESTONES) result.successAt[m]!.push(successAt(curve, m));
        result.wallClockSec.push(run.wallClockSec);
        if (heldOutSeeds.length > 0) {
          const successes = await heldOutOfRun(plan, manifest, planned, heldOutSeeds);
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

/**
 * The seed's run, trained to its end: the run list's when it finished with this config, continued
 * from its checkpoint when it stopped before its end, else a new one. `stopped` when the plan
 * asked to stop (the run is then resumable and listed).
 */
async function trainedRun(
  plan: ExperimentPlan,
  manifest: ExperimentManifest,
  run: PlannedRun,
): Promise<{ runDir: string; wallClockSec: number } | 'stopped'> {
  const { previous, key, label } = run;
  if (previous.kind === 'reuse') return previous.entry;
  if (plan.reuseOnly) {
    const why =
      previous.kind === 'resume' ? 'it stopped before its end' : (previous.why ?? 'it is not listed');
    throw new ExperimentManifestError(`${label} has no finished run in ${manifest.file}: ${why}`);
  }
  if (previous.kind === 'new' && previous.why) plan.onNotice?.(`${label}: ${previous.why}; training it anew`);
  const { runDir, wallClockSec: before, resume } = listRunToTrain(run, manifest, plan.runsRoot);
  if (resume) plan.onNotice?.(`${label}: continuing ${runDir} from its newest checkpoint`);
  const started = performance.now();
  let trained: Awaited<ReturnType<typeof trainLocked>>;
  try {
    trained = await trainLocked({ ...run, robot: plan.robot, runDir, resume }, plan);
  } finally {
    manifest.set(key, {
      runDir,
      wallClockSec: before + (performance.now() - started) / 1000,
      ...(run.identity ? { prior: run.identity } : {}),
    });
  }
  return trained.interrupted ? 'stopped' : manifest.get(key)!;
}

/** The prior alone: on the training evaluation's episodes (the curves' reference line) and the held-out ones. */
async function evaluatePrior(
  plan: ExperimentPlan,
  manifest: ExperimentManifest,
  task: string,
  heldOutSeeds: readonly number[],
): Promise<{ result: MethodResult; heldOut: boolean[] }> {
  const config = resolveTrainConfig('td3', 'experiment', plan.overrides);
  const trainingSeeds = evaluationSeeds(config.evaluation.episodes, config.evaluation.seed);
  const prior = plan.priorFor(task);
  const identity = priorIdentity(prior);
  const scored =
    manifest.prior(task, plan.robot, identity, trainingSeeds, heldOutSeeds) ??
    (await scorePrior(plan, task, prior, trainingSeeds, heldOutSeeds));
  manifest.setPrior(task, {
    prior: identity,
    robot: plan.robot,
    training: successRecord(trainingSeeds, scored.training),
    heldOut: successRecord(heldOutSeeds, scored.heldOut),
    wallClockSec: scored.wallClockSec,
  });
  const successRate = rate(scored.training);
  return {
    heldOut: scored.heldOut,
    result: {
      task,
      method: 'prior',
      seeds: [0],
      runDirs: [],
      finalSuccess: [successRate],
      stepsToThreshold: [successRate >= plan.threshold ? 0 : undefined],
      successAt: {},
      heldOutSuccess: scored.heldOut.length > 0 ? [rate(scored.heldOut)] : [],
      againstPrior: [],
      wallClockSec: [scored.wallClockSec],
    },
  };
}

async function scorePrior(
  plan: ExperimentPlan,
  task: string,
  prior: ResolvedPrior,
  trainingSeeds: readonly number[],
  heldOutSeeds: readonly number[],
): Promise<{ training: boolean[]; heldOut: boolean[]; wallClockSec: number }> {
  const started = performance.now();
  const env = await ArmEnv.create({ task, robot: plan.robot });
  try {
    const controller = await createPriorController(env, prior);
    try {
      const training = await episodeSuccesses(env, controller, trainingSeeds);
      const label = `${task} · prior`;
      const heldOut = await episodeSuccesses(env, controller, heldOutSeeds, (done) =>
        plan.onHeldOut?.(label, done, heldOutSeeds.length),
      );
      return { training, heldOut, wallClockSec: (performance.now() - started) / 1000 };
    } finally {
      controller.dispose();
    }
  } finally {
    env.close();
  }
}

/**
 * The run's final policy.onnx (what `train` exported: with policy averaging, the mean) on the
 * held-out episodes; kept in the run list, so a finished experiment run again does not replay them.
 */
async function heldOutOfRun(
  plan: ExperimentPlan,
  manifest: ExperimentManifest,
  { task, key, label }: PlannedRun,
  seeds: readonly number[],
): Promise<boolean[]> {
  const entry = manifest.get(key)!;
  const known = successesOn(entry.heldOut, seeds);
  if (known) return known;
  const env = await ArmEnv.create({ task, robot: plan.robot });
  try {
    const successes = await policySuccesses(env, runFiles(entry.runDir).policy, seeds, (done) =>
      plan.onHeldOut?.(label, done, seeds.length),
    );
    manifest.set(key, { ...entry, heldOut: successRecord(seeds, successes) });
    return successes;
  } finally {
    env.close();
  }
}

function rate(successes: readonly boolean[]): number {
  return successes.filter(Boolean).length / Math.max(1, successes.length);
}

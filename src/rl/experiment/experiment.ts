import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ArmEnv } from '../../../sim/env.js';
import { evaluateController, evaluationSeeds } from '../../controllers/evaluate.js';
import { createPriorController, type ResolvedPrior } from '../../controllers/priors.js';
import { newRunDir, newRunInfo, recordRunFailure, writeRunConfig, writeRunInfo } from '../train/run-dir.js';
import { RunLock } from '../train/run-lock.js';
import { type Algo, priorNeeded, resolveTrainConfig } from '../train/train-config.js';
import type { TrainProgress } from '../train/train-options.js';
import { train } from '../train/trainer.js';
import { aggregate, HELD_EVALUATIONS, type RunCurve, readRunCurve, stepsToThreshold } from './curves.js';
import { successCurvesSvg } from './plot.js';
import { reportRuns, speedupLines } from './report.js';

/** What `armprior experiment` compares: methods × tasks × seeds at one step budget. */
export interface ExperimentPlan {
  tasks: string[];
  /** `prior` (the controller alone, evaluated) and any training preset. */
  methods: ('prior' | Algo)[];
  seeds: number;
  steps: number;
  /** Config fields applied to every training run (a --config file). */
  overrides: Record<string, unknown>;
  robot: string;
  runsRoot: string;
  outDir: string;
  /** The prior for each task (RLingua's, and the `prior` row). */
  priorFor: (task: string) => ResolvedPrior;
  /** Success rate counted as solved for the "steps to" column. */
  threshold: number;
  onRunStart?: (label: string, index: number, total: number) => void;
  onProgress?: (progress: TrainProgress) => void;
}

/** One method on one task over seeds. */
export interface MethodResult {
  task: string;
  method: string;
  seeds: number[];
  runDirs: string[];
  /** Final success rate per seed (the prior: its evaluation, repeated for each seed's episode set). */
  finalSuccess: number[];
  /** Env steps from which the deterministic policy held the threshold (stepsToThreshold), per seed (undefined: never). */
  stepsToThreshold: (number | undefined)[];
  wallClockSec: number[];
}

export interface ExperimentResult {
  results: MethodResult[];
  tableFile: string;
  jsonFile: string;
  curveFiles: string[];
}

/**
 * Runs the comparison of the RLingua paper on our tasks: each training method for each seed
 * (seeds 0 … n−1, same evaluation episodes for all), the prior alone as a reference; writes a
 * markdown table and one success-curve SVG per task into `outDir`.
 */
export async function runExperiment(plan: ExperimentPlan): Promise<ExperimentResult> {
  mkdirSync(plan.outDir, { recursive: true });
  const results: MethodResult[] = [];
  const curveFiles: string[] = [];
  const trainingMethods = plan.methods.filter((m): m is Algo => m !== 'prior');
  const total = plan.tasks.length * trainingMethods.length * plan.seeds;
  let index = 0;
  for (const task of plan.tasks) {
    const curves = new Map<string, RunCurve[]>();
    const references = [];
    if (plan.methods.includes('prior')) {
      const prior = plan.priorFor(task);
      const config = resolveTrainConfig('td3', 'experiment', plan.overrides);
      const started = performance.now();
      const env = await ArmEnv.create({ task, robot: plan.robot });
      let successRate: number;
      try {
        // The same episodes the policies are evaluated on.
        const controller = await createPriorController(env, prior);
        try {
          const evaluation = await evaluateController(
            env,
            controller,
            evaluationSeeds(config.evaluation.episodes, config.evaluation.seed),
          );
          successRate = evaluation.stats.successRate;
        } finally {
          controller.dispose();
        }
      } finally {
        env.close();
      }
      references.push({ label: `prior (${prior.label})`, value: successRate });
      results.push({
        task,
        method: 'prior',
        seeds: [0],
        runDirs: [],
        finalSuccess: [successRate],
        stepsToThreshold: [successRate >= plan.threshold ? 0 : undefined],
        wallClockSec: [(performance.now() - started) / 1000],
      });
    }
    for (const method of trainingMethods) {
      const result: MethodResult = {
        task,
        method,
        seeds: [],
        runDirs: [],
        finalSuccess: [],
        stepsToThreshold: [],
        wallClockSec: [],
      };
      for (let seed = 0; seed < plan.seeds; seed++) {
        plan.onRunStart?.(`${task} · ${method} · seed ${seed}`, ++index, total);
        const config = resolveTrainConfig(method, 'experiment', plan.overrides, {
          totalSteps: plan.steps,
          algo: method,
        });
        const runDir = newRunDir(plan.runsRoot, task, method, seed);
        // Locked while it trains: a `train --resume` of it is refused, readers see it live.
        const lock = RunLock.acquire(runDir, 'armprior experiment');
        const info = newRunInfo(task, plan.robot, method, seed);
        const started = performance.now();
        let trained: Awaited<ReturnType<typeof train>>;
        try {
          writeRunConfig(runDir, config);
          writeRunInfo(runDir, info);
          trained = await train({
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
        } catch (error) {
          // The run folder says why it stopped (if it still can: the error that stopped the run
          // is the one reported); `train --resume` can continue it.
          recordRunFailure(runDir, info, error);
          throw error;
        } finally {
          lock.release();
        }
        const curve = readRunCurve(runDir, method, seed);
        curves.set(method, [...(curves.get(method) ?? []), curve]);
        result.seeds.push(seed);
        result.runDirs.push(runDir);
        result.finalSuccess.push(trained.lastEvaluation?.successRate ?? Number.NaN);
        result.stepsToThreshold.push(stepsToThreshold(curve, plan.threshold));
        result.wallClockSec.push((performance.now() - started) / 1000);
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

function meanStd(values: readonly number[]): string {
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) return '–';
  const mean = finite.reduce((a, b) => a + b, 0) / finite.length;
  const std = Math.sqrt(finite.reduce((a, v) => a + (v - mean) ** 2, 0) / finite.length);
  return finite.length === 1
    ? `${(100 * mean).toFixed(0)}%`
    : `${(100 * mean).toFixed(0)}% ± ${(100 * std).toFixed(0)}`;
}

function stepsColumn(steps: readonly (number | undefined)[], budget: number): string {
  const reached = steps.filter((s): s is number => s !== undefined).sort((a, b) => a - b);
  if (reached.length === 0) return `not reached in ${budget.toLocaleString('en')}`;
  const median = reached[Math.floor((reached.length - 1) / 2)]!;
  return `${median.toLocaleString('en')} (${reached.length}/${steps.length} seeds reached it)`;
}

/** The results table: final success (mean ± std over seeds), steps to the threshold, time. */
export function markdownTable(
  results: readonly MethodResult[],
  plan: Pick<ExperimentPlan, 'threshold' | 'steps' | 'seeds'>,
): string {
  const lines = [
    `| task | method | final success (mean ± std, ${plan.seeds} seeds) | env steps to ≥ ${(100 * plan.threshold).toFixed(0)}%, held over ${HELD_EVALUATIONS} evaluations (median) | wall clock per run |`,
    '|---|---|---|---|---|',
  ];
  for (const r of results) {
    const seconds = r.wallClockSec.reduce((a, b) => a + b, 0) / Math.max(1, r.wallClockSec.length);
    lines.push(
      `| ${r.task} | ${r.method} | ${meanStd(r.finalSuccess)} | ${r.method === 'prior' ? (r.stepsToThreshold[0] === 0 ? 'already' : 'never (fixed controller)') : stepsColumn(r.stepsToThreshold, plan.steps)} | ${seconds < 120 ? `${seconds.toFixed(0)} s` : `${(seconds / 60).toFixed(1)} min`} |`,
    );
  }
  return `${lines.join('\n')}\n`;
}

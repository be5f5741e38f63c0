import { HELD_EVALUATIONS, stepsToThreshold } from './curves.js';
import { RL_BASELINES } from './methods.js';
import { type LabelledRunCurve, PlotError, readRunCurves } from './run-plot.js';

/** One run, as `armprior report` sums it up. */
export interface RunSummary {
  runDir: string;
  task: string;
  algo: string;
  seed: number;
  /** The last evaluated env step. */
  lastStep: number;
  /** Success rate of the last evaluation. */
  lastSuccess: number;
  /** First step of the first window of evaluations whose mean reached the threshold. */
  heldAt: number | undefined;
  /**
   * Not held: the earliest step it could still be held at if the run went on (the first window
   * not fully evaluated yet), a lower bound for a comparison.
   */
  notHeldBefore: number | undefined;
  /** Seconds of training (time/elapsed_s) when the held window's last evaluation was in. */
  heldWallClockSec: number | undefined;
}

/** The runs of one task and algo (its seeds). */
export interface GroupSummary {
  task: string;
  algo: string;
  runs: RunSummary[];
}

/** How many times fewer env steps RLingua needed than a baseline on a task, over their seeds. */
export interface Speedup {
  task: string;
  baseline: string;
  /** Mean over the baseline's seeds (lower bounds for unheld ones) / mean over RLingua's. */
  ratio: number;
  /** Some baseline seed never held: the true ratio is at least `ratio`. */
  atLeast: boolean;
  rlinguaMeanSteps: number;
  baselineMeanSteps: number;
}

export interface RunsReport {
  threshold: number;
  window: number;
  groups: GroupSummary[];
  speedups: Speedup[];
  /** Why a pair of groups has no ratio (RLingua itself did not hold on every seed). */
  notes: string[];
}

/**
 * Sums up finished or running training runs (run folders, or folders holding them): per task
 * and algo, the steps and wall clock until the deterministic policy held `threshold` over
 * `window` consecutive evaluations (as `armprior experiment` counts it), and RLingua's step
 * ratio against each baseline on the same task. Runs without an evaluation yet are left out
 * (through `onSkip`), so the report may have no groups. Two runs of one task, algo and seed are
 * refused: they would be averaged as if they were different seeds.
 */
export function reportRuns(
  dirs: readonly string[],
  options: { threshold: number; window?: number; onSkip?: (runDir: string, reason: string) => void },
): RunsReport {
  const window = options.window ?? HELD_EVALUATIONS;
  const groups = new Map<string, GroupSummary>();
  const seen = new Map<string, string>();
  for (const run of readRunCurves(dirs, options.onSkip)) {
    const { algo } = run;
    const key = `${run.task}\u0000${algo}\u0000${run.curve.seed}`;
    const other = seen.get(key);
    if (other !== undefined) {
      throw new PlotError(
        `${other} and ${run.runDir} are both ${run.task} · ${algo} · seed ${run.curve.seed}: report one of them (or put each set of runs in its own report)`,
      );
    }
    seen.set(key, run.runDir);
    const group = groups.get(run.label) ?? { task: run.task, algo, runs: [] };
    group.runs.push(summarizeRun(run, options.threshold, window));
    groups.set(run.label, group);
  }
  const sorted = [...groups.values()].sort(
    (a, b) => a.task.localeCompare(b.task) || a.algo.localeCompare(b.algo),
  );
  for (const group of sorted) group.runs.sort((a, b) => a.seed - b.seed);
  const { speedups, notes } = speedupsOf(sorted);
  return { threshold: options.threshold, window, groups: sorted, speedups, notes };
}

function summarizeRun(run: LabelledRunCurve, threshold: number, window: number): RunSummary {
  const { steps, successRate } = run.curve;
  const heldAt = stepsToThreshold(run.curve, threshold, window);
  // Known once the window's last evaluation is in.
  const heldWallClockSec =
    heldAt === undefined ? undefined : run.curve.elapsedSec?.[steps.indexOf(heldAt) + window - 1];
  const firstOpenWindow = Math.max(0, steps.length - window + 1);
  return {
    runDir: run.runDir,
    task: run.task,
    algo: run.algo,
    seed: run.curve.seed,
    lastStep: steps.at(-1)!,
    lastSuccess: successRate.at(-1)!,
    heldAt,
    // Past the last evaluation when even the last window start is evaluated (window of 1).
    notHeldBefore: heldAt === undefined ? (steps[firstOpenWindow] ?? steps.at(-1)! + 1) : undefined,
    heldWallClockSec,
  };
}

function speedupsOf(groups: readonly GroupSummary[]): { speedups: Speedup[]; notes: string[] } {
  const speedups: Speedup[] = [];
  const notes: string[] = [];
  for (const rlingua of groups.filter((g) => g.algo === 'rlingua')) {
    // The RL baselines without the prior: BC and the ablations are not what the ratio is about.
    const baselines = groups.filter(
      (g) => g.task === rlingua.task && (RL_BASELINES as readonly string[]).includes(g.algo),
    );
    if (baselines.length === 0) continue;
    if (rlingua.runs.some((r) => r.heldAt === undefined)) {
      notes.push(
        `${rlingua.task}: no step ratio, rlingua did not hold ${rlingua.runs.filter((r) => r.heldAt === undefined).length} of its ${rlingua.runs.length} seeds`,
      );
      continue;
    }
    const rlinguaMeanSteps = mean(rlingua.runs.map((r) => r.heldAt!));
    for (const baseline of baselines) {
      const baselineMeanSteps = mean(baseline.runs.map((r) => r.heldAt ?? r.notHeldBefore!));
      speedups.push({
        task: rlingua.task,
        baseline: baseline.algo,
        ratio: baselineMeanSteps / rlinguaMeanSteps,
        atLeast: baseline.runs.some((r) => r.heldAt === undefined),
        rlinguaMeanSteps,
        baselineMeanSteps,
      });
    }
  }
  return { speedups, notes };
}

function mean(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

const formatSteps = (n: number) =>
  n >= 10_000 ? `${Math.round(n / 1000)}k` : Math.round(n).toLocaleString('en');
const formatPercent = (x: number) => `${Math.round(100 * x)}%`;
const formatDuration = (s: number) => (s < 120 ? `${s.toFixed(0)} s` : `${(s / 60).toFixed(1)} min`);

/** The report as markdown: one row per task and algo, seeds listed in order, then the ratios. */
export function reportMarkdown(report: RunsReport): string {
  const held = `${formatPercent(report.threshold)} held over ${report.window} evaluations`;
  const lines = [
    `| task | algo | seeds | env steps to ${held}, per seed | wall clock to it, per seed | last evaluation, per seed |`,
    '|---|---|---|---|---|---|',
  ];
  for (const g of report.groups) {
    const cells = g.runs.map((r) => ({
      steps: r.heldAt !== undefined ? formatSteps(r.heldAt) : `not held by ${formatSteps(r.lastStep)}`,
      time: r.heldWallClockSec !== undefined ? formatDuration(r.heldWallClockSec) : '–',
      last: `${formatPercent(r.lastSuccess)} at ${formatSteps(r.lastStep)}`,
    }));
    lines.push(
      `| ${g.task} | ${g.algo} | ${g.runs.map((r) => r.seed).join(' / ')} | ${cells.map((c) => c.steps).join(' / ')} | ${cells.map((c) => c.time).join(' / ')} | ${cells.map((c) => c.last).join(' / ')} |`,
    );
  }
  const out = [lines.join('\n')];
  const ratios = speedupLines(report);
  if (ratios.length > 0) out.push(ratios.join('\n'));
  return `${out.join('\n\n')}\n`;
}

/** RLingua's step ratios (and why a task has none) as markdown list items. */
export function speedupLines(report: Pick<RunsReport, 'speedups' | 'notes'>): string[] {
  const ratios = report.speedups.map((s) => {
    const bound = s.atLeast ? '≥ ' : '';
    const means = `mean ${formatSteps(s.rlinguaMeanSteps)} against ${bound}${formatSteps(s.baselineMeanSteps)}${s.atLeast ? '; a seed that never held counts as the first step it could still be held at' : ''}`;
    // Below 1 the baseline was the faster one (Reach: TD3 + HER holds 90% at 2k steps): say so.
    return s.ratio >= 1 || s.atLeast
      ? `- ${s.task}: rlingua needed ${bound}${s.ratio.toFixed(1)}× fewer env steps than ${s.baseline} (${means})`
      : `- ${s.task}: rlingua needed ${(1 / s.ratio).toFixed(1)}× more env steps than ${s.baseline} (${means})`;
  });
  return [...ratios, ...report.notes.map((n) => `- ${n}`)];
}

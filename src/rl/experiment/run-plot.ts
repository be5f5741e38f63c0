import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ArmpriorError } from '../../core/errors.js';
import { readRunInfo, runFiles } from '../train/run-dir.js';
import { aggregate, type CurveMetric, type RunCurve, readRunCurve } from './curves.js';
import { type CurveBand, curvesSvg } from './plot.js';

/** What is wrong with the runs asked to be plotted or reported; the message says which folder and why. */
export class PlotError extends ArmpriorError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('plot_input', message, options);
  }
}

/** Options of {@link curvesSvgForRuns}. */
export interface RunCurvesOptions {
  /** `success` (eval/success_rate, default) or `return` (eval/mean_return). */
  metric?: CurveMetric;
  /** Title; default `<task>: <metric> against environment steps` (or without the task when several). */
  title?: string;
  /** Band over the seeds of a group: ± one standard deviation (population, default) or min–max. */
  band?: CurveBand;
  /**
   * When no run has an evaluation yet: draw empty axes saying so (for a viewer polling runs that
   * just started) instead of throwing a {@link PlotError}.
   */
  allowEmpty?: boolean;
  /**
   * Told about each run left out because it has no evaluation yet (the CLI prints it), once the
   * plot is drawn; when nothing can be drawn the error names them instead.
   */
  onSkip?: (runDir: string, reason: string) => void;
}

/** One run read for a plot: its group label and curve. */
export interface LabelledRunCurve {
  runDir: string;
  /** `<task> · <algo>`: runs with the same label are seeds of one group. */
  label: string;
  task: string;
  algo: string;
  curve: RunCurve;
}

/**
 * The run folders `dirs` name: each is a run (it has run.json), or a folder holding runs one
 * level down (`runs/`, an experiment's folder), which stands for all of them. Anything else is a
 * {@link PlotError} naming the folder.
 */
export function resolveRunDirs(dirs: readonly string[]): string[] {
  const out: string[] = [];
  for (const dir of dirs) {
    if (!existsSync(dir) || !statSync(dir).isDirectory())
      throw new PlotError(`${dir} is not a folder (give run folders, e.g. runs/push__td3__0__…)`);
    if (existsSync(runFiles(dir).info)) {
      out.push(dir);
      continue;
    }
    const children = readdirSync(dir, { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && existsSync(runFiles(join(dir, entry.name)).info))
      .map((entry) => join(dir, entry.name))
      .sort();
    if (children.length === 0)
      throw new PlotError(`${dir} is not an armprior run folder (no run.json) and holds no runs`);
    out.push(...children);
  }
  return [...new Set(out)];
}

/**
 * Reads the evaluation curves of run folders (see {@link resolveRunDirs}), labelled
 * `<task> · <algo>` from run.json. Runs without an evaluation yet are left out and reported
 * through `onSkip`; a metrics.jsonl whose last line is still being written is read up to it.
 */
export function readRunCurves(
  dirs: readonly string[],
  onSkip?: (runDir: string, reason: string) => void,
): LabelledRunCurve[] {
  const runs: LabelledRunCurve[] = [];
  for (const runDir of resolveRunDirs(dirs)) {
    let info: ReturnType<typeof readRunInfo>;
    try {
      info = readRunInfo(runDir);
    } catch (cause) {
      throw new PlotError((cause as Error).message, { cause });
    }
    if (typeof info.task !== 'string' || typeof info.algo !== 'string' || !Number.isInteger(info.seed))
      throw new PlotError(`${runFiles(runDir).info} does not name the run's task, algo and seed`);
    const label = `${info.task} · ${info.algo}`;
    const curve = readRunCurve(runDir, label, info.seed);
    if (curve.steps.length === 0) {
      onSkip?.(runDir, 'no evaluation in metrics.jsonl yet');
      continue;
    }
    runs.push({ runDir, label, task: info.task, algo: info.algo, curve });
  }
  return runs;
}

/**
 * Learning curves of training runs as one SVG: per `<task> · <algo>` group, the mean over its
 * runs (seeds) of the evaluation success rate (or return) against environment steps, with a
 * band (± std, or min–max). What `armprior plot` writes and the viewer's web server serves; safe
 * to call while the runs are still training.
 *
 * Throws a {@link PlotError} for a folder that is not a run, and when no run has an evaluation
 * yet (unless `allowEmpty`).
 */
export async function curvesSvgForRuns(runDirs: string[], options: RunCurvesOptions = {}): Promise<string> {
  const metric = options.metric ?? 'success';
  const skips: [dir: string, reason: string][] = [];
  const runs = readRunCurves(runDirs, (dir, reason) => skips.push([dir, reason]));
  const skipped = skips.map(([dir]) => dir);
  if (runs.length === 0 && !options.allowEmpty) {
    throw new PlotError(
      `nothing to plot: no evaluation in metrics.jsonl yet in ${skipped.length === 1 ? skipped[0] : `any of the ${skipped.length} runs`}`,
    );
  }
  for (const [dir, reason] of skips) options.onSkip?.(dir, reason);
  const groups = new Map<string, RunCurve[]>();
  for (const run of runs) groups.set(run.label, [...(groups.get(run.label) ?? []), run.curve]);
  const tasks = [...new Set(runs.map((r) => r.task))];
  const what = metric === 'success' ? 'success rate' : 'return';
  const title =
    options.title ?? `${tasks.length === 1 ? `${tasks[0]}: ` : ''}${what} against environment steps`;
  const band = options.band ?? 'std';
  const notes = [
    `mean over seeds, band ${band === 'std' ? '± 1 std' : 'min–max'}`,
    ...(runs.length === 0 ? ['no evaluation yet'] : []),
    ...(skipped.length > 0 && runs.length > 0
      ? [`${skipped.length} run(s) without an evaluation yet left out`]
      : []),
  ];
  return curvesSvg(
    title,
    [...groups].map(([label, curves]) => aggregate(curves, label, metric)),
    { metric, band, subtitle: notes.join(' · ') },
  );
}

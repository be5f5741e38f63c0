import { type AggregateCurve, aggregate, type RunCurve, readRunCurve } from '../rl/experiment/curves.js';
import { successCurvesSvg } from '../rl/experiment/plot.js';
import { readRunInfo } from '../rl/train/run-dir.js';

/**
 * The viewer's default {@link import('./server.js').CurvesSvg}: runs grouped by task and
 * algorithm, each group one line (mean over its seeds) with a ± one standard deviation band,
 * through the same curve reading and Vega plot as `armprior experiment`. To be replaced by
 * `curvesSvgForRuns` (the `armprior plot` work of issue #6) once it lands.
 */
export async function defaultCurvesSvg(runDirs: string[]): Promise<string> {
  const groups = new Map<string, RunCurve[]>();
  const tasks = new Set<string>();
  for (const dir of runDirs) {
    const info = readRunInfo(dir);
    tasks.add(info.task);
    const label = `${info.task} ${info.algo}`;
    const curves = groups.get(label) ?? [];
    curves.push(readRunCurve(dir, label, info.seed));
    groups.set(label, curves);
  }
  const aggregates: AggregateCurve[] = [...groups].map(([label, curves]) => aggregate(curves, label));
  return successCurvesSvg([...tasks].join(', '), aggregates);
}

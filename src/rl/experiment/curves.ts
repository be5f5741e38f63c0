import { existsSync } from 'node:fs';
import { type MetricsRecord, readMetrics, runFiles } from '../train/run-dir.js';

/** What a learning curve shows: `eval/success_rate` or `eval/mean_return` of the deterministic policy. */
export type CurveMetric = 'success' | 'return';

/** One run's evaluation curve: deterministic-policy success rate and return against env steps. */
export interface RunCurve {
  label: string;
  seed: number;
  steps: number[];
  successRate: number[];
  meanReturn: number[];
  /** Seconds of training (time/elapsed_s of the train record before each evaluation), if logged. */
  elapsedSec?: (number | undefined)[];
}

/** Curves of several seeds of one method, on a common step grid. */
export interface AggregateCurve {
  label: string;
  steps: number[];
  mean: number[];
  /** Standard deviation over seeds at each step (population). */
  std: number[];
  min: number[];
  max: number[];
  seeds: number;
}

/**
 * The eval records of a run folder's metrics.jsonl (none when the file does not exist yet). A
 * torn last line (the trainer writing it right now) is skipped, so a running run can be read.
 */
export function readRunCurve(runDir: string, label: string, seed: number): RunCurve {
  const file = runFiles(runDir).metrics;
  const records = existsSync(file) ? readMetrics(file) : [];
  const evals: MetricsRecord[] = [];
  const elapsedSec: (number | undefined)[] = [];
  let elapsed: number | undefined;
  for (const record of records) {
    if (record.kind === 'eval') {
      evals.push(record);
      elapsedSec.push(elapsed);
    } else if (typeof record['time/elapsed_s'] === 'number') {
      elapsed = record['time/elapsed_s'];
    }
  }
  return {
    label,
    seed,
    steps: evals.map((r) => r.step),
    successRate: evals.map((r) => Number(r['eval/success_rate'])),
    meanReturn: evals.map((r) => Number(r['eval/mean_return'])),
    elapsedSec,
  };
}

/**
 * Mean and spread over seeds of `metric` (success rate unless told) at the steps the runs
 * evaluated at (runs of one config evaluate at the same steps; a run that stopped early only
 * contributes up to where it got).
 */
export function aggregate(
  curves: readonly RunCurve[],
  label: string,
  metric: CurveMetric = 'success',
): AggregateCurve {
  const steps = [...new Set(curves.flatMap((c) => c.steps))].sort((a, b) => a - b);
  const out: AggregateCurve = { label, steps: [], mean: [], std: [], min: [], max: [], seeds: curves.length };
  for (const step of steps) {
    const values = curves
      .map((c) => (metric === 'success' ? c.successRate : c.meanReturn)[c.steps.indexOf(step)])
      .filter((v): v is number => v !== undefined && Number.isFinite(v));
    if (values.length === 0) continue;
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    out.steps.push(step);
    out.mean.push(mean);
    out.std.push(Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / values.length));
    out.min.push(Math.min(...values));
    out.max.push(Math.max(...values));
  }
  return out;
}

/** Consecutive evaluations whose mean must reach the threshold for it to count as reached. */
export const HELD_EVALUATIONS = 3;

/**
 * The first evaluated step from which success is held at `threshold`: the mean of that
 * evaluation and the next `window − 1` reaches it (undefined if that never happens, or the run
 * ended before a full window). One evaluation is not enough: with 20 episodes, a policy that
 * succeeds 80% of the time scores ≥ 90% in one evaluation out of five (measured on Push: single
 * evaluations of 90–100% between 75–85% ones), and over three (60 episodes) about once in 30.
 */
export function stepsToThreshold(
  curve: RunCurve,
  threshold: number,
  window = HELD_EVALUATIONS,
): number | undefined {
  const rates = curve.successRate;
  for (let i = 0; i + window <= rates.length; i++) {
    const mean = rates.slice(i, i + window).reduce((a, b) => a + b, 0) / window;
    // A small tolerance: 0.9 + 0.9 + 0.9 averages to 0.8999… in floating point.
    if (mean >= threshold - 1e-9) return curve.steps[i];
  }
  return undefined;
}

import type { RunCurve } from './curves.js';
import type { PairedComparison } from './held-out.js';

/** The training-evaluation steps the table reads the success rate at (the milestones). */
export const MILESTONES = [10_000, 25_000, 50_000, 100_000] as const;

/** One method on one task over seeds. */
export interface MethodResult {
  task: string;
  method: string;
  /** Env steps per run (undefined for the prior). */
  steps?: number | undefined;
  seeds: number[];
  runDirs: string[];
  /** Last training evaluation per seed (the prior: its score on the same episodes). */
  finalSuccess: number[];
  /** Env steps from which the deterministic policy held the threshold (stepsToThreshold), per seed (undefined: never). */
  stepsToThreshold: (number | undefined)[];
  /** Training-evaluation success at each of {@link MILESTONES}, per seed (undefined: the run ended before). */
  successAt: Record<number, (number | undefined)[]>;
  /** Success on the held-out episodes, per seed (the prior: once). */
  heldOutSuccess: number[];
  /** Per seed, the final policy against the prior, paired over the held-out episodes. */
  againstPrior: PairedComparison[];
  wallClockSec: number[];
}

/** The training evaluation in force at `step`: the last at or before it, if the run got that far. */
export function successAt(curve: RunCurve, step: number): number | undefined {
  if ((curve.steps.at(-1) ?? 0) < step) return undefined;
  let value: number | undefined;
  for (let i = 0; i < curve.steps.length && curve.steps[i]! <= step; i++) value = curve.successRate[i];
  return value;
}

import { HELD_EVALUATIONS } from './curves.js';
import { type MethodResult, MILESTONES } from './method-result.js';

/** z from which a method counts as clearly better than the prior on one seed (issue #19). */
export const CLEARLY_BETTER_Z = 3;

const percent = (x: number) => `${(100 * x).toFixed(0)}%`;
const compactSteps = (n: number) => (n >= 1000 ? `${Number((n / 1000).toFixed(1))}k` : `${n}`);

function mean(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

function meanStd(values: readonly number[]): string {
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) return '–';
  const m = mean(finite);
  const std = Math.sqrt(finite.reduce((a, v) => a + (v - m) ** 2, 0) / finite.length);
  return finite.length === 1 ? percent(m) : `${percent(m)} ± ${(100 * std).toFixed(0)}`;
}

function stepsColumn(steps: readonly (number | undefined)[], budget: number | undefined): string {
  const reached = steps.filter((s): s is number => s !== undefined).sort((a, b) => a - b);
  if (reached.length === 0) return `not reached in ${(budget ?? 0).toLocaleString('en')}`;
  const median = reached[Math.floor((reached.length - 1) / 2)]!;
  return `${median.toLocaleString('en')} (${reached.length}/${steps.length} seeds reached it)`;
}

/** Mean over the seeds that got there; '–' where none did. */
function milestoneCell(values: readonly (number | undefined)[] | undefined): string {
  const known = (values ?? []).filter((v): v is number => v !== undefined);
  return known.length === 0 ? '–' : percent(mean(known));
}

/** z per seed, and how many of the seeds are clearly better. */
function againstPriorCell(r: MethodResult): string {
  if (r.againstPrior.length === 0) return '–';
  const clear = r.againstPrior.filter((c) => c.z >= CLEARLY_BETTER_Z).length;
  return `${r.againstPrior.map((c) => c.z.toFixed(1)).join(' / ')} (${clear}/${r.againstPrior.length} ≥ ${CLEARLY_BETTER_Z})`;
}

/**
 * The results table: per task and method, its budget, the training evaluation's success at the
 * milestones, the steps to the threshold held, the final policy on the held-out episodes, the
 * paired comparison with the prior (McNemar's z per seed) and the wall clock per run.
 */
export function markdownTable(
  results: readonly MethodResult[],
  plan: { threshold: number; seeds: number; heldOutEpisodes: number },
): string {
  const budgets = results.map((r) => r.steps ?? 0);
  const milestones = MILESTONES.filter((m) => budgets.some((b) => b >= m));
  const held = `env steps to ≥ ${percent(plan.threshold)}, held over ${HELD_EVALUATIONS} evaluations (median)`;
  const heldOut =
    plan.heldOutEpisodes > 0
      ? `final, ${plan.heldOutEpisodes} held-out episodes (mean ± std)`
      : 'final (last evaluation)';
  const header = [
    'task',
    'method',
    'env steps',
    ...milestones.map((m) => `at ${compactSteps(m)}`),
    held,
    heldOut,
    `against the prior: McNemar z per seed`,
    'wall clock per run',
  ];
  const lines = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`];
  for (const r of results) {
    const seconds = mean(r.wallClockSec.length > 0 ? r.wallClockSec : [0]);
    const isPrior = r.method === 'prior';
    const final = plan.heldOutEpisodes > 0 ? r.heldOutSuccess : r.finalSuccess;
    const cells = [
      r.task,
      r.method,
      isPrior ? '–' : (r.steps ?? 0).toLocaleString('en'),
      ...milestones.map((m) => (isPrior ? '–' : milestoneCell(r.successAt[m]))),
      isPrior
        ? r.stepsToThreshold[0] === 0
          ? 'already'
          : 'never (fixed controller)'
        : stepsColumn(r.stepsToThreshold, r.steps),
      meanStd(final),
      againstPriorCell(r),
      seconds < 120 ? `${seconds.toFixed(0)} s` : `${(seconds / 60).toFixed(1)} min`,
    ];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return `${lines.join('\n')}\n`;
}

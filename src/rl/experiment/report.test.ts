import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type EvalPoint, writeFixtureRun } from '../../../test/support/run-fixture.js';
import { reportMarkdown, reportRuns } from './report.js';
import { PlotError } from './run-plot.js';

const workspace = () => mkdtempSync(join(tmpdir(), 'armprior-report-'));

/** Evaluations every 2,000 steps from 2,000 with these success rates (the fixture's clock: step / 100 s). */
function evals(...rates: number[]): EvalPoint[] {
  return rates.map((rate, i) => [2000 * (i + 1), rate, -10]);
}

describe('reportRuns', () => {
  it('finds the first held window per seed, its wall clock, and rlingua’s step ratio against td3', () => {
    const root = workspace();
    writeFixtureRun(root, { task: 'push', algo: 'rlingua', seed: 0, evals: evals(0.5, 0.9, 0.95, 0.85, 1) });
    writeFixtureRun(root, { task: 'push', algo: 'rlingua', seed: 1, evals: evals(0.5, 0.6, 0.9, 0.9, 0.9) });
    // One evaluation of 100% between weaker ones is not held.
    writeFixtureRun(root, {
      task: 'push',
      algo: 'td3',
      seed: 0,
      evals: evals(0.2, 0.2, 1, 0.2, 0.2, 0.2, 0.2),
    });
    writeFixtureRun(root, {
      task: 'push',
      algo: 'td3',
      seed: 1,
      evals: evals(0.2, 0.3, 0.9, 0.9, 0.9, 0.9, 0.9),
    });

    const report = reportRuns([root], { threshold: 0.9 });
    expect(report.groups.map((g) => `${g.task} · ${g.algo}`)).toEqual(['push · rlingua', 'push · td3']);
    const [rlingua, td3] = report.groups;
    expect(rlingua!.runs.map((r) => r.heldAt)).toEqual([4000, 6000]);
    // Known once the window's last evaluation is in: 8,000 and 10,000 steps, at step / 100 s.
    expect(rlingua!.runs.map((r) => r.heldWallClockSec)).toEqual([80, 100]);
    expect(td3!.runs.map((r) => r.heldAt)).toEqual([undefined, 6000]);
    // Seven evaluations: windows from 2k … 10k are complete, so 12k is the earliest it could hold.
    expect(td3!.runs[0]!.notHeldBefore).toBe(12_000);
    expect(td3!.runs[0]).toMatchObject({ lastStep: 14_000, lastSuccess: 0.2, heldWallClockSec: undefined });

    expect(report.speedups).toEqual([
      {
        task: 'push',
        baseline: 'td3',
        ratio: 9000 / 5000,
        atLeast: true,
        rlinguaMeanSteps: 5000,
        baselineMeanSteps: 9000,
      },
    ]);
    const markdown = reportMarkdown(report);
    expect(markdown).toContain(
      '| push | rlingua | 0 / 1 | 4,000 / 6,000 | 80 s / 100 s | 100% at 10k / 90% at 10k |',
    );
    expect(markdown).toContain('| push | td3 | 0 / 1 | not held by 14k / 6,000 |');
    expect(markdown).toContain(
      '- push: rlingua needed ≥ 1.8× fewer env steps than td3 (mean 5,000 against ≥ 9,000',
    );
  });

  it('gives an exact ratio when every baseline seed held, and none when rlingua did not', () => {
    const root = workspace();
    writeFixtureRun(root, { task: 'reach', algo: 'rlingua', seed: 0, evals: evals(0.9, 0.9, 0.9) });
    writeFixtureRun(root, { task: 'reach', algo: 'sac', seed: 0, evals: evals(0, 0, 0.9, 1, 1) });
    writeFixtureRun(root, { task: 'push', algo: 'rlingua', seed: 0, evals: evals(0.5, 0.9, 0.9) });
    writeFixtureRun(root, { task: 'push', algo: 'td3', seed: 0, evals: evals(0.9, 0.9, 0.9) });
    const report = reportRuns([root], { threshold: 0.9 });
    expect(report.speedups).toEqual([
      expect.objectContaining({ task: 'reach', baseline: 'sac', ratio: 3, atLeast: false }),
    ]);
    expect(report.notes).toEqual(['push: no step ratio, rlingua did not hold 1 of its 1 seeds']);
    expect(reportMarkdown(report)).toContain('- push: no step ratio');
  });

  it('says so when the baseline needed fewer steps (Reach: TD3 + HER holds at once), and leaves BC out', () => {
    const root = workspace();
    writeFixtureRun(root, { task: 'reach', algo: 'rlingua', seed: 0, evals: evals(0.5, 0.9, 0.9, 0.9) });
    writeFixtureRun(root, { task: 'reach', algo: 'td3', seed: 0, evals: evals(0.9, 0.9, 0.9) });
    writeFixtureRun(root, { task: 'reach', algo: 'bc', seed: 0, evals: evals(0.9, 0.9, 0.9) });
    const report = reportRuns([root], { threshold: 0.9 });
    expect(report.speedups.map((s) => s.baseline)).toEqual(['td3']);
    expect(reportMarkdown(report)).toContain(
      '- reach: rlingua needed 2.0× more env steps than td3 (mean 4,000 against 2,000)',
    );
  });

  it('counts a threshold as held with fewer evaluations when asked', () => {
    const root = workspace();
    writeFixtureRun(root, { task: 'push', algo: 'td3', seed: 0, evals: evals(0.5, 0.95, 0.5) });
    expect(reportRuns([root], { threshold: 0.9, window: 1 }).groups[0]!.runs[0]!.heldAt).toBe(4000);
    expect(reportRuns([root], { threshold: 0.9 }).groups[0]!.runs[0]!.notHeldBefore).toBe(4000);
  });

  it('refuses two runs of one task, algo and seed, naming both folders', () => {
    const [a, b] = [workspace(), workspace()];
    const first = writeFixtureRun(a, { task: 'push', algo: 'rlingua', seed: 2, evals: evals(0.5) });
    const second = writeFixtureRun(b, { task: 'push', algo: 'rlingua', seed: 2, evals: evals(0.6) });
    expect(() => reportRuns([a, b], { threshold: 0.9 })).toThrow(PlotError);
    expect(() => reportRuns([a, b], { threshold: 0.9 })).toThrow(
      `${first} and ${second} are both push · rlingua · seed 2`,
    );
  });

  it('leaves out runs without an evaluation yet, and tells which', () => {
    const root = workspace();
    const empty = writeFixtureRun(root, { task: 'push', algo: 'td3', seed: 0, evals: [] });
    const skipped: string[] = [];
    const report = reportRuns([root], { threshold: 0.9, onSkip: (dir) => skipped.push(dir) });
    expect(report).toMatchObject({ groups: [], speedups: [], notes: [] });
    expect(skipped).toEqual([empty]);
  });
});

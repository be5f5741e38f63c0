import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './support/run-cli.js';
import { type EvalPoint, tearMetrics, writeFixtureRun } from './support/run-fixture.js';

/** Evaluations every 2,000 steps from 2,000 with these success rates. */
const evals = (...rates: number[]): EvalPoint[] => rates.map((rate, i) => [2000 * (i + 1), rate, -10]);

/** Push: two rlingua seeds that hold 90% (one caught mid-write) and two td3 seeds that never do. */
function fixtureRuns(): string {
  const root = mkdtempSync(join(tmpdir(), 'armprior-report-e2e-'));
  writeFixtureRun(root, { task: 'push', algo: 'rlingua', seed: 0, evals: evals(0.6, 0.9, 0.9, 0.9) });
  tearMetrics(
    writeFixtureRun(root, { task: 'push', algo: 'rlingua', seed: 1, evals: evals(0.9, 0.9, 0.9, 0.8) }),
  );
  for (const seed of [0, 1]) {
    writeFixtureRun(root, { task: 'push', algo: 'td3', seed, evals: evals(...Array(10).fill(0.2)) });
  }
  return root;
}

describe('armprior report', () => {
  it('prints the steps to a held success rate per seed and rlingua’s ratio against td3', async () => {
    const root = fixtureRuns();
    const out = join(root, 'report', 'results.md');
    const run = await runCli(['report', '--runs', root, '--out', out]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('| push | rlingua | 0 / 1 | 4,000 / 2,000 | 80 s / 60 s |');
    expect(run.stdout).toContain('| push | td3 | 0 / 1 | not held by 20k / not held by 20k |');
    // td3's earliest possible held step is 18k on each seed: 18k / 3k.
    expect(run.stdout).toContain(
      '- push: rlingua needed ≥ 6.0× fewer env steps than td3 (mean 3,000 against ≥ 18k',
    );
    expect(readFileSync(out, 'utf8')).toBe(run.stdout);

    const json = await runCli(['report', '--runs', root, '--threshold', '0.8', '--json']);
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout);
    expect(report.threshold).toBe(0.8);
    expect(report.groups[0].runs.map((r: { heldAt: number }) => r.heldAt)).toEqual([2000, 2000]);
  });

  it('refuses bad input with one clear line and exit code 2, writing nothing', async () => {
    const root = fixtureRuns();
    const notARun = join(root, 'notes');
    mkdirSync(notARun);
    const other = mkdtempSync(join(tmpdir(), 'armprior-report-e2e-'));
    const twin = writeFixtureRun(other, { task: 'push', algo: 'td3', seed: 1, evals: evals(0.3) });
    const fresh = writeFixtureRun(join(root, 'fresh'), { task: 'reach', algo: 'sac', seed: 3, evals: [] });
    const out = join(root, 'never.md');
    const cases: [string[], string][] = [
      [['--runs', notARun], `${notARun} is not an armprior run folder (no run.json) and holds no runs`],
      [
        ['--runs', fresh],
        `skipping ${fresh}: no evaluation in metrics.jsonl yet\narmprior: nothing to report: no run has an evaluation yet`,
      ],
      [
        ['--runs', root, twin],
        `${join(root, 'push__td3__1__20260101-000000')} and ${twin} are both push · td3 · seed 1: report one of them (or put each set of runs in its own report)`,
      ],
    ];
    for (const [args, reason] of cases) {
      const run = await runCli(['report', ...args, '--out', out]);
      expect(run.stderr).toBe(`armprior: ${reason}\n`);
      expect(run.code).toBe(2);
    }
    // Commander's own usage errors come with the usage.
    const threshold = await runCli(['report', '--runs', root, '--threshold', '1.5', '--out', out]);
    expect(threshold.code).toBe(2);
    expect(threshold.stderr).toContain("expected a rate in (0, 1], got '1.5'");
    expect(existsSync(out)).toBe(false);
  });
});

import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './support/run-cli.js';
import { tearMetrics, writeFixtureRun } from './support/run-fixture.js';

/** Two seeds of push · rlingua (one caught mid-write) and one push · td3, written as the trainer writes them. */
function fixtureRuns(): { root: string; runs: string[] } {
  const root = mkdtempSync(join(tmpdir(), 'armprior-plot-e2e-'));
  const runs = [
    writeFixtureRun(root, {
      task: 'push',
      algo: 'rlingua',
      seed: 0,
      evals: [
        [2000, 0.2, -40],
        [4000, 0.6, -22],
      ],
    }),
    writeFixtureRun(root, {
      task: 'push',
      algo: 'rlingua',
      seed: 1,
      evals: [
        [2000, 0.4, -36],
        [4000, 0.7, -18],
      ],
    }),
    writeFixtureRun(root, { task: 'push', algo: 'td3', seed: 0, evals: [[2000, 0.1, -48]] }),
  ];
  tearMetrics(runs[1]!);
  return { root, runs };
}

describe('armprior plot', () => {
  it('writes the learning curves of runs as SVG, grouped by task and algo', async () => {
    const { root, runs } = fixtureRuns();
    const out = join(root, 'out', 'curves.svg');
    const run = await runCli(['plot', '--runs', ...runs, '--out', out, '--title', 'Push, two methods']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout.trim()).toBe(out);
    const svg = readFileSync(out, 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('Push, two methods');
    expect(svg).toContain('push · rlingua (2 seeds)');
    expect(svg).toContain('push · td3 (1 seed)');
    expect(svg).toContain('success rate (deterministic policy)');
    // A line and a band per group: SVG paths beyond the axes and legend symbols.
    expect(svg.match(/<path/g)!.length).toBeGreaterThan(4);
  });

  it('writes a PNG, and plots the return on request', async () => {
    const { root } = fixtureRuns();
    const out = join(root, 'curves.png');
    const run = await runCli(['plot', '--runs', root, '--out', out, '--metric', 'return']);
    expect(run.code).toBe(0);
    const png = readFileSync(out);
    expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    expect(png.length).toBeGreaterThan(10_000);
  });

  it('refuses bad input with one clear line and exit code 2', async () => {
    const { root, runs } = fixtureRuns();
    const notARun = join(root, 'notes');
    mkdirSync(notARun);
    const fresh = writeFixtureRun(join(root, 'fresh'), { task: 'reach', algo: 'sac', seed: 3, evals: [] });
    const cases: [string[], string][] = [
      [
        ['--runs', runs[0]!, '--out', join(root, 'curves.pdf')],
        `--out ${join(root, 'curves.pdf')}: unknown extension '.pdf', use .svg or .png`,
      ],
      [
        ['--runs', notARun, '--out', join(root, 'a.svg')],
        `${notARun} is not an armprior run folder (no run.json) and holds no runs`,
      ],
      [
        ['--runs', fresh, '--out', join(root, 'b.svg')],
        `nothing to plot: no evaluation in metrics.jsonl yet in ${fresh}`,
      ],
    ];
    for (const [args, reason] of cases) {
      const run = await runCli(['plot', ...args]);
      expect(run.code).toBe(2);
      expect(run.stderr).toBe(`armprior: ${reason}\n`);
    }
    // Beside runs that have evaluations, a run without one is skipped and named.
    const mixed = await runCli(['plot', '--runs', runs[0]!, fresh, '--out', join(root, 'c.svg')]);
    expect(mixed.code).toBe(0);
    expect(mixed.stderr).toBe(`armprior: skipping ${fresh}: no evaluation in metrics.jsonl yet\n`);
  });
});

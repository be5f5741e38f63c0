import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tearMetrics, writeFixtureRun } from '../../../test/support/run-fixture.js';
import { curvesSvgForRuns, PlotError, readRunCurves } from './run-plot.js';

const workspace = () => mkdtempSync(join(tmpdir(), 'armprior-plot-'));

describe('learning curves of run folders', () => {
  it('groups runs by task and algo, seeds averaged, and reads a run whose last line is half written', async () => {
    const root = workspace();
    const a = writeFixtureRun(root, {
      task: 'push',
      algo: 'rlingua',
      seed: 0,
      evals: [
        [2000, 0.2, -40],
        [4000, 0.6, -20],
      ],
    });
    const b = writeFixtureRun(root, {
      task: 'push',
      algo: 'rlingua',
      seed: 1,
      evals: [
        [2000, 0.4, -35],
        [4000, 0.8, -15],
      ],
    });
    const c = writeFixtureRun(root, { task: 'push', algo: 'td3', seed: 0, evals: [[2000, 0.1, -48]] });
    tearMetrics(b);
    const runs = readRunCurves([a, b, c]);
    expect(runs.map((r) => r.label)).toEqual(['push · rlingua', 'push · rlingua', 'push · td3']);
    expect(runs[1]!.curve.steps).toEqual([2000, 4000]); // the torn line is not a record

    const svg = await curvesSvgForRuns([a, b, c]);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('push: success rate against environment steps');
    expect(svg).toContain('push · rlingua (2 seeds)');
    expect(svg).toContain('push · td3 (1 seed)');
    expect(svg).toContain('mean over seeds, band ± 1 std');

    // The parent folder stands for the runs in it.
    expect(readRunCurves([root])).toHaveLength(3);

    const returns = await curvesSvgForRuns([a, b], {
      metric: 'return',
      band: 'range',
      title: 'Push returns',
    });
    expect(returns).toContain('Push returns');
    expect(returns).toContain('mean return (deterministic policy)');
    expect(returns).toContain('band min–max');
  });

  it('skips runs with no evaluation yet, and says when there is nothing at all', async () => {
    const root = workspace();
    const done = writeFixtureRun(root, { task: 'reach', algo: 'sac', seed: 0, evals: [[1000, 0.5, -10]] });
    const fresh = writeFixtureRun(root, { task: 'reach', algo: 'sac', seed: 1, evals: [] });
    const skipped: string[] = [];
    const svg = await curvesSvgForRuns([done, fresh], { onSkip: (dir) => skipped.push(dir) });
    expect(skipped).toEqual([fresh]);
    expect(svg).toContain('1 run(s) without an evaluation yet left out');

    await expect(curvesSvgForRuns([fresh])).rejects.toThrow(PlotError);
    await expect(curvesSvgForRuns([fresh])).rejects.toThrow(`no evaluation in metrics.jsonl yet in ${fresh}`);
    // A viewer polling a run that just started gets empty axes instead.
    expect(await curvesSvgForRuns([fresh], { allowEmpty: true })).toContain('no evaluation yet');
  });

  it('refuses a folder that is not a run, naming it', async () => {
    const root = workspace();
    const empty = join(root, 'empty');
    mkdirSync(empty);
    await expect(curvesSvgForRuns([empty])).rejects.toThrow(`${empty} is not an armprior run folder`);
    await expect(curvesSvgForRuns([join(root, 'missing')])).rejects.toThrow('is not a folder');
    const broken = join(root, 'broken');
    mkdirSync(broken);
    writeFileSync(join(broken, 'run.json'), '{"task":');
    await expect(curvesSvgForRuns([broken])).rejects.toThrow(/run\.json is not valid JSON/);
  });
});

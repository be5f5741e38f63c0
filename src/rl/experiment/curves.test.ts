import { describe, expect, it } from 'vitest';
import { aggregate, type RunCurve, stepsToThreshold } from './curves.js';
import { successCurvesSvg } from './plot.js';

const curve = (seed: number, successRate: number[], steps = [1000, 2000, 3000]): RunCurve => ({
  label: 'td3',
  seed,
  steps,
  successRate,
  meanReturn: successRate.map(() => -10),
});

describe('learning curves', () => {
  it('averages seeds step by step, with std and range; a shorter run counts where it got', () => {
    const a = aggregate([curve(0, [0.2, 0.6, 1]), curve(1, [0.4, 0.8]), curve(2, [0, 0.4, 0.8])], 'td3');
    expect(a.steps).toEqual([1000, 2000, 3000]);
    expect(a.mean[0]).toBeCloseTo(0.2, 12);
    expect(a.std[0]).toBeCloseTo(Math.sqrt(((0.2 - 0.2) ** 2 + 0.2 ** 2 + 0.2 ** 2) / 3), 12);
    expect(a.mean[2]).toBeCloseTo(0.9, 12);
    expect([a.min[1], a.max[1]]).toEqual([0.4, 0.8]);
  });

  it('finds the first step from which the threshold is held over three evaluations', () => {
    const steps = [1000, 2000, 3000, 4000, 5000, 6000];
    expect(stepsToThreshold(curve(0, [0.5, 0.9, 0.9, 0.9, 0.8, 0.8], steps), 0.9)).toBe(2000);
    // A single lucky evaluation does not count…
    expect(stepsToThreshold(curve(0, [0.5, 1, 0.8, 0.8, 1, 0.75], steps), 0.9)).toBeUndefined();
    // …a stretch whose mean holds it does.
    expect(stepsToThreshold(curve(0, [0.5, 0.7, 0.8, 1, 0.85, 0.9], steps), 0.9)).toBe(4000);
    // The run ended before a full window after the first good evaluation.
    expect(stepsToThreshold(curve(0, [0.5, 0.6, 0.7, 0.6, 1, 1], steps), 0.9)).toBeUndefined();
    expect(stepsToThreshold(curve(0, [0.5, 0.9, 0.8]), 0.9, 1)).toBe(2000);
  });

  it('draws one line and band per method and the prior as a reference line, as SVG', async () => {
    const svg = await successCurvesSvg(
      'push',
      [aggregate([curve(0, [0.1, 0.5, 0.9])], 'rlingua')],
      [{ label: 'prior', value: 0.6 }],
    );
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('rlingua (1 seed)');
    expect(svg).toContain('environment steps');
    expect(svg.match(/<path/g)!.length).toBeGreaterThan(3);
  });
});

import { describe, expect, it } from 'vitest';
import { Rng } from '../core/rng.js';
import { RunningNormalizer } from './normalizer.js';

describe('RunningNormalizer', () => {
  it('matches the mean and variance of all data, whatever the batch sizes', () => {
    const rng = Rng.fromSeed(0);
    const data = Float64Array.from(
      { length: 3 * 997 },
      (_, i) => (i % 3) * 10 + rng.normal() * (1 + (i % 3)),
    );
    const normalizer = new RunningNormalizer(3);
    let row = 0;
    for (const rows of [1, 5, 100, 391, 500]) {
      normalizer.update(data.subarray(row * 3, (row + rows) * 3), rows);
      row += rows;
    }
    expect(row).toBe(997);
    const { mean, variance } = normalizer.statistics();
    for (let j = 0; j < 3; j++) {
      const column = Array.from({ length: 997 }, (_, r) => data[r * 3 + j]!);
      const m = column.reduce((a, b) => a + b, 0) / column.length;
      const v = column.reduce((a, b) => a + (b - m) ** 2, 0) / column.length;
      expect(mean[j]).toBeCloseTo(m, 10);
      expect(variance[j]).toBeCloseTo(v, 8);
    }
  });

  it('normalizes and clips, and survives a save/restore', () => {
    const normalizer = new RunningNormalizer(1, { clip: 2 });
    normalizer.update([0, 2, 4], 3); // mean 2, variance 8/3
    const out = new Float32Array(3);
    normalizer.normalize([2, 2 + Math.sqrt(8 / 3), 100], 3, out);
    expect(out[0]).toBeCloseTo(0, 6);
    expect(out[1]).toBeCloseTo(1, 5);
    expect(out[2]).toBe(2);
    const restored = RunningNormalizer.fromState(JSON.parse(JSON.stringify(normalizer.getState())));
    expect(restored.statistics()).toEqual(normalizer.statistics());
    expect(restored.samples).toBe(3);
  });

  it('refuses data of the wrong size', () => {
    expect(() => new RunningNormalizer(3).update([1, 2], 1)).toThrow(/size 3 got 2 values/);
  });
});

import { describe, expect, it } from 'vitest';
import { markdownTable } from './experiment-table.js';
import { mcNemar } from './held-out.js';
import type { MethodResult } from './method-result.js';

const fixed = (successes: number, of: number) => Array.from({ length: of }, (_, i) => i < successes);

describe('the experiment table', () => {
  it('gives the budget, the milestones, the steps held, the held-out score and the paired z per seed', () => {
    const prior = fixed(60, 100);
    const result = (method: string, steps: number, seeds: boolean[][]): MethodResult => ({
      task: 'push',
      method,
      steps,
      seeds: seeds.map((_, i) => i),
      runDirs: [],
      finalSuccess: seeds.map(() => 0.9),
      stepsToThreshold: [30_000, undefined, 20_000].slice(0, seeds.length),
      successAt: {
        10000: [0.5, 0.7, 0.6],
        25000: [0.9, 0.8, 1],
        50000: [1, 1, 1],
        100000: [undefined, undefined, undefined],
      },
      heldOutSuccess: seeds.map((s) => s.filter(Boolean).length / s.length),
      againstPrior: seeds.map((s) => mcNemar(s, prior)),
      wallClockSec: [600, 600, 600],
    });
    const table = markdownTable(
      [
        {
          task: 'push',
          method: 'prior',
          seeds: [0],
          runDirs: [],
          finalSuccess: [0.6],
          stepsToThreshold: [undefined],
          successAt: {},
          heldOutSuccess: [0.6],
          againstPrior: [],
          wallClockSec: [1],
        },
        // Seed 0 solves 20 more of the same 100 episodes: z = 20 / √20 = 4.5; seed 1 as the prior.
        result('rlingua', 90_000, [fixed(80, 100), fixed(60, 100), fixed(70, 100)]),
      ],
      { threshold: 0.9, seeds: 3, heldOutEpisodes: 100 },
    );
    const [header, , priorRow, rlinguaRow] = table.split('\n');
    expect(header).toBe(
      '| task | method | env steps | at 10k | at 25k | at 50k | env steps to ≥ 90%, held over 3 evaluations (median) | final, 100 held-out episodes (mean ± std) | against the prior: McNemar z per seed | wall clock per run |',
    );
    expect(priorRow).toBe('| push | prior | – | – | – | – | never (fixed controller) | 60% | – | 1 s |');
    expect(rlinguaRow).toBe(
      '| push | rlingua | 90,000 | 60% | 90% | 100% | 20,000 (2/3 seeds reached it) | 70% ± 8 | 4.5 / 0.0 / 3.2 (2/3 ≥ 3) | 10.0 min |',
    );
  });
});

describe('mcNemar', () => {
  it('counts the episodes only one of the two solved, and gives z in standard errors', () => {
    const first = [true, true, true, false, false, true];
    const second = [true, false, false, false, true, true];
    expect(mcNemar(first, second)).toEqual({ episodes: 6, onlyFirst: 2, onlySecond: 1, z: 1 / Math.sqrt(3) });
    // The learning log's Push seed: 79 episodes only the policy solved, 32 only the prior: z = 4.5.
    const policy = [...fixed(79, 111), true];
    const prior = [...fixed(111, 111).map((_, i) => i >= 79), true];
    expect(mcNemar(policy, prior).z).toBeCloseTo(47 / Math.sqrt(111), 10);
    expect(mcNemar([true, false], [true, false]).z).toBe(0);
    expect(() => mcNemar([true], [true, false])).toThrow(/differ in length/);
  });
});

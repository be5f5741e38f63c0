import { describe, expect, it } from 'vitest';
import { Rng } from '../core/rng.js';
import { createBasicController } from './basic.js';

const none = new Float64Array(0);

/** The first `steps` actions of an episode reset with `seed`. */
function actions(controller: ReturnType<typeof createBasicController>, seed: number | undefined, steps = 3) {
  controller.reset(seed);
  return Array.from({ length: steps }, () => Array.from(controller.act(none, none, none) as Float64Array));
}

describe('basic controllers', () => {
  it("random draws an episode's actions from its seed alone, whatever ran before", () => {
    const fresh = createBasicController('random', 4, Rng.fromSeed(1));
    const used = createBasicController('random', 4, Rng.fromSeed(99));
    actions(used, 5, 40);
    actions(used, undefined, 7);
    expect(actions(used, 12)).toEqual(actions(fresh, 12));
    expect(actions(fresh, 12)).not.toEqual(actions(fresh, 13));
    for (const action of actions(fresh, 12, 50))
      for (const x of action) expect(Math.abs(x)).toBeLessThanOrEqual(1);
  });

  it("random's actions are not the draws the env makes from the same seed", () => {
    const env = Rng.fromSeed(12);
    const first = Array.from({ length: 4 }, () => env.uniform(-1, 1));
    expect(actions(createBasicController('random', 4, Rng.fromSeed(0)), 12, 1)[0]).not.toEqual(first);
  });

  it('random without a seed draws on from the generator it was given', () => {
    const a = createBasicController('random', 2, Rng.fromSeed(3));
    const b = createBasicController('random', 2, Rng.fromSeed(3));
    const first = actions(a, undefined);
    expect(actions(b, undefined)).toEqual(first);
    // The next episode goes on where the last one stopped.
    expect(actions(a, undefined)).not.toEqual(first);
  });

  it('zero holds still', () => {
    expect(actions(createBasicController('zero', 3, Rng.fromSeed(0)), 1, 2)).toEqual([
      [0, 0, 0],
      [0, 0, 0],
    ]);
  });
});

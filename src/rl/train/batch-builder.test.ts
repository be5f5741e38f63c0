import { describe, expect, it } from 'vitest';
import { Rng } from '../../core/rng.js';
import { ReplayBuffer } from '../replay-buffer.js';
import { BatchBuilder } from './batch-builder.js';

const sizes = { observation: 2, goal: 1, action: 1 };
const her = { k: 4, computeReward: (a: Float64Array, d: Float64Array) => (a[0] === d[0] ? 0 : -1) };

/** A prior-driven episode: every step carries the prior's action as an imitation label. */
function demo(length: number) {
  const range = (n: number, f: (t: number) => number) => Float64Array.from({ length: n }, (_, t) => f(t));
  return {
    length,
    observation: range(2 * length, (i) => Math.floor(i / 2)),
    achievedGoal: range(length, (t) => t),
    desiredGoal: range(length, () => -1),
    action: range(length, () => 0.5),
    reward: range(length, () => -1),
    nextObservation: range(2 * length, (i) => Math.floor(i / 2) + 1),
    nextAchievedGoal: range(length, (t) => t + 1),
    terminated: new Uint8Array(length),
    priorActed: Uint8Array.from({ length }, () => 1),
    priorAction: range(length, () => 0.5),
    hasPriorAction: Uint8Array.from({ length }, () => 1),
  };
}

describe('BatchBuilder', () => {
  it('keeps imitation labels on HER-relabelled rows, or drops exactly those (rlingua.imitateRelabeled)', () => {
    const buffer = new ReplayBuffer(100, sizes);
    buffer.addEpisode(demo(20));
    for (const keep of [true, false]) {
      const batch = buffer.createBatch(500);
      buffer.sampleInto(batch, Rng.fromSeed(3), { her });
      const out = new BatchBuilder(sizes, batch, undefined, keep).build() as { hasPriorAction: Float32Array };
      let relabelled = 0;
      for (let row = 0; row < batch.size; row++) {
        relabelled += batch.relabeled[row]!;
        expect(out.hasPriorAction[row]).toBe(keep || batch.relabeled[row] === 0 ? 1 : 0);
      }
      expect(relabelled).toBeGreaterThan(300); // k = 4: about 4 rows in 5
      expect(relabelled).toBeLessThan(batch.size);
    }
  });
});

import { describe, expect, it } from 'vitest';
import { Rng } from '../core/rng.js';
import type { Episode } from '../episodes/episode.js';
import { sampleMixed } from './data-mixer.js';
import { type Batch, type HerOptions, ReplayBuffer } from './replay-buffer.js';
import { taggedEpisode } from './tagged-episode.js';

const sizes = { observation: 2, goal: 1, action: 1 };
const gamma = 0.9;

/** Episodes whose rows tell their episode and step, the reward −(t mod 3) at step t (different from step to step, so a wrong step in a sum shows). */
const episode = (tag: number, length: number): Episode =>
  taggedEpisode(tag, length, { reward: (t) => -(t % 3) });

const her: HerOptions = { k: 4, computeReward: (a, d) => (a[0] === d[0] ? 0 : -1) };

/**
 * The n-step target's parts for the row at step t of `ep`, by the textbook loop: the discounted
 * rewards of steps t … t + m − 1 (m ≤ n, stopping at the episode's end or a termination), the
 * state after step t + m − 1 and the weight γ^(m − 1) · (1 − terminated) of γ · Q there.
 */
function reference(ep: Episode, t: number, n: number, goal?: number) {
  let ret = 0;
  let last = t;
  for (let i = 0; i < n && t + i < ep.length; i++) {
    last = t + i;
    const reward =
      goal === undefined
        ? ep.reward[last]!
        : her.computeReward(ep.nextAchievedGoal.subarray(last, last + 1), Float64Array.of(goal));
    ret += gamma ** i * reward;
    if (ep.terminated[last]) break;
  }
  return {
    ret,
    next: ep.nextObservation[2 * last]!,
    weight: gamma ** (last - t) * (1 - ep.terminated[last]!),
  };
}

function filled(episodes: Episode[]): ReplayBuffer {
  const buffer = new ReplayBuffer(1000, sizes);
  for (const ep of episodes) buffer.addEpisode(ep);
  return buffer;
}

/** Asserts every row of `batch` against the reference (the row's goal where HER relabelled it). */
function expectReference(batch: Batch, episodes: Map<number, Episode>, n: number): void {
  for (let row = 0; row < batch.size; row++) {
    const obs = batch.observation[2 * row]!;
    const tag = Math.floor(obs / 100);
    const expected = reference(
      episodes.get(tag)!,
      obs - tag * 100,
      n,
      batch.relabeled[row] ? batch.desiredGoal[row] : undefined,
    );
    expect(batch.reward[row]).toBeCloseTo(expected.ret, 5);
    expect(batch.nextObservation[2 * row]).toBe(expected.next);
    expect(batch.notDone[row]).toBeCloseTo(expected.weight, 6);
  }
}

describe('n-step returns', () => {
  const episodes = new Map([
    [1, episode(1, 7)],
    [2, episode(2, 5)],
  ]);

  it('sum up to n discounted rewards of the episode and bootstrap after the last, stopping at its end', () => {
    const buffer = filled([...episodes.values()]);
    const batch = buffer.createBatch(500);
    buffer.sampleInto(batch, Rng.fromSeed(1), { nStep: { steps: 3, gamma } });
    expectReference(batch, episodes, 3);
    // Both ends are drawn: a row three steps from the end sums 3 rewards, the last one 1.
    const steps = new Set(Array.from({ length: batch.size }, (_, row) => batch.observation[2 * row]! % 100));
    expect(steps).toContain(0);
    expect(steps).toContain(6);
  });

  it('recompute every summed reward for a goal HER relabelled', () => {
    const buffer = filled([...episodes.values()]);
    const batch = buffer.createBatch(2000);
    buffer.sampleInto(batch, Rng.fromSeed(2), { her, nStep: { steps: 4, gamma } });
    expectReference(batch, episodes, 4);
    let successes = 0;
    for (let row = 0; row < batch.size; row++)
      if (batch.relabeled[row] && batch.reward[row]! > -1) successes++;
    expect(successes).toBeGreaterThan(0); // the relabelled goal was reached within the 4 steps
  });

  it('draw the same rows as the one-step return, and steps: 1 is the one-step return', () => {
    const buffer = filled([...episodes.values()]);
    const [plain, one, four] = [buffer.createBatch(64), buffer.createBatch(64), buffer.createBatch(64)];
    buffer.sampleInto(plain, Rng.fromSeed(3), { her });
    buffer.sampleInto(one, Rng.fromSeed(3), { her, nStep: { steps: 1, gamma } });
    buffer.sampleInto(four, Rng.fromSeed(3), { her, nStep: { steps: 4, gamma } });
    expect(one).toEqual(plain);
    for (const key of ['observation', 'desiredGoal', 'action', 'relabeled'] as const) {
      expect(Array.from(four[key])).toEqual(Array.from(plain[key]));
    }
    expect(Array.from(four.reward)).not.toEqual(Array.from(plain.reward));
  });

  it('apply to the demonstration rows only when the mixer is told so', () => {
    const demo = filled([episode(1, 7)]);
    const online = filled([episode(3, 7)]);
    const batch = demo.createBatch(200);
    const nStep = { steps: 3, gamma };
    const demoRows = sampleMixed(batch, Rng.fromSeed(4), { online, demo }, 0.5, {
      demo: { nStep },
      online: {},
    });
    expect(demoRows).toBe(100);
    expectReference({ ...batch, size: demoRows }, new Map([[1, episode(1, 7)]]), 3);
    for (let row = demoRows; row < batch.size; row++) {
      const t = batch.observation[2 * row]! - 300;
      expect(batch.reward[row]).toBe(-(t % 3));
      expect(batch.notDone[row]).toBe(1);
    }
  });
});

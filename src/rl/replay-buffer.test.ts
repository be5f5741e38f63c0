import { describe, expect, it } from 'vitest';
import { Rng } from '../core/rng.js';
import type { Episode } from '../episodes/episode.js';
import { sampleMixed } from './data-mixer.js';
import { ReplayBuffer } from './replay-buffer.js';
import { linearSchedule } from './schedule.js';
import { taggedEpisode } from './tagged-episode.js';

const sizes = { observation: 2, goal: 1, action: 1 };

/** Episodes whose rows tell their episode and step (tagged-episode.ts). */
function episode(tag: number, length: number, priorActed: 0 | 1 = 0): Episode {
  return taggedEpisode(tag, length, { priorActed });
}

const her = { k: 4, computeReward: (a: Float64Array, d: Float64Array) => (a[0] === d[0] ? 0 : -1) };

describe('ReplayBuffer', () => {
  it('samples stored transitions as they were, without HER', () => {
    const buffer = new ReplayBuffer(100, sizes);
    buffer.addEpisode(episode(1, 10));
    const batch = buffer.createBatch(64);
    buffer.sampleInto(batch, Rng.fromSeed(0));
    for (let row = 0; row < 64; row++) {
      const t = batch.observation[2 * row]! - 100;
      expect(t).toBeGreaterThanOrEqual(0);
      expect(batch.nextObservation[2 * row]).toBe(batch.observation[2 * row]! + 1);
      expect(batch.action[row]).toBeCloseTo(t / 10, 6);
      expect(batch.desiredGoal[row]).toBe(-1);
      expect(batch.reward[row]).toBe(-1);
      expect(batch.relabeled[row]).toBe(0);
    }
  });

  it('relabels with goals achieved later in the same episode, k/(k+1) of the time, and recomputes rewards', () => {
    const buffer = new ReplayBuffer(1000, sizes);
    for (let tag = 1; tag <= 5; tag++) buffer.addEpisode(episode(tag, 20));
    const batch = buffer.createBatch(4000);
    buffer.sampleInto(batch, Rng.fromSeed(1), { her });
    let relabeled = 0;
    let successes = 0;
    for (let row = 0; row < batch.size; row++) {
      const obs = batch.observation[2 * row]!;
      const tag = Math.floor(obs / 100);
      const t = obs - tag * 100;
      if (batch.relabeled[row]) {
        relabeled++;
        const goal = batch.desiredGoal[row]!;
        expect(Math.floor((goal - 1) / 100)).toBe(tag); // same episode
        expect(goal - tag * 100).toBeGreaterThanOrEqual(t + 1); // achieved at or after step t
        expect(goal - tag * 100).toBeLessThanOrEqual(20);
        expect(batch.reward[row]).toBe(goal === obs + 1 ? 0 : -1);
        if (batch.reward[row] === 0) successes++;
      }
    }
    expect(relabeled / batch.size).toBeGreaterThan(0.77);
    expect(relabeled / batch.size).toBeLessThan(0.83);
    expect(successes).toBeGreaterThan(0); // the "future = next step" case gives reward 0
  });

  it('keeps terminal flags for bootstrapping and the prior’s actions', () => {
    const buffer = new ReplayBuffer(100, sizes);
    buffer.addEpisode(episode(2, 3, 1)); // even tag: last step terminal
    const batch = buffer.createBatch(200);
    buffer.sampleInto(batch, Rng.fromSeed(2));
    for (let row = 0; row < batch.size; row++) {
      const t = batch.observation[2 * row]! - 200;
      expect(batch.notDone[row]).toBe(t === 2 ? 0 : 1);
      expect(batch.priorAction[row]).toBe(0.5);
      expect(batch.hasPriorAction[row]).toBe(1);
    }
    expect(buffer.priorActedFraction()).toBe(1);
  });

  it('keeps the prior-action label on relabelled rows (hindsight: the action led to that goal)', () => {
    const buffer = new ReplayBuffer(100, sizes);
    buffer.addEpisode(episode(2, 10, 1));
    const batch = buffer.createBatch(400);
    buffer.sampleInto(batch, Rng.fromSeed(6), { her });
    let relabeled = 0;
    for (let row = 0; row < batch.size; row++) {
      expect(batch.hasPriorAction[row]).toBe(1);
      relabeled += batch.relabeled[row]!;
    }
    expect(relabeled).toBeGreaterThan(250); // k = 4: about 80%
  });

  it('overwrites the oldest episodes and never relabels across an overwritten boundary', () => {
    const buffer = new ReplayBuffer(50, sizes);
    for (let tag = 1; tag <= 9; tag++) buffer.addEpisode(episode(tag, 10));
    expect(buffer.size).toBe(50);
    expect(buffer.totalAdded).toBe(90);
    const batch = buffer.createBatch(2000);
    buffer.sampleInto(batch, Rng.fromSeed(3), { her });
    for (let row = 0; row < batch.size; row++) {
      const tag = Math.floor(batch.observation[2 * row]! / 100);
      expect(tag).toBeGreaterThanOrEqual(5); // episodes 1-4 are gone
      if (batch.relabeled[row]) expect(Math.floor((batch.desiredGoal[row]! - 1) / 100)).toBe(tag);
    }
  });

  it('draws the same batch for the same seed', () => {
    const buffer = new ReplayBuffer(100, sizes);
    buffer.addEpisode(episode(1, 30));
    const a = buffer.createBatch(32);
    const b = buffer.createBatch(32);
    buffer.sampleInto(a, Rng.fromSeed(9), { her });
    buffer.sampleInto(b, Rng.fromSeed(9), { her });
    expect(Array.from(b.desiredGoal)).toEqual(Array.from(a.desiredGoal));
    expect(Array.from(b.observation)).toEqual(Array.from(a.observation));
  });
});

describe('replay buffer snapshots (checkpoints)', () => {
  it('restores a wrapped ring so that it samples exactly as the original', () => {
    const original = new ReplayBuffer(50, sizes);
    for (let e = 1; e <= 4; e++) original.addEpisode(episode(e, 20)); // 80 added: wrapped
    const restored = new ReplayBuffer(50, sizes);
    const snap = original.snapshot();
    restored.restore({
      added: snap.added,
      arrays: Object.fromEntries(Object.entries(snap.arrays).map(([k, v]) => [k, v.slice()])),
    });
    const a = original.createBatch(64);
    const b = restored.createBatch(64);
    original.sampleInto(a, Rng.fromSeed(4), { her });
    restored.sampleInto(b, Rng.fromSeed(4), { her });
    expect(b).toEqual(a);
    expect(restored.size).toBe(50);
  });

  it('refuses a snapshot of another size, naming the array', () => {
    const small = new ReplayBuffer(50, sizes);
    small.addEpisode(episode(1, 10));
    const other = new ReplayBuffer(50, { ...sizes, observation: sizes.observation + 1 });
    expect(() => other.restore(small.snapshot())).toThrow(/'obs' holds 20 values, expected 30/);
  });
});

describe('demonstration / online mixing', () => {
  it('decays the demo share linearly and then holds it', () => {
    const schedule = { initial: 0.5, final: 0.1, decaySteps: 1000 };
    expect(linearSchedule(schedule, 0)).toBe(0.5);
    expect(linearSchedule(schedule, 500)).toBeCloseTo(0.3, 12);
    expect(linearSchedule(schedule, 5000)).toBe(0.1);
  });

  it('fills the batch from both buffers in the asked proportion', () => {
    const demo = new ReplayBuffer(100, sizes);
    const online = new ReplayBuffer(100, sizes);
    demo.addEpisode(episode(1, 10, 1));
    const batch = demo.createBatch(100);
    expect(sampleMixed(batch, Rng.fromSeed(0), { online, demo }, 0.25)).toBe(100); // online empty
    online.addEpisode(episode(3, 10));
    expect(sampleMixed(batch, Rng.fromSeed(0), { online, demo }, 0.25)).toBe(25);
    for (let row = 0; row < 100; row++) {
      expect(Math.floor(batch.observation[2 * row]! / 100)).toBe(row < 25 ? 1 : 3);
    }
  });
});

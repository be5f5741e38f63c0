import { describe, expect, it } from 'vitest';
import { EpisodeBuilder } from './episode.js';
import type { Step } from './step.js';

const sizes = { observation: 2, goal: 1, action: 2 };
const step = (t: number, extra: Partial<Step> = {}): Step => ({
  observation: [t, -t],
  achievedGoal: [t],
  desiredGoal: [9],
  action: [t / 10, 0],
  reward: -1,
  nextObservation: [t + 1, -t - 1],
  nextAchievedGoal: [t + 1],
  terminated: false,
  truncated: false,
  priorActed: false,
  ...extra,
});

describe('EpisodeBuilder', () => {
  it('collects steps into columns, growing past its starting capacity, and starts afresh after take()', () => {
    const builder = new EpisodeBuilder(sizes, 2);
    for (let t = 0; t < 5; t++) builder.add(step(t, t === 4 ? { truncated: true } : {}));
    const episode = builder.take();
    expect(episode.length).toBe(5);
    expect(Array.from(episode.observation)).toEqual([0, -0, 1, -1, 2, -2, 3, -3, 4, -4]);
    expect(Array.from(episode.nextAchievedGoal)).toEqual([1, 2, 3, 4, 5]);
    expect(Array.from(episode.truncated)).toEqual([0, 0, 0, 0, 1]);
    expect(episode.sentAction).toBeUndefined();
    expect(builder.length).toBe(0);
    builder.add(step(7));
    expect(Array.from(builder.take().observation)).toEqual([7, -7]);
    // The first episode's columns are its own: the builder did not reuse them.
    expect(episode.observation[0]).toBe(0);
  });

  it('keeps the prior action only where it was asked, and the robot columns when given', () => {
    const builder = new EpisodeBuilder(sizes, 4);
    builder.add(
      step(0, { priorActed: true, priorAction: [0.5, 0.5], sentAction: [0.1, 0], safetyInterventions: 2 }),
    );
    builder.add(step(1, { priorAction: null, sentAction: [0.2, 0], safetyInterventions: 0, timeSec: 0.08 }));
    const episode = builder.take();
    expect(Array.from(episode.priorActed)).toEqual([1, 0]);
    expect(Array.from(episode.hasPriorAction)).toEqual([1, 0]);
    expect(Array.from(episode.priorAction)).toEqual([0.5, 0.5, 0, 0]);
    expect(Array.from(episode.sentAction!)).toEqual([0.1, 0, 0.2, 0]);
    expect(Array.from(episode.safetyInterventions!)).toEqual([2, 0]);
    expect(episode.timeSec[0]).toBeNaN(); // not given: the dataset writer fills it in
    expect(episode.timeSec[1]).toBe(0.08);
  });
});

import { describe, expect, it } from 'vitest';
import type { Step } from '../episodes/step.js';
import { ReplayBuffer } from './replay-buffer.js';
import { ReplayBufferSink } from './replay-buffer-sink.js';

const sizes = { observation: 2, goal: 1, action: 2 };

/** Step t of an episode: the prior drove the even steps; every step carries the prior's answer. */
function step(t: number): Step {
  return {
    observation: [t, t],
    achievedGoal: [t],
    desiredGoal: [9],
    action: [0.1, 0.2],
    reward: -1,
    nextObservation: [t + 1, t + 1],
    nextAchievedGoal: [t + 1],
    terminated: false,
    truncated: t === 3,
    priorActed: t % 2 === 0,
    priorAction: [t / 10, -t / 10],
  };
}

function storeEpisode(dropPriorLabels: boolean) {
  const buffer = new ReplayBuffer(16, sizes);
  const sink = new ReplayBufferSink(buffer, sizes, 4);
  sink.begin();
  for (let t = 0; t < 4; t++) sink.step(step(t));
  if (dropPriorLabels) sink.dropLabelsOfPriorSteps();
  sink.end();
  const { arrays } = buffer.snapshot();
  return { has: [...arrays.hasPriorAction!], labels: [...arrays.priorAction!] };
}

describe('ReplayBufferSink', () => {
  it('keeps the prior answer of every step as a label by default', () => {
    expect(storeEpisode(false)).toEqual({
      has: [1, 1, 1, 1],
      labels: [0, -0, 0.1, -0.1, 0.2, -0.2, 0.3, -0.3],
    });
  });

  it("drops the labels of the prior's own steps of a failed episode, keeping those on the policy's steps", () => {
    expect(storeEpisode(true)).toEqual({
      has: [0, 1, 0, 1],
      labels: [0, 0, 0.1, -0.1, 0, 0, 0.3, -0.3],
    });
  });

  it('forgets the drop at the next episode', () => {
    const buffer = new ReplayBuffer(16, sizes);
    const sink = new ReplayBufferSink(buffer, sizes, 4);
    sink.begin();
    sink.step(step(0));
    sink.dropLabelsOfPriorSteps();
    sink.end();
    sink.begin();
    sink.step(step(0));
    sink.end();
    expect([...buffer.snapshot().arrays.hasPriorAction!]).toEqual([0, 1]);
  });
});

import { describe, expect, it } from 'vitest';
import { observationLayout } from '../contract/controller-contract.js';
import { EpisodeTracker, summarizeDiagnoses } from './rollout-critic.js';

const layout = observationLayout(
  [
    { name: 'eePosition', size: 3, unit: 'm', description: '' },
    { name: 'objectPosition', size: 3, unit: 'm', description: '' },
  ],
  [{ name: 'goalPosition', size: 3, unit: 'm', description: '' }],
  4,
);
const goal = [0.1, 0, 0.15];

/** Feeds (ee, object) positions through a tracker and returns its verdict. */
function diagnose(path: [number[], number[]][], success = false) {
  const tracker = new EpisodeTracker(layout, 0.05);
  for (const [ee, object] of path) tracker.observe([...ee, ...object], object, goal);
  return tracker.diagnose(success, [], undefined, true).outcome;
}

describe('EpisodeTracker', () => {
  const start: [number[], number[]] = [
    [0, 0, 0.2],
    [-0.1, 0, 0.02],
  ];
  it('tells the phases of a pick-and-place failure apart', () => {
    expect(
      diagnose([
        start,
        [
          [-0.05, 0, 0.1],
          [-0.1, 0, 0.02],
        ],
      ]),
    ).toBe('never reached the object');
    expect(
      diagnose([
        start,
        [
          [-0.1, 0, 0.03],
          [-0.1, 0, 0.02],
        ],
      ]),
    ).toBe('reached the object but did not move it');
    expect(
      diagnose([
        start,
        [
          [-0.1, 0, 0.03],
          [-0.05, 0, 0.02],
        ],
      ]),
    ).toBe('moved the object but never lifted it');
    expect(
      diagnose([
        start,
        [
          [-0.1, 0, 0.03],
          [-0.1, 0, 0.02],
        ],
        [
          [-0.1, 0, 0.1],
          [-0.1, 0, 0.09],
        ],
        [
          [-0.1, 0, 0.1],
          [-0.1, 0, 0.02],
        ],
      ]),
    ).toBe('lifted the object but lost the grasp');
    expect(
      diagnose([
        start,
        [
          [0.1, 0, 0.15],
          [0.1, 0, 0.15],
        ],
        [
          [0.3, 0, 0.15],
          [0.3, 0, 0.15],
        ],
      ]),
    ).toBe('reached the goal but left it again (overshot or dropped)');
    expect(
      diagnose(
        [
          start,
          [
            [0.1, 0, 0.15],
            [0.1, 0, 0.15],
          ],
        ],
        true,
      ),
    ).toBe('success');
  });

  it('summarizes a set of episodes with counts per failure', () => {
    const tracker = () => new EpisodeTracker(layout, 0.05);
    const a = tracker();
    a.observe([0, 0, 0.2, -0.1, 0, 0.02], [-0.1, 0, 0.02], goal);
    const text = summarizeDiagnoses([a.diagnose(false), a.diagnose(false), a.diagnose(true)]);
    expect(text).toContain('success rate: 1/3 (33%)');
    expect(text).toContain('2 × never reached the object');
  });
});

describe('EpisodeTracker on a miss', () => {
  const reachLayout = observationLayout(
    [{ name: 'eePosition', size: 3, unit: 'm', description: '' }],
    [{ name: 'goalPosition', size: 3, unit: 'm', description: '' }],
    3,
  );
  const miss = (end: number[]) => {
    const tracker = new EpisodeTracker(reachLayout, 0.05);
    const target = [0.3, 0, 0.1];
    tracker.observe([0, 0, 0.1], [0, 0, 0.1], target);
    tracker.observe(end, end, target);
    return tracker.diagnose(false).outcome;
  };
  it('says whether it fell short, overshot or went off the line', () => {
    expect(miss([0.2, 0, 0.1])).toBe('stopped short of the goal');
    expect(miss([0.4, 0, 0.1])).toBe('overshot the goal');
    expect(miss([0.28, 0.12, 0.1])).toBe('went off the line to the goal');
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArmEnv } from '../../sim/env.js';
import { type EpisodeController, runEpisode } from './run-episode.js';
import type { EpisodeSink } from './sink.js';
import type { EpisodeBegin, EpisodeEnd, Step } from './step.js';

/** A sink that keeps copies of what it is handed, in order. */
function recordingSink(needsScenePoses = false) {
  const calls: (['begin', EpisodeBegin] | ['step', Step] | ['end', EpisodeEnd])[] = [];
  const sink: EpisodeSink = {
    needsScenePoses,
    begin: (begin) => calls.push(['begin', { ...begin, scene: begin.scene && copyPoses(begin.scene) }]),
    step: (step) =>
      calls.push([
        'step',
        {
          ...step,
          observation: Array.from(step.observation),
          nextObservation: Array.from(step.nextObservation),
          scene: step.scene && copyPoses(step.scene),
        },
      ]),
    end: (end) => {
      calls.push(['end', end]);
    },
  };
  return { sink, calls };
}
const copyPoses = (poses: { bodyPos: ArrayLike<number>; bodyQuat: ArrayLike<number> }) => ({
  bodyPos: Array.from(poses.bodyPos),
  bodyQuat: Array.from(poses.bodyQuat),
});

const pushing = (isPrior: boolean, abortAfter?: number): EpisodeController => {
  let step = 0;
  return {
    name: 'test',
    isPrior,
    reset: () => {
      step = 0;
    },
    act: () => {
      step++;
      return [3, 0, -0.5]; // beyond [-1, 1]: the env clips, the step records what was applied
    },
    abortReason: () => (abortAfter !== undefined && step >= abortAfter ? 'gave up' : undefined),
  };
};

describe('runEpisode', () => {
  let env: ArmEnv;
  beforeAll(async () => {
    env = await ArmEnv.create({ task: 'reach' });
  });
  afterAll(() => env.close());

  it('hands every sink the start, each step (s, a, r, s′) and the end, in order', async () => {
    const a = recordingSink();
    const b = recordingSink();
    const summary = await runEpisode(env, pushing(false), 5, { index: 3, sinks: [a.sink, b.sink] });
    expect(b.calls.map((c) => c[0])).toEqual(a.calls.map((c) => c[0]));
    const [first, ...rest] = a.calls;
    const steps = rest.slice(0, -1).map((c) => c[1] as Step);
    expect(first![0]).toBe('begin');
    expect(first![1]).toMatchObject({ index: 3, seed: 5, success: false });
    expect(a.calls.at(-1)).toEqual(['end', { reason: 'truncated' }]);
    expect(steps).toHaveLength(summary.length);
    expect(steps.reduce((sum, s) => sum + s.reward, 0)).toBeCloseTo(summary.return, 10);
    for (let t = 1; t < steps.length; t++)
      expect(steps[t]!.observation).toEqual(steps[t - 1]!.nextObservation);
    expect(steps[0]!.action).toEqual([1, 0, -0.5]);
    expect(steps.map((s) => s.truncated)).toEqual(steps.map((_, t) => t === steps.length - 1));
    expect(steps.every((s) => !s.priorActed && s.priorAction === null && s.scene === undefined)).toBe(true);
  });

  it("marks a prior's actions as the prior's, and ends an aborted episode `aborted`, not truncated", async () => {
    const { sink, calls } = recordingSink();
    const summary = await runEpisode(env, pushing(true, 4), 1, { sinks: [sink] });
    expect(summary.abortReason).toBe('gave up');
    const steps = calls.filter((c) => c[0] === 'step').map((c) => c[1] as Step);
    expect(steps).toHaveLength(4);
    expect(steps.every((s) => s.priorActed && Array.from(s.priorAction!).join() === '1,0,-0.5')).toBe(true);
    expect(steps.every((s) => !s.truncated)).toBe(true);
    expect(calls.at(-1)).toEqual(['end', { reason: 'aborted' }]);
  });

  it('reads the scene poses only when a sink asks, after reset and after each step', async () => {
    const plain = recordingSink(false);
    const scene = recordingSink(true);
    await runEpisode(env, pushing(false, 2), 2, { sinks: [plain.sink, scene.sink] });
    const bodies = env.simulation.model.nbody;
    const begin = scene.calls[0]![1] as EpisodeBegin;
    expect(begin.scene!.bodyPos).toHaveLength(3 * bodies);
    const [s1, s2] = scene.calls.slice(1, 3).map((c) => (c[1] as Step).scene!);
    expect(s1!.bodyQuat).toHaveLength(4 * bodies);
    expect(s2!.bodyPos).not.toEqual(s1!.bodyPos); // the arm moved between the two steps
  });
});

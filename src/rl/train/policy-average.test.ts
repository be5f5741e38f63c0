import { describe, expect, it } from 'vitest';
import { Rng } from '../../core/rng.js';
import { initMlp, type MlpParameters, mlpForward } from '../graph/mlp.js';
import type { Learner } from '../learner.js';
import { PolicyAverage, PolicyAveragingSchema } from './policy-average.js';

const SIZES = [3, 4, 2];

/** A learner whose policy is whatever `current` holds; only what averaging reads of it. */
function fakeLearner(): Learner & { current: MlpParameters } {
  const learner = {
    algorithm: 'td3' as const,
    current: initMlp(SIZES, Rng.fromSeed(0)),
    policyParameters: () => learner.current,
    act: (input: Float32Array, rows: number) => mlpForward(learner.current, input, rows, 'tanh'),
  };
  return learner as unknown as Learner & { current: MlpParameters };
}

const flat = (p: MlpParameters) => [...p.weights, ...p.biases].flatMap((a) => Array.from(a));

describe('PolicyAverage', () => {
  it('averages the policy’s weights every everySteps from fromStep on, and evaluates the mean', () => {
    const average = new PolicyAverage(
      PolicyAveragingSchema.parse({ enabled: true, fromStep: 1000, everySteps: 500 }),
    );
    const learner = fakeLearner();
    const policies: MlpParameters[] = [];
    for (let step = 100; step <= 2000; step += 100) {
      learner.current = initMlp(SIZES, Rng.fromSeed(step)); // the learner moves every round
      const before = average.size;
      average.observe(step, learner);
      if (average.size > before) policies.push(learner.current);
      if (step === 900) expect(average.policy(learner)).toBe(learner); // empty: the learner's own
    }
    expect(average.size).toBe(3); // steps 1000, 1500, 2000
    const mean = average.policy(learner);
    const expected = flat(policies[0]!).map((_, i) => policies.reduce((s, p) => s + flat(p)[i]!, 0) / 3);
    for (const [i, v] of flat(mean.policyParameters()).entries()) expect(v).toBeCloseTo(expected[i]!, 6);
    const input = Float32Array.of(0.3, -0.2, 0.9, 1, 0, -1);
    const rng = Rng.fromSeed(1);
    expect(mean.act(input, 2, 'deterministic', rng)).toEqual(
      mlpForward(mean.policyParameters(), input, 2, 'tanh'),
    );
    expect(mean.act(input, 2, 'deterministic', rng)).not.toEqual(learner.act(input, 2, 'deterministic', rng));
  });

  it('does nothing when disabled', () => {
    const average = new PolicyAverage(PolicyAveragingSchema.parse({}));
    const learner = fakeLearner();
    for (let step = 0; step <= 5000; step += 100) average.observe(step, learner);
    expect(average.size).toBe(0);
    expect(average.policy(learner)).toBe(learner);
  });

  it('restores its mean and schedule from a checkpoint, and starts empty from one written before it existed', () => {
    const config = PolicyAveragingSchema.parse({ enabled: true, fromStep: 0, everySteps: 200 });
    const original = new PolicyAverage(config);
    const learner = fakeLearner();
    original.observe(0, learner);
    learner.current = initMlp(SIZES, Rng.fromSeed(9));
    original.observe(200, learner);
    // As a checkpoint keeps them: the counters through JSON, the weights as float32 arrays.
    const state = JSON.parse(JSON.stringify(original.getState().state)) as ReturnType<
      PolicyAverage['getState']
    >['state'];
    const restored = new PolicyAverage(config);
    restored.loadState(state, original.getState().arrays, SIZES);
    expect(flat(restored.policy(learner).policyParameters())).toEqual(
      flat(original.policy(learner).policyParameters()),
    );
    // The schedule goes on where it was: 300 is not an averaging step, 400 is.
    for (const avg of [original, restored]) {
      avg.observe(300, learner);
      expect(avg.size).toBe(2);
      avg.observe(400, learner);
      expect(avg.size).toBe(3);
    }
    const old = new PolicyAverage(config);
    old.loadState(undefined, {}, SIZES);
    expect(old.size).toBe(0);
    expect(() => restored.loadState(state, original.getState().arrays, [3, 5, 2])).toThrow(
      /does not fit the network \(layer 0\)/,
    );
  });
});

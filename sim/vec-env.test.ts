import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, InvalidActionError, UnknownNameError } from '../src/core/errors.js';
import { Rng } from '../src/core/rng.js';
import { ArmEnv } from './env.js';
import { VecEnv } from './vec-env.js';

describe('VecEnv', () => {
  const opened: VecEnv[] = [];
  afterAll(async () => {
    await Promise.all(opened.map((v) => v.close()));
  });

  it('equals N sequential envs with the same seeds, through auto-resets', async () => {
    const numEnvs = 3;
    const seed = 20;
    const vec = await VecEnv.create({ task: 'pick-and-place', numEnvs, numWorkers: 2, seed });
    opened.push(vec);
    const envs = await Promise.all(
      Array.from({ length: numEnvs }, () => ArmEnv.create({ task: 'pick-and-place' })),
    );
    try {
      const o = vec.observationSize;
      const g = vec.goalSize;
      const a = vec.actionSize;
      const first = await vec.reset();
      envs.forEach((env, i) => {
        const { obs } = env.reset({ seed: seed + i });
        expect(Array.from(first.observation.subarray(i * o, (i + 1) * o))).toEqual(
          Array.from(obs.observation),
        );
        expect(Array.from(first.desiredGoal.subarray(i * g, (i + 1) * g))).toEqual(
          Array.from(obs.desiredGoal),
        );
      });
      const rng = Rng.fromSeed(3);
      let episodesEnded = 0;
      for (let t = 0; t < 120; t++) {
        const actions = Float64Array.from({ length: numEnvs * a }, () => rng.uniform(-1, 1));
        const r = await vec.step(actions);
        envs.forEach((env, i) => {
          const s = env.step(actions.subarray(i * a, (i + 1) * a));
          expect(r.reward[i]).toBe(s.reward);
          expect(r.truncated[i]).toBe(s.truncated ? 1 : 0);
          expect(r.terminated[i]).toBe(s.terminated ? 1 : 0);
          expect(r.isSuccess[i]).toBe(s.info.isSuccess ? 1 : 0);
          let current = s.obs;
          if (s.truncated || s.terminated) {
            episodesEnded++;
            expect(Array.from(r.finalObservation.subarray(i * o, (i + 1) * o))).toEqual(
              Array.from(s.obs.observation),
            );
            expect(Array.from(r.finalAchievedGoal.subarray(i * g, (i + 1) * g))).toEqual(
              Array.from(s.obs.achievedGoal),
            );
            current = env.reset().obs;
          }
          expect(Array.from(r.observation.subarray(i * o, (i + 1) * o))).toEqual(
            Array.from(current.observation),
          );
          expect(Array.from(r.achievedGoal.subarray(i * g, (i + 1) * g))).toEqual(
            Array.from(current.achievedGoal),
          );
          expect(Array.from(r.desiredGoal.subarray(i * g, (i + 1) * g))).toEqual(
            Array.from(current.desiredGoal),
          );
        });
      }
      expect(episodesEnded).toBe(2 * numEnvs); // 120 steps = two 50-step episodes each, and a partial one
    } finally {
      for (const env of envs) env.close();
    }
  });

  it('ignores a wake-up that comes late, after the command it announced has run', async () => {
    // The main thread can be preempted between issuing a command and notifying the worker; the
    // worker, polling, runs the command and goes back to sleep, and the late notify then wakes
    // it with no new command. It must sleep again, not run the command twice.
    const vec = await VecEnv.create({ task: 'reach', numEnvs: 1, numWorkers: 1, seed: 3 });
    opened.push(vec);
    const env = await ArmEnv.create({ task: 'reach' });
    try {
      await vec.reset();
      env.reset({ seed: 3 });
      const control = (vec as unknown as { control: Int32Array }).control;
      for (let t = 0; t < 20; t++) {
        const action = [Math.sin(t), Math.cos(t), 0.5];
        const r = await vec.step(action);
        expect(Array.from(r.observation)).toEqual(Array.from(env.step(action).obs.observation));
        await new Promise((resolve) => setTimeout(resolve, 3)); // the worker is asleep by now
        Atomics.notify(control, 0); // slot 0 of worker 0: its command counter
        await new Promise((resolve) => setTimeout(resolve, 3));
      }
    } finally {
      env.close();
    }
  });

  it('gives the same results with 1 and 2 workers', async () => {
    const run = async (numWorkers: number) => {
      const vec = await VecEnv.create({ task: 'push', numEnvs: 4, numWorkers, seed: 7 });
      opened.push(vec);
      const rng = Rng.fromSeed(1);
      const seen: number[] = [...(await vec.reset()).observation];
      for (let t = 0; t < 30; t++) {
        const r = await vec.step(Float64Array.from({ length: 4 * vec.actionSize }, () => rng.uniform(-1, 1)));
        seen.push(...r.observation, ...r.reward);
      }
      return seen;
    };
    expect(await run(2)).toEqual(await run(1));
  });

  it('refuses bad actions with a message naming the env, and keeps working', async () => {
    const vec = await VecEnv.create({ task: 'reach', numEnvs: 2, numWorkers: 2 });
    opened.push(vec);
    await vec.reset();
    await expect(vec.step(new Float64Array(5))).rejects.toThrow(/2 envs × 3 values = 6 numbers, got 5/);
    await expect(vec.step([0, 0, 0, 0, Number.NaN, 0])).rejects.toThrow(InvalidActionError);
    await expect(vec.step([0, 0, 0, 0, Number.NaN, 0])).rejects.toThrow(/env 1, value 1, is NaN/);
    const r = await vec.step(new Float64Array(6));
    expect(r.reward.length).toBe(2);
  });

  it('reports an unknown task or a bad config before starting workers', async () => {
    await expect(VecEnv.create({ task: 'stack', numEnvs: 2 })).rejects.toThrow(UnknownNameError);
    await expect(
      VecEnv.create({ task: 'push', numEnvs: 2, taskOverrides: { maxEpisodeSteps: -3 } }),
    ).rejects.toThrow(ConfigError);
  });

  it('reports a failure inside a worker at start-up, naming the cause', async () => {
    await expect(
      VecEnv.create({ task: 'push', numEnvs: 2, robot: '/nonexistent/robot.yaml' }),
    ).rejects.toThrow(/nonexistent\/robot.yaml/);
  });

  it('is unusable after close', async () => {
    const vec = await VecEnv.create({ task: 'reach', numEnvs: 1 });
    await vec.reset();
    await vec.close();
    await expect(vec.step([0, 0, 0])).rejects.toThrow(/closed/);
  });
});

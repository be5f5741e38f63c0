import { describe, expect, it } from 'vitest';
import { ConfigError, UnknownNameError } from '../../src/core/errors.js';
import { Rng } from '../../src/core/rng.js';
import { loadRobotConfig } from '../../src/robot-config/robot-config.js';
import { ArmEnv } from '../env.js';
import { createTask, taskDefinition, taskNames } from './registry.js';

describe('task registry', () => {
  it('lists the panda-gym tasks and OpenDrawer', () => {
    expect(taskNames()).toEqual(['reach', 'push', 'pick-and-place', 'slide', 'open-drawer']);
    expect(taskDefinition('PickAndPlace').name).toBe('pick-and-place');
  });

  it('names the known tasks when asked for an unknown one', () => {
    expect(() => taskDefinition('stack')).toThrow(UnknownNameError);
    expect(() => taskDefinition('stack')).toThrow(
      /unknown task 'stack'; known tasks: reach, push, pick-and-place, slide, open-drawer/,
    );
  });

  it('reports every bad field of a task config at once', () => {
    try {
      createTask('push', { maxEpisodeSteps: 0, distanceThresholdM: -1, colour: 'red' });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const message = (error as ConfigError).message;
      expect(message).toContain('maxEpisodeSteps');
      expect(message).toContain('distanceThresholdM');
      expect(message).toContain('colour');
    }
  });

  const workspace = loadRobotConfig('panda').control;

  for (const name of taskNames()) {
    it(`${name}: resets and steps with consistent shapes, bounds and no NaN`, async () => {
      const env = await ArmEnv.create({ task: name });
      try {
        const task = env.task;
        const fieldsSize = env.observationFields.reduce((n, f) => n + f.size, 0);
        expect(env.observationSize).toBe(fieldsSize);
        expect(env.goalSize).toBe(task.goalFields.reduce((n, f) => n + f.size, 0));
        expect(env.actionSize).toBe(task.usesGripper ? 4 : 3);
        const rng = Rng.fromSeed(9);
        for (let episode = 0; episode < 3; episode++) {
          const { obs } = env.reset({ seed: episode });
          expect(obs.observation.length).toBe(env.observationSize);
          expect(obs.achievedGoal.length).toBe(env.goalSize);
          expect(obs.desiredGoal.length).toBe(env.goalSize);
          const desired = Array.from(obs.desiredGoal);
          for (let t = 0; t < task.config.maxEpisodeSteps; t++) {
            const r = env.step(Array.from({ length: env.actionSize }, () => rng.uniform(-1, 1)));
            for (const v of [...r.obs.observation, ...r.obs.achievedGoal, r.reward])
              expect(Number.isFinite(v)).toBe(true);
            // The goal stays fixed through the episode.
            expect(Array.from(r.obs.desiredGoal)).toEqual(desired);
            // The end-effector stays near its workspace box (the IK clips targets to it).
            for (let a = 0; a < 3; a++) {
              expect(r.obs.observation[a]).toBeGreaterThan(workspace.workspaceMin[a]! - 0.03);
              expect(r.obs.observation[a]).toBeLessThan(workspace.workspaceMax[a]! + 0.03);
            }
            expect([0, -1]).toContain(r.reward);
            expect(r.info.simUnstable).toBeUndefined();
            expect(r.truncated).toBe(t === task.config.maxEpisodeSteps - 1);
            if (r.truncated) break;
          }
        }
      } finally {
        env.close();
      }
    });
  }
});

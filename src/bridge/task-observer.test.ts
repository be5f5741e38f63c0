import { afterAll, describe, expect, it } from 'vitest';
import { createTask } from '../../sim/tasks/registry.js';
import { loadRobotConfig } from '../robot-config/robot-config.js';
import { KinematicModel } from './kinematic-model.js';
import type { RobotState } from './robot.js';
import { TaskObserver } from './task-observer.js';

const robot = loadRobotConfig('panda');
const task = createTask('push');
const kinematics = await KinematicModel.create(robot, task);
afterAll(() => kinematics.dispose());

/** A state at rest at home with the cube at `x` and yawed by `yaw`, measured at `stampMs`. */
function state(stampMs: number, x: number, yaw = 0, goal?: number[]): RobotState {
  return {
    stampMs,
    jointPositions: Float64Array.from(robot.arm.homeQpos),
    jointVelocities: new Float64Array(7),
    object: {
      positionM: Float64Array.of(x, 0, 0.02),
      quaternionWxyz: Float64Array.of(Math.cos(yaw / 2), 0, 0, Math.sin(yaw / 2)),
    },
    ...(goal ? { goalPositionM: Float64Array.from(goal) } : {}),
  };
}

describe('TaskObserver', () => {
  it('differences the object pose between its changes, not between states', () => {
    const observer = new TaskObserver(task, kinematics, [0.1, 0.1, 0.02]);
    const velocities = [
      state(0, 0),
      state(10, 0), // the pose topic is slower than the joint states: same pose again
      state(20, 0.002, 0.004),
      state(30, 0.002, 0.004),
      state(40, 0.004, 0.008),
    ].map((s) => Array.from(observer.observe(s).observation.subarray(12, 18)));
    expect(velocities[0]).toEqual([0, 0, 0, 0, 0, 0]);
    expect(velocities[1]).toEqual([0, 0, 0, 0, 0, 0]);
    for (const v of velocities.slice(2)) {
      expect(v[0]).toBeCloseTo(0.1, 9); // 2 mm per 20 ms
      expect(v[5]).toBeCloseTo(0.2, 4); // 4 mrad per 20 ms about z
      expect(Math.abs(v[1]!) + Math.abs(v[2]!) + Math.abs(v[3]!) + Math.abs(v[4]!)).toBeLessThan(1e-9);
    }
  });

  it("takes the robot's goal over the fixed one, and says what is missing", () => {
    const observer = new TaskObserver(task, kinematics);
    expect(Array.from(observer.observe(state(0, 0, 0, [0.2, 0, 0.02])).desiredGoal)).toEqual([0.2, 0, 0.02]);
    expect(() => observer.observe(state(10, 0))).toThrow(/needs a goal/);
    const { object, ...withoutObject } = state(20, 0, 0, [0, 0, 0]);
    expect(object).toBeDefined();
    expect(() => observer.observe(withoutObject)).toThrow(/objectPoseTopic/);
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { ArmEnv } from '../../sim/env.js';
import { createTask } from '../../sim/tasks/registry.js';
import { loadRobotConfig } from '../robot-config/robot-config.js';
import { KinematicModel } from './kinematic-model.js';
import { SimRobot } from './sim-robot.js';
import { TaskObserver } from './task-observer.js';

const robotConfig = loadRobotConfig('panda');
const disposers: (() => unknown)[] = [];
afterEach(async () => {
  for (const d of disposers.splice(0)) await d();
});

async function setup(task: string, seed = 3) {
  let clockMs = 0;
  const robot = await SimRobot.create({ task, robot: robotConfig, seed, now: () => clockMs });
  const kinematics = await KinematicModel.create(robotConfig, createTask(task));
  disposers.push(
    () => robot.close(),
    () => kinematics.dispose(),
  );
  const observer = new TaskObserver(createTask(task), kinematics);
  return { robot, kinematics, observer, advance: (ms: number) => (clockMs += ms) };
}

describe('SimRobot and the task observer', () => {
  it('builds from joint states and the object pose the observation the simulated env gives', async () => {
    const { robot, observer } = await setup('push', 3);
    const env = await ArmEnv.create({ task: 'push', robot: robotConfig });
    disposers.push(() => env.close());
    const expected = env.reset({ seed: 3 }).obs;
    const obs = observer.observe(robot.observe()!);
    expect(obs.observation.length).toBe(env.observationSize);
    for (let i = 0; i < obs.observation.length; i++)
      expect(obs.observation[i]).toBeCloseTo(expected.observation[i]!, 9);
    expect(Array.from(obs.desiredGoal)).toEqual(Array.from(expected.desiredGoal));
    expect(Array.from(obs.achievedGoal)).toEqual(Array.from(obs.observation.subarray(6, 9)));
  });

  it('executes a command for at most the safety lookahead: a stalled host does not let it run on', async () => {
    const { robot, advance } = await setup('reach');
    const q0 = robot.observe()!.jointPositions[0]!;
    const v = new Float64Array(7);
    v[0] = 0.5; // rad/s; the lookahead is 0.1 s
    robot.act({ jointVelocities: v });
    advance(1000); // no newer command for a second
    const moved = robot.observe()!.jointPositions[0]! - q0;
    // 0.05 rad in the lookahead (the servo target may lead the joint a little), not 0.5 rad.
    expect(moved).toBeGreaterThan(0.02);
    expect(moved).toBeLessThan(0.1);
    expect(robotConfig.safety.workspaceLookaheadSec).toBe(0.1);
  });

  it('steps its physics in real time on the loop clock, turning joint velocities into motion', async () => {
    const { robot, advance } = await setup('reach');
    const q0 = robot.observe()!.jointPositions.slice();
    const v = new Float64Array(7);
    v[0] = 0.5; // base joint at 0.5 rad/s for 0.4 s
    robot.act({ jointVelocities: v });
    for (let i = 0; i < 10; i++) {
      advance(40);
      robot.act({ jointVelocities: v });
    }
    const state = robot.observe()!;
    expect(state.stampMs).toBeCloseTo(400, 6);
    expect(state.jointPositions[0]! - q0[0]!).toBeGreaterThan(0.15);
    expect(state.jointPositions[0]! - q0[0]!).toBeLessThan(0.21);
    await robot.stop();
    const atStop = robot.observe()!.jointPositions[0]!;
    advance(500);
    expect(Math.abs(robot.observe()!.jointPositions[0]! - atStop)).toBeLessThan(0.02);
    expect(Math.abs(robot.observe()!.jointVelocities[0]!)).toBeLessThan(0.05);
  });

  it('moves the end-effector the way an action asks, through the kinematic model', async () => {
    const { robot, kinematics, observer, advance } = await setup('reach');
    const start = observer.observe(robot.observe()!).observation.slice(0, 3);
    const qdot = new Float64Array(7);
    for (let i = 0; i < 10; i++) {
      observer.observe(robot.observe()!);
      kinematics.jointVelocitiesFor([0, 1, 0], qdot);
      robot.act({ jointVelocities: qdot });
      advance(40);
    }
    const end = observer.observe(robot.observe()!).observation.slice(0, 3);
    expect(end[1]! - start[1]!).toBeGreaterThan(0.15); // about 5 cm per 40 ms step, less the servo lag
    expect(Math.abs(end[0]! - start[0]!)).toBeLessThan(0.06); // no commanded point: the lag shows as drift
    expect(Math.abs(end[2]! - start[2]!)).toBeLessThan(0.03);
  });

  it('starts a new episode from the next seed', async () => {
    const { robot } = await setup('push', 5);
    const goal0 = robot.observe()!.goalPositionM!.slice();
    robot.newEpisode();
    expect(robot.episodeSeed).toBe(6);
    expect(Array.from(robot.observe()!.goalPositionM!)).not.toEqual(Array.from(goal0));
  });

  it('refuses a task whose observation no robot reports', async () => {
    const kinematics = await KinematicModel.create(robotConfig, createTask('open-drawer'));
    disposers.push(() => kinematics.dispose());
    expect(() => new TaskObserver(createTask('open-drawer'), kinematics)).toThrow(/run it in simulation/);
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { ArmEnv, type GoalObservation } from '../env.js';
import { placeFreeBody, setJoint, towards } from '../test-helpers.js';

let env: ArmEnv | undefined;
afterEach(() => {
  env?.close();
  env = undefined;
});

async function open(task: string, overrides: Record<string, unknown> = {}): Promise<ArmEnv> {
  env = await ArmEnv.create({ task, taskOverrides: overrides });
  return env;
}

describe('reach', () => {
  it('is solved through the IK by a proportional controller', async () => {
    const e = await open('reach');
    let successes = 0;
    for (let seed = 0; seed < 10; seed++) {
      let { obs } = e.reset({ seed });
      for (;;) {
        const r = e.step(towards(obs.achievedGoal, obs.desiredGoal, 10));
        obs = r.obs;
        if (r.truncated) {
          if (r.info.isSuccess) successes++;
          expect(r.reward).toBe(r.info.isSuccess ? 0 : -1);
          break;
        }
      }
    }
    expect(successes).toBe(10);
  });

  it('samples goals within panda-gym’s ranges', async () => {
    const e = await open('reach');
    for (let seed = 0; seed < 50; seed++) {
      const g = e.reset({ seed }).obs.desiredGoal;
      expect(Math.abs(g[0]!)).toBeLessThanOrEqual(0.15);
      expect(Math.abs(g[1]!)).toBeLessThanOrEqual(0.15);
      expect(g[2]!).toBeGreaterThanOrEqual(0);
      expect(g[2]!).toBeLessThanOrEqual(0.3);
    }
  });
});

describe('push', () => {
  it('reports success and reward 0 with the cube on the goal, -1 when it is 6 cm off', async () => {
    const e = await open('push');
    const { obs } = e.reset({ seed: 4 });
    const goal = Array.from(obs.desiredGoal);
    placeFreeBody(e, 'object_joint', goal);
    let r = e.step([0, 0, 0]);
    expect(r.info.isSuccess).toBe(true);
    expect(r.reward).toBe(0);
    expect(r.obs.achievedGoal[2]).toBeCloseTo(0.02, 2); // resting on the table
    placeFreeBody(e, 'object_joint', [goal[0]! + 0.06, goal[1]!, goal[2]!]);
    r = e.step([0, 0, 0]);
    expect(r.info.isSuccess).toBe(false);
    expect(r.reward).toBe(-1);
  });

  it('moves the cube when the closed gripper pushes it', async () => {
    const e = await open('push');
    // Cubes that start within reach of a straight push (seed 3's, 0.48 m from the base, needs
    // more wrist torque than the Panda's 12 N·m to push while pressing down).
    for (let seed = 0; seed < 3; seed++) {
      let obs: GoalObservation = e.reset({ seed }).obs;
      const start = Array.from(obs.achievedGoal);
      // Above a point 6 cm behind the cube (on its -x side), down to the table, then along +x.
      let phase: 'above' | 'down' | 'push' = 'above';
      for (let t = 0; t < 50; t++) {
        const ee = obs.observation.subarray(0, 3);
        const cube = obs.observation.subarray(6, 9);
        const behind = [start[0]! - 0.06, start[1]!, 0.02];
        let target = [behind[0]!, behind[1]!, 0.1];
        if (phase === 'above' && Math.hypot(ee[0]! - target[0]!, ee[1]! - target[1]!) < 0.01) phase = 'down';
        if (phase === 'down') target = behind;
        if (phase === 'down' && ee[2]! < 0.035) phase = 'push';
        if (phase === 'push') target = [cube[0]! + 0.1, start[1]!, 0.02];
        obs = e.step(towards(ee, target)).obs;
      }
      expect(obs.achievedGoal[0]! - start[0]!).toBeGreaterThan(0.03);
    }
  });
});

describe('pick-and-place', () => {
  it('grasps and lifts the cube with the gripper, then holds it at a goal in the air', async () => {
    const e = await open('pick-and-place');
    let { obs } = e.reset({ seed: 1 });
    let phase: 'above' | 'down' | 'close' | 'lift' = 'above';
    let closing = 0;
    let held = false;
    for (let t = 0; t < 50; t++) {
      const o = obs.observation;
      const ee = [o[0]!, o[1]!, o[2]!];
      const cube = [o[7]!, o[8]!, o[9]!];
      let target = ee;
      let grip = 1;
      if (phase === 'above') {
        target = [cube[0]!, cube[1]!, cube[2]! + 0.06];
        if (
          Math.hypot(ee[0]! - target[0]!, ee[1]! - target[1]!) < 0.006 &&
          Math.abs(ee[2]! - target[2]!) < 0.02
        )
          phase = 'down';
      } else if (phase === 'down') {
        target = cube;
        if (Math.abs(ee[2]! - cube[2]!) < 0.01) phase = 'close';
      } else if (phase === 'close') {
        target = cube;
        grip = -1;
        if (++closing >= 3 && o[6]! < 0.045) phase = 'lift';
      } else {
        target = [cube[0]!, cube[1]!, 0.15];
        grip = -1;
      }
      const r = e.step([...towards(ee, target), grip]);
      obs = r.obs;
      if (phase === 'lift' && obs.achievedGoal[2]! > 0.1) {
        held = true;
        break;
      }
    }
    expect(held).toBe(true);
    // The gripper is closed on the cube (about its 4 cm width), not empty.
    expect(obs.observation[6]!).toBeGreaterThan(0.03);
    expect(obs.observation[6]!).toBeLessThan(0.045);
  });

  it('samples goals in the air most of the time and on the table 30% of the time', async () => {
    const e = await open('pick-and-place');
    let onTable = 0;
    const n = 300;
    for (let seed = 0; seed < n; seed++) {
      const g = e.reset({ seed }).obs.desiredGoal;
      if (g[2] === 0.02) onTable++;
      expect(g[2]!).toBeLessThanOrEqual(0.22 + 1e-12);
    }
    expect(onTable / n).toBeGreaterThan(0.2);
    expect(onTable / n).toBeLessThan(0.4);
  });

  it('reports success exactly when the cube is within 5 cm of the goal', async () => {
    const e = await open('pick-and-place');
    const goal = [0.1, 0.05, 0.12];
    expect(e.computeReward(goal, goal)).toBe(0);
    expect(e.computeReward([0.1, 0.05, 0.12 + 0.049], goal)).toBe(0);
    expect(e.computeReward([0.1, 0.05, 0.12 + 0.051], goal)).toBe(-1);
  });
});

describe('slide', () => {
  it('places goals beyond the arm’s reach and the puck slides on low friction', async () => {
    const e = await open('slide');
    const { obs } = e.reset({ seed: 0 });
    expect(obs.desiredGoal[0]!).toBeGreaterThan(0.25);
    expect(obs.desiredGoal[0]!).toBeLessThan(0.55);
    // Give the puck a 1 m/s shove along +x: with friction 0.04 it glides about 1.3 m
    // (v²/(2 μ g)); on friction 1 it would stop within 5 cm.
    const sim = e.simulation;
    const joint = sim.id('joint', 'object_joint', 'test');
    const dof = (sim.model.jnt_dofadr as Int32Array)[joint]!;
    const start = obs.achievedGoal[0]!;
    sim.qvel[dof] = 1;
    let r = e.step([0, 0, 1]);
    for (let t = 0; t < 10; t++) r = e.step([0, 0, 1]);
    expect(r.obs.achievedGoal[0]! - start).toBeGreaterThan(0.3);
  });

  it('reports success with the puck on the goal', async () => {
    const e = await open('slide');
    const { obs } = e.reset({ seed: 3 });
    placeFreeBody(e, 'object_joint', Array.from(obs.desiredGoal));
    const r = e.step([0, 0, 0]);
    expect(r.info.isSuccess).toBe(true);
    expect(r.reward).toBe(0);
  });
});

describe('open-drawer', () => {
  it('succeeds once the drawer is open at least to the goal, and not before', async () => {
    const e = await open('open-drawer');
    const { obs } = e.reset({ seed: 2 });
    const goal = obs.desiredGoal[0]!;
    expect(goal).toBeGreaterThanOrEqual(0.1);
    expect(goal).toBeLessThanOrEqual(0.16);
    expect(obs.achievedGoal[0]).toBe(0);
    setJoint(e, 'drawer_joint', goal - 0.02);
    let r = e.step([0, 0, 0, 1]);
    expect(r.info.isSuccess).toBe(false);
    expect(r.reward).toBe(-1);
    setJoint(e, 'drawer_joint', goal + 0.02);
    r = e.step([0, 0, 0, 1]);
    expect(r.info.isSuccess).toBe(true);
    expect(r.reward).toBe(0);
  });

  it('can be opened by grasping the handle and pulling', async () => {
    const e = await open('open-drawer', { rewardType: 'dense' });
    let { obs } = e.reset({ seed: 0 });
    let grasped = 0;
    for (let t = 0; t < 50; t++) {
      const o = obs.observation;
      const ee = [o[0]!, o[1]!, o[2]!];
      const handle = [o[7]!, o[8]!, o[9]!];
      let target: number[];
      let grip = 1;
      const above = [handle[0]!, handle[1]!, handle[2]! + 0.08];
      if (grasped > 0) {
        grip = -1;
        // Close on the bar (about 1.6 cm thick) before pulling toward the robot.
        const closed = grasped++ > 8;
        target = closed ? [handle[0]! - 0.1, handle[1]!, handle[2]!] : handle;
      } else if (Math.hypot(ee[0]! - handle[0]!, ee[1]! - handle[1]!) > 0.008 && ee[2]! > handle[2]! + 0.03) {
        target = above;
      } else {
        target = handle;
        if (Math.abs(ee[2]! - handle[2]!) < 0.012) grasped = 1;
      }
      const r = e.step([...towards(ee, target), grip]);
      obs = r.obs;
      if (r.info.isSuccess) break;
    }
    expect(obs.achievedGoal[0]!).toBeGreaterThanOrEqual(obs.desiredGoal[0]!);
  });
});

import { describe, expect, it } from 'vitest';
import type { RobotState } from './robot.js';
import { type EeKinematics, SafetyFilter, type SafetyLimits } from './safety.js';

/** A 3-joint Cartesian robot: the end-effector is at the joint positions, moving at the joint velocities. */
function cartesianKinematics(): EeKinematics {
  let q: Float64Array = new Float64Array(3);
  return {
    setState: (state) => {
      q = state.jointPositions;
    },
    eePosition: (out, offset = 0) => out.set(q, offset),
    eeVelocity: (out, offset, v) => out.set(Array.from(v), offset),
  };
}

const limits: SafetyLimits = {
  jointLow: Float64Array.of(-1, -1, -1),
  jointHigh: Float64Array.of(1, 1, 1),
  maxVelRadPerSec: Float64Array.of(1, 1, 2),
  maxAccRadPerSec2: Float64Array.of(100, 100, 100),
  slowdownRad: 0.2,
  workspaceMin: [-0.5, -0.5, -0.5],
  workspaceMax: [0.5, 0.5, 0.5],
  lookaheadSec: 0.1,
};

function state(q: number[]): RobotState {
  return { stampMs: 0, jointPositions: Float64Array.from(q), jointVelocities: new Float64Array(3) };
}

const command = (v: number[], gripper?: number) =>
  gripper === undefined
    ? { jointVelocities: Float64Array.from(v) }
    : { jointVelocities: Float64Array.from(v), gripper };

describe('SafetyFilter', () => {
  it('lets a command within every limit through unchanged, with no intervention', () => {
    const filter = new SafetyFilter(limits, cartesianKinematics());
    const out = filter.filter(command([0.1, -0.2, 0.05], 0.5), state([0, 0, 0]), 0.01, 0);
    expect(Array.from(out.command.jointVelocities)).toEqual([0.1, -0.2, 0.05]);
    expect(out.command.gripper).toBe(0.5);
    expect(out.interventions).toEqual([]);
  });

  it('replaces a command holding NaN or ±∞ by zero velocity', () => {
    const filter = new SafetyFilter(limits, cartesianKinematics());
    for (const bad of [
      command([Number.NaN, 0, 0]),
      command([0, Infinity, 0]),
      command([0, 0, 0], Number.NaN),
    ]) {
      const out = filter.filter(bad, state([0, 0, 0]), 0.01, 0);
      expect(Array.from(out.command.jointVelocities)).toEqual([0, 0, 0]);
      expect(out.command.gripper).toBeUndefined();
      expect(out.interventions).toEqual(['non_finite']);
    }
    expect(filter.filter(command([0, 0]), state([0, 0, 0]), 0.01, 0).interventions).toEqual(['non_finite']);
  });

  it('scales the whole vector to the joint speed limits, keeping its direction', () => {
    const filter = new SafetyFilter(
      { ...limits, workspaceMax: [9, 9, 9], workspaceMin: [-9, -9, -9] },
      cartesianKinematics(),
    );
    const out = filter.filter(command([4, 2, 0]), state([0, 0, 0]), 0.01, 0);
    expect(Array.from(out.command.jointVelocities)).toEqual([1, 0.5, 0]);
    expect(out.interventions).toEqual(['joint_velocity']);
  });

  it('slows a joint down as it nears its limit and stops it there, but lets it move away', () => {
    const wide = { ...limits, workspaceMax: [9, 9, 9], workspaceMin: [-9, -9, -9] };
    const filter = new SafetyFilter(wide, cartesianKinematics());
    const near = filter.filter(command([1, 0, 0]), state([0.9, 0, 0]), 0.01, 0);
    expect(near.command.jointVelocities[0]).toBeCloseTo(0.5, 12); // 0.1 rad left of a 0.2 rad zone
    expect(near.interventions).toEqual(['joint_position']);
    const at = filter.filter(command([0.5, 0, 0]), state([1, 0, 0]), 0.01, 10);
    expect(at.command.jointVelocities[0]).toBe(0);
    const away = filter.filter(command([-0.5, 0, 0]), state([1, 0, 0]), 0.01, 20);
    expect(away.command.jointVelocities[0]).toBe(-0.5);
    expect(away.interventions).toEqual([]);
  });

  it('keeps the end-effector inside the workspace box, one look-ahead ahead', () => {
    const filter = new SafetyFilter(limits, cartesianKinematics());
    // 0.45 m, moving out at 1 m/s: 0.1 s ahead would be 0.55 m; only 0.05 m are left.
    const out = filter.filter(command([1, 0, 0]), state([0.45, 0, 0]), 0.01, 0);
    expect(out.command.jointVelocities[0]).toBeCloseTo(0.5, 12);
    expect(out.interventions).toEqual(['workspace']);
    // Outside the box already: moving further out is stopped, moving back in is not.
    const outside = { ...limits, workspaceMax: [0.5, 0.5, 0.2] };
    const f2 = new SafetyFilter(outside, cartesianKinematics());
    expect(
      Array.from(f2.filter(command([0, 0, 0.5]), state([0, 0, 0.3]), 0.01, 0).command.jointVelocities),
    ).toEqual([0, 0, 0]);
    expect(
      Array.from(f2.filter(command([0, 0, -0.5]), state([0, 0, 0.3]), 0.01, 10).command.jointVelocities),
    ).toEqual([0, 0, -0.5]);
  });

  it('limits the change between commands to maxAcc × dt, and starts from rest after a pause', () => {
    const slowAcc = { ...limits, maxAccRadPerSec2: Float64Array.of(10, 10, 10) };
    const filter = new SafetyFilter(slowAcc, cartesianKinematics());
    const first = filter.filter(command([0.5, 0, 0]), state([0, 0, 0]), 0.01, 0);
    expect(first.command.jointVelocities[0]).toBeCloseTo(0.1, 12);
    expect(first.interventions).toEqual(['joint_acceleration']);
    const second = filter.filter(command([0.5, 0, 0]), state([0, 0, 0]), 0.01, 10);
    expect(second.command.jointVelocities[0]).toBeCloseTo(0.2, 12);
    // 100 ms without a command: the robot was held, so the ramp starts again from zero.
    const after = filter.filter(command([0.5, 0, 0]), state([0, 0, 0]), 0.01, 110);
    expect(after.command.jointVelocities[0]).toBeCloseTo(0.1, 12);
  });

  it('clips the gripper command to [-1, 1]', () => {
    const filter = new SafetyFilter(limits, cartesianKinematics());
    expect(filter.filter(command([0, 0, 0], 3), state([0, 0, 0]), 0.01, 0).command.gripper).toBe(1);
  });
});

import { describe, expect, it } from 'vitest';
import {
  float64MultiArray,
  jointTrajectory,
  messageTypes,
  parseBool,
  parseJointState,
  parsePoseStamped,
  rosDuration,
  sameMessageType,
  selectJoints,
} from './messages.js';

function reason(result: { ok: boolean; reason?: string }): string {
  expect(result.ok).toBe(false);
  return result.reason ?? '';
}

describe('parseJointState', () => {
  const good = {
    header: { stamp: { sec: 12, nanosec: 500_000_000 }, frame_id: '' },
    name: ['a', 'b'],
    position: [0.1, -0.2],
    velocity: [1, 2],
    effort: [],
  };

  it('accepts a well-formed message with its stamp', () => {
    const r = parseJointState(good);
    expect(r.ok && r.value).toEqual({
      names: ['a', 'b'],
      positions: [0.1, -0.2],
      velocities: [1, 2],
      stampSec: 12.5,
    });
  });

  it('accepts ROS 1 stamps and an empty or missing velocity array', () => {
    const r1 = parseJointState({ ...good, header: { stamp: { secs: 3, nsecs: 0 } }, velocity: [] });
    expect(r1.ok && r1.value.velocities).toBeUndefined();
    expect(r1.ok && r1.value.stampSec).toBe(3);
    const { velocity: _v, header: _h, ...bare } = good;
    const r2 = parseJointState(bare);
    expect(r2.ok && r2.value.velocities).toBeUndefined();
    expect(r2.ok && r2.value.stampSec).toBeUndefined();
  });

  it('names what is wrong', () => {
    expect(reason(parseJointState(null))).toBe('not an object');
    expect(reason(parseJointState({ ...good, name: 'a' }))).toBe('name is not an array');
    expect(reason(parseJointState({ ...good, name: ['a', 7] }))).toBe('name[1] is not a joint name');
    expect(reason(parseJointState({ ...good, name: ['a', 'a'] }))).toBe('name lists a joint twice');
    expect(reason(parseJointState({ ...good, position: [0.1] }))).toBe(
      'position has 1 entries but name has 2',
    );
    expect(reason(parseJointState({ ...good, position: [0.1, 'x'] }))).toBe(
      'position[1] is not a finite number',
    );
    // NaN arrives as null through JSON; either way it is not a number.
    expect(reason(parseJointState({ ...good, position: [0.1, null] }))).toBe(
      'position[1] is not a finite number',
    );
    expect(reason(parseJointState({ ...good, velocity: [1] }))).toBe('velocity has 1 entries but name has 2');
  });
});

describe('selectJoints', () => {
  const reading = {
    names: ['x', 'j2', 'j1'],
    positions: [9, 2, 1],
    velocities: [0, 0.2, 0.1],
    stampSec: undefined,
  };

  it('picks joints by name in the order asked', () => {
    const r = selectJoints(reading, ['j1', 'j2']);
    expect(r.ok && Array.from(r.value.positions)).toEqual([1, 2]);
    expect(r.ok && Array.from(r.value.velocities!)).toEqual([0.1, 0.2]);
  });

  it('lists the missing joints and what the message has', () => {
    expect(reason(selectJoints(reading, ['j1', 'j3', 'j4']))).toBe('lacks j3, j4 (it has: x, j2, j1)');
  });
});

describe('parsePoseStamped', () => {
  const pose = (o: Record<string, unknown>) => ({
    header: { frame_id: 'table' },
    pose: { position: { x: 0.1, y: 0.2, z: 0.3 }, orientation: o },
  });

  it('reads position and a (re)normalised w,x,y,z quaternion', () => {
    const r = parsePoseStamped(pose({ x: 0, y: 0, z: 0, w: 1.0005 }));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(Array.from(r.value.positionM)).toEqual([0.1, 0.2, 0.3]);
    expect(Array.from(r.value.quaternionWxyz)).toEqual([1, 0, 0, 0]);
  });

  it('refuses a quaternion that is not a unit one, and missing or non-finite fields', () => {
    expect(reason(parsePoseStamped(pose({ x: 0, y: 0, z: 0, w: 0 })))).toMatch(/not a unit quaternion/);
    expect(reason(parsePoseStamped(pose({ x: 0, y: 0, z: 0 })))).toBe(
      'pose.orientation.w is not a finite number',
    );
    expect(reason(parsePoseStamped({ pose: { orientation: {} } }))).toBe('pose.position is missing');
    expect(reason(parsePoseStamped({}))).toBe('pose is missing');
  });
});

describe('parseBool', () => {
  it('reads data and refuses anything else', () => {
    expect(parseBool({ data: true })).toEqual({ ok: true, value: true });
    expect(reason(parseBool({ data: 1 }))).toBe('data is not a boolean');
  });
});

describe('builders', () => {
  it('builds a flat Float64MultiArray', () => {
    expect(float64MultiArray(new Float64Array([1, -2]))).toEqual({
      layout: { dim: [], data_offset: 0 },
      data: [1, -2],
    });
  });

  it('builds a one-point trajectory reaching q + v·horizon', () => {
    const msg = jointTrajectory({
      jointNames: ['a', 'b'],
      positions: [1, 2],
      velocities: [0.5, -1],
      horizonSec: 0.25,
      rosVersion: 2,
    });
    expect(msg.joint_names).toEqual(['a', 'b']);
    expect(msg.points).toHaveLength(1);
    expect(msg.points[0]!.positions).toEqual([1.125, 1.75]);
    expect(msg.points[0]!.velocities).toEqual([0.5, -1]);
    expect(msg.points[0]!.time_from_start).toEqual({ sec: 0, nanosec: 250_000_000 });
    expect(msg.header.stamp).toEqual({ sec: 0, nanosec: 0 });
    expect(() =>
      jointTrajectory({
        jointNames: ['a'],
        positions: [1, 2],
        velocities: [0],
        horizonSec: 1,
        rosVersion: 2,
      }),
    ).toThrow('jointTrajectory: 1 joints but 2 positions and 1 velocities');
  });

  it('speaks ROS 1 and ROS 2 names and durations', () => {
    expect(messageTypes(2).jointState).toBe('sensor_msgs/msg/JointState');
    expect(messageTypes(1).jointState).toBe('sensor_msgs/JointState');
    expect(sameMessageType('std_msgs/msg/Bool', 'std_msgs/Bool')).toBe(true);
    expect(sameMessageType('std_msgs/msg/Bool', 'std_msgs/String')).toBe(false);
    expect(rosDuration(1.5, 1)).toEqual({ secs: 1, nsecs: 500_000_000 });
  });
});

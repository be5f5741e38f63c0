import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/core/paths.js';
import { loadRobotConfig } from '../../src/robot-config/robot-config.js';
import { ArmEnv } from '../env.js';
import { HOME_TIP_TASK, proposeRobot } from './propose-robot.js';

const SIX_DOF = join(packageRoot(), 'test', 'fixtures', 'six-dof-arm');

/** A copy of the six-dof arm's folder with arm.xml edited: the variants a user's first MJCF has. */
function sixDofVariant(edit: (xml: string) => string): string {
  const dir = mkdtempSync(join(tmpdir(), 'armprior-init-'));
  cpSync(SIX_DOF, dir, { recursive: true });
  const file = join(dir, 'arm.xml');
  writeFileSync(file, edit(readFileSync(file, 'utf8')));
  return file;
}

describe('robot init: a robot config worked out from an MJCF (issue #21)', () => {
  it('the bundled Panda: the parts its YAML names, a gripper-down home above the table centre, the base 0.6 m behind it', async () => {
    const proposal = await proposeRobot(join(packageRoot(), 'sim', 'assets', 'panda.xml'), 'panda-init');
    const bundled = loadRobotConfig('panda');
    expect(proposal.arm.joints).toEqual(bundled.arm.joints);
    expect(proposal.arm.actuators).toEqual(bundled.arm.actuators);
    expect(proposal.gripper).toEqual({ ...bundled.gripper });
    expect(proposal.eeSite).toMatchObject({ name: 'ee', toAdd: undefined });
    expect(proposal.basePos).toEqual([-0.6, 0, 0]);
    expect(proposal.notes).toEqual([]);
    // The home it found, run through the env: the end effector where it said, pointing down.
    const dir = mkdtempSync(join(tmpdir(), 'armprior-init-'));
    const yaml = readFileSync(join(packageRoot(), 'config', 'robots', 'panda.yaml'), 'utf8')
      .replace(/^mjcf: .*$/m, `mjcf: ${proposal.mjcfPath}`)
      .replace(/homeQpos: .*$/m, `homeQpos: [${proposal.arm.homeQpos.join(', ')}]`);
    writeFileSync(join(dir, 'panda.yaml'), yaml);
    const env = await ArmEnv.create({ task: 'reach', robot: loadRobotConfig(join(dir, 'panda.yaml')) });
    try {
      const ee = env.reset({ seed: 0 }).obs.observation.subarray(0, 3);
      // The env's ee site sits 3 mm from the fingertip point the home was solved for.
      expect(Math.hypot(...HOME_TIP_TASK.map((x, i) => x - ee[i]!))).toBeLessThan(0.005);
    } finally {
      env.close();
    }
  });

  it('a 6-joint arm: actuators matched by the joints they drive, not their order; a site 4 cm off the fingertips is not taken', async () => {
    const proposal = await proposeRobot(join(SIX_DOF, 'arm.xml'), 'six');
    expect(proposal.arm.joints).toEqual([
      'shoulder_pan',
      'shoulder_lift',
      'elbow',
      'wrist_pitch',
      'wrist_yaw',
      'tool_roll',
    ]);
    // Written in the MJCF as elbow, pan, lift, roll, pitch, yaw.
    expect(proposal.arm.actuators).toEqual([
      'pan_servo',
      'lift_servo',
      'elbow_servo',
      'pitch_servo',
      'yaw_servo',
      'roll_servo',
    ]);
    expect(proposal.gripper).toEqual({
      joints: ['left_finger_slide', 'right_finger_slide'],
      actuators: ['left_finger_servo', 'right_finger_servo'],
      openCtrl: 0.04,
      closedCtrl: 0,
    });
    // 'grip' is on the palm; the point to add is 1 cm back from the fingertips, along the gripper.
    expect(proposal.eeSite.name).toBe('ee');
    const toAdd = proposal.eeSite.toAdd!;
    expect(toAdd.body).toBe('hand');
    expect(toAdd.pos.map((x) => Number(x.toFixed(4)))).toEqual([0.09, 0, 0]);
    expect(toAdd.zaxis.map((x) => Number(x.toFixed(6)))).toEqual([1, 0, 0]);
    expect(proposal.home.angleDeg).toBeLessThan(0.5);
    expect(proposal.notes).toEqual([]);
  });

  it('fingers whose range opens toward its low end: open and closed are measured, not assumed', async () => {
    const file = sixDofVariant((xml) =>
      xml
        .replace('type="slide" axis="0 1 0" range="0 0.04"', 'type="slide" axis="0 -1 0" range="-0.04 0"')
        .replace('ctrlrange="0 0.04"', 'ctrlrange="-0.04 0"'),
    );
    const proposal = await proposeRobot(file, 'reversed');
    expect(proposal.gripper).toMatchObject({ openCtrl: -0.04, closedCtrl: 0 });
  });

  it('a whole scene (floor, bench, a box): the proposal names what is not the arm and why it must go', async () => {
    const proposal = await proposeRobot(join(SIX_DOF, 'scene.xml'), 'scene');
    expect(proposal.arm.joints).toHaveLength(6);
    expect(proposal.notes).toHaveLength(1);
    expect(proposal.notes[0]).toContain(
      "scene.xml holds more than the arm (geom 'floor', geom 'bench', body 'box'): the task scenes bring their own floor, table, light and objects",
    );
  });

  it('refuses motor actuators (ctrl a torque), naming them and what to write instead', async () => {
    const file = sixDofVariant((xml) =>
      xml.replace(
        /<position class="arm" name="(\w+)" joint="(\w+)"[^>]*>/g,
        '<motor name="$1" joint="$2" gear="1" ctrlrange="-50 50"/>',
      ),
    );
    await expect(proposeRobot(file, 'motors')).rejects.toThrow(
      /arm.xml: actuator 'pan_servo' \(joint 'shoulder_pan'\), .* are not position servos: armprior sets each arm actuator's ctrl to a joint position target. Write them as <position joint="…" kp="…" kv="…"\/>/,
    );
  });

  it('leaves out a gripper it cannot drive (fingers on hinges) and says so; the arm is still set up', async () => {
    const file = sixDofVariant((xml) =>
      xml.replace('type="slide" axis="0 1 0" range="0 0.04"', 'type="hinge" axis="0 0 1" range="0 0.5"'),
    );
    const proposal = await proposeRobot(file, 'hinged');
    expect(proposal.gripper).toBeUndefined();
    expect(proposal.arm.joints).toHaveLength(6);
    expect(proposal.notes.join(' ')).toContain(
      "the gripper (joints 'left_finger_slide', 'right_finger_slide') is left out: its fingers turn on hinges",
    );
  });

  it('refuses a model with fewer than 3 arm joints, naming what it found', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'armprior-init-'));
    writeFileSync(
      join(dir, 'pendulum.xml'),
      `<mujoco><worldbody><body name="link"><joint name="swing" axis="0 1 0"/><geom type="capsule" fromto="0 0 0 0.3 0 0" size="0.02"/></body></worldbody>
       <actuator><position name="servo" joint="swing" kp="10"/></actuator></mujoco>`,
    );
    await expect(proposeRobot(join(dir, 'pendulum.xml'), 'p')).rejects.toThrow(
      'pendulum.xml: found an arm of 1 joint (swing): the end effector needs at least 3 joints driven one by one, in a chain from the base',
    );
  });
});

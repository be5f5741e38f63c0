import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MjcfError, ModelMismatchError } from '../../src/core/errors.js';
import { loadRobotConfig } from '../../src/robot-config/robot-config.js';
import { ArmEnv } from '../env.js';
import { compileModel, readModelFolder } from './model-loader.js';
import { getMujoco } from './module.js';

const source = (xml: string) => ({ displayName: 'test.xml', xml, files: new Map<string, string>() });

describe('compileModel', () => {
  it("recovers MuJoCo's message for an XML syntax error", async () => {
    const mj = await getMujoco();
    const error = captured(() => compileModel(mj, source('<mujoco><worldbody><body></worldbody></mujoco>')));
    expect(error).toBeInstanceOf(MjcfError);
    expect(error.message).toContain('test.xml');
    expect((error as MjcfError).mujocoMessage).toMatch(/XML_ERROR_MISMATCHED_ELEMENT/);
  });

  it("recovers MuJoCo's message for a schema violation", async () => {
    const mj = await getMujoco();
    const error = captured(() =>
      compileModel(
        mj,
        source('<mujoco><worldbody><body><geom type="box" sizee="1 1 1"/></body></worldbody></mujoco>'),
      ),
    );
    expect((error as MjcfError).mujocoMessage).toContain("unrecognized attribute: 'sizee'");
  });

  it("recovers MuJoCo's message for a compile error and a missing include", async () => {
    const mj = await getMujoco();
    const massless = captured(() =>
      compileModel(mj, source('<mujoco><worldbody><body><joint type="hinge"/></body></worldbody></mujoco>')),
    );
    expect((massless as MjcfError).mujocoMessage).toContain('mass and inertia of moving bodies');
    const include = captured(() => compileModel(mj, source('<mujoco><include file="nope.xml"/></mujoco>')));
    expect((include as MjcfError).mujocoMessage).toMatch(/Error opening file 'nope.xml'/);
  });

  it('compiles a valid model and keeps working after failures', async () => {
    const mj = await getMujoco();
    const model = compileModel(
      mj,
      source('<mujoco><worldbody><body><freejoint/><geom size="0.1"/></body></worldbody></mujoco>'),
    );
    expect(model.nq).toBe(7);
    model.delete();
  });
});

describe('readModelFolder (issue #17 §4: every read of a user-given file is bounded)', () => {
  it('reads the model files of a folder, and refuses a device or FIFO among them unread', () => {
    const folder = mkdtempSync(join(tmpdir(), 'armprior-model-'));
    writeFileSync(join(folder, 'arm.xml'), '<mujoco/>');
    mkdirSync(join(folder, 'meshes'));
    writeFileSync(join(folder, 'meshes', 'link.stl'), 'solid');
    expect([...readModelFolder(folder).keys()].sort()).toEqual(['arm.xml', 'meshes/link.stl']);
    symlinkSync('/dev/zero', join(folder, 'meshes', 'zero.stl'));
    expect(() => readModelFolder(folder)).toThrow(MjcfError);
    expect(() => readModelFolder(folder)).toThrow(/zero\.stl \(not a regular file: a character device\)/);
    const piped = mkdtempSync(join(tmpdir(), 'armprior-model-'));
    execFileSync('mkfifo', [join(piped, 'scene.xml')]);
    expect(() => readModelFolder(piped)).toThrow(/scene\.xml \(not a regular file: a FIFO\)/);
  });

  it('names a model folder that does not exist', () => {
    expect(() => readModelFolder('/nonexistent/robot')).toThrow(
      /cannot read the model folder \/nonexistent\/robot \(ENOENT\)/,
    );
  });
});

describe('robot configs', () => {
  function robotYaml(dir: string, mjcf: string, extra = ''): string {
    const panda = loadRobotConfig('panda');
    const yaml = `name: broken
mjcf: ${mjcf}
basePos: [-0.6, 0, 0]
eeSite: ${extra || 'ee'}
arm:
  joints: [${panda.arm.joints.join(', ')}]
  actuators: [${panda.arm.actuators.join(', ')}]
  homeQpos: [${panda.arm.homeQpos.join(', ')}]
  maxJointVelRadPerSec: [${panda.arm.maxJointVelRadPerSec.join(', ')}]
gripper:
  joints: [finger_joint1, finger_joint2]
  actuators: [finger_actuator1, finger_actuator2]
  openCtrl: 0.04
  closedCtrl: 0
control:
  workspaceMin: [-0.35, -0.4, 0]
  workspaceMax: [0.6, 0.4, 0.6]
`;
    const file = join(dir, 'robot.yaml');
    writeFileSync(file, yaml);
    return file;
  }

  it('names the robot MJCF file and carries MuJoCo’s message when it is broken', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'armprior-robot-'));
    writeFileSync(
      join(dir, 'arm.xml'),
      '<mujoco><worldbody><body name="link0"><geom type="sphere" size="oops"/></body></worldbody></mujoco>',
    );
    const error = await capturedAsync(() =>
      ArmEnv.create({ task: 'reach', robot: robotYaml(dir, 'arm.xml') }),
    );
    expect(error).toBeInstanceOf(MjcfError);
    expect(error.message).toContain(join(dir, 'arm.xml'));
    expect(error.message).toMatch(/size/);
  });

  it('names a part the robot config asks for that the model lacks', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'armprior-robot-'));
    const panda = loadRobotConfig('panda');
    const error = await capturedAsync(() =>
      ArmEnv.create({ task: 'reach', robot: robotYaml(dir, panda.mjcfPath, 'tool_tip') }),
    );
    expect(error).toBeInstanceOf(ModelMismatchError);
    expect(error.message).toContain("no site named 'tool_tip'");
  });
});

function captured(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected an error');
}

async function capturedAsync(fn: () => Promise<unknown>): Promise<Error> {
  try {
    await fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected an error');
}

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PANDA_ROS_JOINTS, repoRoot, writeRosRobotYaml } from '../../../test/support/ros-robot-config.js';
import { registerRobotCommand } from '../../cli/commands/robot.js';
import { ExitCode, reportError } from '../../cli/exit.js';
import { packageRoot } from '../../core/paths.js';
import { loadRobotConfig } from '../../robot-config/robot-config.js';
import { checkRobot } from './robot-check.js';
import { RosbridgeTestServer } from './rosbridge-test-server.js';

const VELOCITY_TOPIC = '/joint_group_velocity_controller/commands';

let server: RosbridgeTestServer;
let dir: string;

beforeEach(async () => {
  server = await RosbridgeTestServer.start({
    jointNames: PANDA_ROS_JOINTS,
    stateRateHz: 50,
    extraTopics: { [VELOCITY_TOPIC]: 'std_msgs/msg/Float64MultiArray' },
  });
  dir = mkdtempSync(join(tmpdir(), 'armprior-check-'));
});

afterEach(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

const yaml = (ros: Record<string, unknown> = {}) =>
  writeRosRobotYaml(dir, { url: server.url, command: { type: 'velocity', topic: VELOCITY_TOPIC }, ...ros });

describe('checkRobot', () => {
  it('finds nothing wrong with a matching config', async () => {
    const report = await checkRobot(loadRobotConfig(yaml()), { listenSec: 0.5 });
    expect(report.lines.filter((l) => l.level !== 'ok')).toEqual([]);
    expect(report.problems).toBe(0);
    expect(report.reachable).toBe(true);
    expect(report.state.jointNames).toEqual([...PANDA_ROS_JOINTS]);
    expect(report.state.rateHz).toBeGreaterThan(0);
    expect(report.topics).toContainEqual({ name: '/joint_states', type: 'sensor_msgs/msg/JointState' });
    expect(report.lines.map((l) => l.text)).toEqual(
      expect.arrayContaining([
        'rosbridge speaks ROS 2, as configured',
        `command topic ${VELOCITY_TOPIC} (std_msgs/msg/Float64MultiArray)`,
        `command topic ${VELOCITY_TOPIC} has subscribers: /simulated_arm_controller`,
      ]),
    );
  });

  it('says which ROS version the bridge speaks when it is not rosVersion, and checks on in that one', async () => {
    await server.close();
    server = await RosbridgeTestServer.start({
      jointNames: PANDA_ROS_JOINTS,
      stateRateHz: 50,
      rosVersion: 1,
    });
    const report = await checkRobot(loadRobotConfig(yaml()), { listenSec: 0.5 });
    expect(report.lines.filter((l) => l.level === 'problem').map((l) => l.text)).toEqual([
      'rosbridge speaks ROS 1 (rosapi lists /joint_states as sensor_msgs/JointState), but ros.rosVersion is 2: ' +
        'set ros.rosVersion: 1 (this check goes on with ROS 1 names)',
    ]);
    // The state was read with the bridge's own type names: the joints are there.
    expect(report.state.jointNames).toEqual([...PANDA_ROS_JOINTS]);
    expect(report.problems).toBe(1);
  });

  it('finds a command topic nobody subscribes to', async () => {
    const report = await checkRobot(
      loadRobotConfig(
        yaml({ command: { type: 'velocity', topic: '/joint_group_velocity_controler/commands' } }),
      ),
      { listenSec: 0.3 },
    );
    expect(report.lines.filter((l) => l.level === 'problem').map((l) => l.text)).toEqual([
      'nobody subscribes to the command topic /joint_group_velocity_controler/commands, so commands sent there would move nothing: ' +
        `is the controller running, and is /joint_group_velocity_controler/commands its topic? (topics of type std_msgs/msg/Float64MultiArray: ${VELOCITY_TOPIC})`,
    ]);
  });

  it('lists every mismatch', async () => {
    server.setJointNames([
      'joint1',
      'joint2',
      'joint3',
      'joint4',
      'joint5',
      'joint6',
      'elbow',
      'finger_joint1',
    ]);
    server.publish('/estop', 'std_msgs/msg/String', { data: 'not a bool' });
    const report = await checkRobot(
      loadRobotConfig(
        yaml({
          command: { type: 'trajectory', topic: VELOCITY_TOPIC },
          gripperCommandTopic: '/gripper/commands',
          objectPoseTopic: '/object_pose',
          estopTopic: '/estop',
        }),
      ),
      { listenSec: 0.5 },
    );
    const text = (level: string) => report.lines.filter((l) => l.level === level).map((l) => l.text);
    expect(text('problem')).toEqual([
      `command topic ${VELOCITY_TOPIC} has type std_msgs/msg/Float64MultiArray, expected trajectory_msgs/msg/JointTrajectory`,
      'object pose topic /object_pose is not advertised: nothing publishes it',
      'e-stop topic /estop has type std_msgs/msg/String, expected std_msgs/msg/Bool',
      'nobody subscribes to the gripper command topic /gripper/commands, so commands sent there would move nothing: ' +
        `is the controller running, and is /gripper/commands its topic? (topics of type std_msgs/msg/Float64MultiArray: ${VELOCITY_TOPIC})`,
      '/joint_states lacks arm joints joint7 (it has: joint1, joint2, joint3, joint4, joint5, joint6, elbow, finger_joint1)',
    ]);
    expect(text('warning')).toEqual([
      '/joint_states lacks finger joints finger_joint2: the gripper width will be unknown',
      '/joint_states also has elbow (not in the config; ignored)',
    ]);
    expect(report.problems).toBe(5);
  });

  it('says when the state topic is silent, and when rosbridge cannot be reached', async () => {
    server.pauseState();
    const silent = await checkRobot(loadRobotConfig(yaml()), { listenSec: 0.3 });
    expect(silent.lines).toContainEqual({
      level: 'problem',
      text: 'no valid joint state on /joint_states in 0.3 s',
    });
    const file = yaml();
    await server.kill();
    const down = await checkRobot(loadRobotConfig(file), { listenSec: 0.3, timeoutMs: 2000 });
    expect(down.reachable).toBe(false);
    expect(down.problems).toBe(1);
    expect(down.lines[0]!.text).toMatch(new RegExp(`^cannot reach rosbridge at ${server.url}: `));
  });
});

describe('armprior robot check', () => {
  async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    let stdout = '';
    let stderr = '';
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stdout += String(chunk);
      return true;
    });
    const program = new Command('armprior').exitOverride();
    registerRobotCommand(program);
    try {
      await program.parseAsync(['node', 'armprior', 'robot', 'check', ...args]);
      return { code: ExitCode.ok, stdout, stderr };
    } catch (error) {
      return { code: reportError(error, (t) => (stderr += t)), stdout, stderr };
    } finally {
      spy.mockRestore();
    }
  }

  it('prints a readable report and exits 0 when all matches', async () => {
    const r = await run([yaml(), '--listen-sec', '0.4']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`robot 'panda-test' via ${server.url}`);
    expect(r.stdout).toMatch(/ok {7}\/joint_states has all 7 arm joints/);
    expect(r.stdout).toContain('no problems found');
  });

  it('exits 2 with the problems, in JSON too', async () => {
    server.setJointNames(['a', 'b']);
    const r = await run([yaml(), '--listen-sec', '0.4', '--json']);
    expect(r.code).toBe(ExitCode.badInput);
    const report = JSON.parse(r.stdout) as { problems: number; lines: { level: string; text: string }[] };
    expect(report.problems).toBe(1);
    expect(report.lines.find((l) => l.level === 'problem')?.text).toMatch(
      /lacks arm joints joint1, .*joint7/,
    );
    expect(r.stderr).toBe(`armprior: robot check of 'panda-test' at ${server.url}: 1 problem\n`);
  });

  it('checks a robot without a ros: section in simulation: the report, and exit 2 on a problem (issue #21)', async () => {
    const ok = await run(['panda']);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain("robot 'panda' in simulation");
    expect(ok.stdout).toMatch(/ok {7}reaches all 9 test points/);
    const far = join(dir, 'far.yaml');
    writeFileSync(
      far,
      readFileSync(join(packageRoot(), 'config', 'robots', 'panda.yaml'), 'utf8')
        .replace(/^mjcf: .*$/m, `mjcf: ${join(packageRoot(), 'sim', 'assets', 'panda.xml')}`)
        .replace(/^basePos: .*$/m, 'basePos: [-0.9, 0, 0]'),
    );
    const r = await run([far]);
    expect(r.code).toBe(ExitCode.badInput);
    expect(r.stdout).toMatch(/PROBLEM {2}does not reach/);
    expect(r.stderr).toBe("armprior: robot check of 'panda' in simulation: 1 problem\n");
  });

  it('exits 2 on a command topic without subscribers', async () => {
    const r = await run([
      yaml({ command: { type: 'velocity', topic: '/wrong/commands' } }),
      '--listen-sec',
      '0.3',
    ]);
    expect(r.code).toBe(ExitCode.badInput);
    expect(r.stdout).toMatch(/PROBLEM {2}nobody subscribes to the command topic \/wrong\/commands/);
  });

  it('exits 2 naming the MJCF file when a copied config points at one that is not there', async () => {
    // The template's path, relative to config/robots/, in a YAML that lives elsewhere.
    const file = join(dir, 'copied.yaml');
    writeFileSync(
      file,
      readFileSync(yaml(), 'utf8').replace(/^mjcf: .*$/m, 'mjcf: ../../sim/assets/panda.xml'),
    );
    const r = await run([file]);
    expect(r.code).toBe(ExitCode.badInput);
    expect(r.stderr).toContain(
      `armprior: ${file}: mjcf: ../../sim/assets/panda.xml is ${resolve(dir, '../../sim/assets/panda.xml')}, which does not exist`,
    );
    expect(r.stderr).toContain(
      `relative to the built-in config/robots/ it would be ${join(repoRoot, 'sim/assets/panda.xml')}`,
    );
    expect(r.stderr).not.toMatch(/unexpected|ENOENT/);
  });
});

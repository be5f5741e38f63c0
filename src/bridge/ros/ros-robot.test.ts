import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PANDA_ROS_JOINTS, waitFor, writeRosRobotYaml } from '../../../test/support/ros-robot-config.js';
import { loadRobotConfig } from '../../robot-config/robot-config.js';
import { RobotError, RobotMismatchError } from '../robot.js';
import { RosRobot, type RosRobotOptions } from './ros-robot.js';
import { RosbridgeTestServer } from './rosbridge-test-server.js';

const ARM = 7;
const VELOCITY_TOPIC = '/joint_group_velocity_controller/commands';
const TRAJECTORY_TOPIC = '/joint_trajectory_controller/joint_trajectory';
const HOME = [0.0, 0.41, 0.0, -1.85, 0.0, 2.26, 0.79, 0.02, 0.02];

let server: RosbridgeTestServer;
let dir: string;
let robots: RosRobot[];
/** The loop's clock, moved by hand: stamps must come from it, not from the wall. */
let clockMs: number;
let logLines: string[];

beforeEach(async () => {
  server = await RosbridgeTestServer.start({
    jointNames: PANDA_ROS_JOINTS,
    initialPositions: HOME,
    stateRateHz: 100,
    // A relay for the gripper's finger targets listens here (the gripper test sends to it).
    controllerTopics: ['/gripper/commands'],
  });
  dir = mkdtempSync(join(tmpdir(), 'armprior-ros-'));
  robots = [];
  clockMs = 1000;
  logLines = [];
});

afterEach(async () => {
  for (const r of robots) await r.close();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Setup {
  readonly ros?: Record<string, unknown>;
  readonly reconnect?: Record<string, unknown>;
  readonly safety?: Record<string, unknown>;
  readonly options?: Partial<RosRobotOptions>;
}

function makeRobot({ ros = {}, reconnect = {}, safety, options = {} }: Setup = {}): RosRobot {
  const file = writeRosRobotYaml(
    dir,
    {
      url: server.url,
      command: { type: 'velocity', topic: VELOCITY_TOPIC },
      reconnect: { initialDelayMs: 20, maxDelayMs: 100, timeoutMs: 5000, ...reconnect },
      ...ros,
    },
    safety ? { safety } : {},
  );
  const robot = new RosRobot(loadRobotConfig(file), {
    now: () => clockMs,
    onReconnect: 'resume',
    log: (line) => logLines.push(line),
    ...options,
  });
  robots.push(robot);
  return robot;
}

/** Waits until every joint state the server sent has reached the robot (none is still in flight). */
const drained = (robot: RosRobot) =>
  waitFor('the states in flight', () => robot.stats().messagesReceived === server.statesDelivered);

const velocities = (x: number) => Float64Array.from({ length: ARM }, (_, i) => x + i / 100);
const dataOf = (msg: unknown) => (msg as { data: number[] }).data;

describe('RosRobot: state and commands', () => {
  it('connects once a state arrived, maps joints by name and stamps on the loop clock', async () => {
    const robot = makeRobot();
    expect(robot.link()).toBe('lost');
    await robot.connect();
    expect(robot.link()).toBe('connected');
    const first = robot.observe();
    expect(first?.stampMs).toBe(1000);
    expect(Array.from(first!.jointPositions)).toEqual(HOME.slice(0, ARM));
    expect(first!.gripperWidthM).toBeCloseTo(0.04, 12);
    clockMs = 2000;
    await waitFor('a state stamped 2000', () => robot.observe()?.stampMs === 2000);
    expect(robot.stats().messagesReceived).toBeGreaterThan(1);
    expect(robot.stats().messagesRejected).toBe(0);
    expect(robot.spec).toEqual({
      name: 'panda-test',
      jointNames: PANDA_ROS_JOINTS.slice(0, ARM),
      hasGripper: true,
    });
  });

  it('sends velocity commands with their data, in order', async () => {
    const robot = makeRobot();
    await robot.connect();
    const sent = [velocities(0.1), velocities(0.2), velocities(-0.3)].map((v) =>
      robot.act({ jointVelocities: v }),
    );
    expect(sent.every((s) => s !== undefined)).toBe(true);
    await waitFor('3 commands', () => server.commands.length === 3);
    expect(server.commands.map((c) => c.topic)).toEqual([VELOCITY_TOPIC, VELOCITY_TOPIC, VELOCITY_TOPIC]);
    expect(server.commands.map((c) => dataOf(c.msg))).toEqual(
      sent.map((s) => Array.from(s!.jointVelocities)),
    );
    expect(robot.stats().commandsSent).toBe(3);
    // The simulated arm integrates the command: the state moves.
    await waitFor('joint1 moving', () => (robot.observe()?.jointVelocities[0] ?? 0) === -0.3);
  });

  it('sends one-point trajectories: q + v·horizon, velocities, time_from_start', async () => {
    const robot = makeRobot({
      ros: { command: { type: 'trajectory', topic: TRAJECTORY_TOPIC, horizonSec: 0.2 } },
    });
    await robot.connect();
    const q = Array.from(robot.observe()!.jointPositions);
    const v = velocities(0.5);
    robot.act({ jointVelocities: v });
    await waitFor('a trajectory', () => server.commands.length === 1);
    const msg = server.commands[0]!.msg as {
      joint_names: string[];
      points: { positions: number[]; velocities: number[]; time_from_start: unknown }[];
    };
    expect(server.commands[0]!.topic).toBe(TRAJECTORY_TOPIC);
    expect(msg.joint_names).toEqual(PANDA_ROS_JOINTS.slice(0, ARM));
    expect(msg.points).toHaveLength(1);
    msg.points[0]!.positions.forEach((p, i) => {
      expect(p).toBeCloseTo(q[i]! + v[i]! * 0.2, 12);
    });
    expect(msg.points[0]!.velocities).toEqual(Array.from(v));
    expect(msg.points[0]!.time_from_start).toEqual({ sec: 0, nanosec: 200_000_000 });
    // stop() in trajectory mode: hold at the current positions with zero velocity. (stop()
    // publishes before its first await, so these are the positions it used.)
    const qHold = Array.from(robot.observe()!.jointPositions);
    await robot.stop();
    await waitFor('the hold point', () => server.commands.length === 2);
    const hold = server.commands[1]!.msg as typeof msg;
    expect(hold.points[0]!.positions).toEqual(qHold);
    expect(hold.points[0]!.velocities).toEqual(new Array(ARM).fill(0));
  });

  it('maps the gripper command to finger targets and fills object and goal from pose topics', async () => {
    const robot = makeRobot({
      ros: {
        gripperCommandTopic: '/gripper/commands',
        objectPoseTopic: '/object_pose',
        goalPoseTopic: '/goal_pose',
      },
    });
    await robot.connect();
    const sent = robot.act({ jointVelocities: velocities(0), gripper: 0 });
    robot.act({ jointVelocities: velocities(0), gripper: -1 });
    expect(sent?.gripper).toBe(0);
    await waitFor(
      'gripper targets',
      () => server.published.filter((p) => p.topic === '/gripper/commands').length === 2,
    );
    const targets = server.published.filter((p) => p.topic === '/gripper/commands').map((p) => dataOf(p.msg));
    expect(targets).toEqual([
      [0.02, 0.02],
      [0, 0],
    ]);
    await waitFor('pose subscriptions', () => server.subscriberCount('/goal_pose') === 1);
    const poseType = server.type('geometry_msgs', 'PoseStamped');
    const pose = (x: number) => ({
      header: { frame_id: 'table' },
      pose: { position: { x, y: 0.1, z: 0.02 }, orientation: { w: 1, x: 0, y: 0, z: 0 } },
    });
    server.publish('/object_pose', poseType, pose(0.3));
    server.publish('/goal_pose', poseType, pose(-0.2));
    await waitFor('poses in the state', () => robot.observe()?.goalPositionM !== undefined);
    await waitFor('object in the state', () => robot.observe()?.object !== undefined);
    expect(Array.from(robot.observe()!.object!.positionM)).toEqual([0.3, 0.1, 0.02]);
    expect(Array.from(robot.observe()!.goalPositionM!)).toEqual([-0.2, 0.1, 0.02]);
  });

  it('stop() publishes zero velocity, and is confirmed by a fresh state at rest', async () => {
    const robot = makeRobot();
    await robot.connect();
    robot.act({ jointVelocities: velocities(0.4) });
    await waitFor('joint1 moving', () => (robot.observe()?.jointVelocities[0] ?? 0) === 0.4);
    const outcome = await robot.stop();
    await waitFor('2 commands', () => server.commands.length === 2);
    expect(dataOf(server.commands[1]!.msg)).toEqual(new Array(ARM).fill(0));
    expect(outcome.kind).toBe('confirmed');
    expect(outcome.detail).toMatch(
      /^zero joint velocity sent; a joint state \d+ ms later shows every joint slower than 0.05 rad\/s$/,
    );
  });

  it('stop() is unconfirmed when no joint state comes after it, saying what the operator must do', async () => {
    const robot = makeRobot({ safety: { stopConfirmTimeoutMs: 300 } });
    await robot.connect();
    robot.act({ jointVelocities: velocities(0.4) });
    server.pauseState();
    await drained(robot);
    const outcome = await robot.stop();
    expect(server.commands.map((c) => dataOf(c.msg)).at(-1)).toEqual(new Array(ARM).fill(0));
    expect(outcome).toEqual({
      kind: 'unconfirmed',
      detail:
        'zero joint velocity sent, but no joint state arrived on /joint_states within 300 ms to confirm it',
      operatorAction: 'check the arm: if it is still moving, stop it at the robot (its e-stop)',
    });
  });

  it('stop() is unconfirmed when the states after it show the arm still moving', async () => {
    const robot = makeRobot({ safety: { stopConfirmTimeoutMs: 300 } });
    await robot.connect();
    robot.act({ jointVelocities: velocities(0.4) });
    await waitFor('joint7 moving', () => (robot.observe()?.jointVelocities[6] ?? 0) === 0.46);
    // A controller that does not obey the stop: the states keep reporting the old velocities.
    server.ignoreCommands();
    const outcome = await robot.stop();
    expect(outcome.kind).toBe('unconfirmed');
    expect(outcome.detail).toBe(
      'zero joint velocity sent, but joint7 was still moving at 0.460 rad/s 300 ms later',
    );
  });

  it('speaks ROS 1: type names without /msg/ and secs/nsecs durations', async () => {
    await server.close();
    server = await RosbridgeTestServer.start({
      jointNames: PANDA_ROS_JOINTS,
      initialPositions: HOME,
      rosVersion: 1,
    });
    const robot = makeRobot({
      ros: { rosVersion: 1, command: { type: 'trajectory', topic: TRAJECTORY_TOPIC, horizonSec: 1.5 } },
    });
    await robot.connect();
    robot.act({ jointVelocities: velocities(0) });
    await waitFor('a trajectory', () => server.commands.length === 1);
    const types = server.received
      .filter((m) => m.op === 'subscribe' || m.op === 'advertise')
      .map((m) => m.type);
    expect(types).toEqual(['sensor_msgs/JointState', 'trajectory_msgs/JointTrajectory']);
    const msg = server.commands[0]!.msg as { points: { time_from_start: unknown }[] };
    expect(msg.points[0]!.time_from_start).toEqual({ secs: 1, nsecs: 500_000_000 });
  });

  it('refuses a config without a ros section, naming the robot', () => {
    expect(() => new RosRobot(loadRobotConfig('panda'), { now: () => 0 })).toThrow(
      /robot 'panda' has no 'ros:' section/,
    );
  });
});

describe('RosRobot: what the bridge gets wrong', () => {
  it('rejects connect when the state lacks the arm joints, naming them', async () => {
    server.setJointNames(['a', 'b', 'c']);
    const robot = makeRobot({ reconnect: { timeoutMs: 800 } });
    const error = await robot.connect().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RobotError);
    expect((error as Error).message).toContain(server.url);
    expect((error as Error).message).toContain(
      'joint state on /joint_states lacks joint1, joint2, joint3, joint4, joint5, joint6, joint7 (it has: a, b, c)',
    );
    expect(robot.link()).toBe('lost');
    expect(robot.stats().messagesRejected).toBeGreaterThan(0);
  });

  it('rejects connect when nothing listens, naming the URL and the missing socket', async () => {
    const robot = makeRobot({ reconnect: { timeoutMs: 500 } });
    await server.kill();
    await expect(robot.connect()).rejects.toThrow(
      new RegExp(`could not connect to the robot at ${server.url} within 0.5 s: no socket`),
    );
  });

  it('rejects connect when the socket opens but no state comes', async () => {
    server.pauseState();
    const robot = makeRobot({ reconnect: { timeoutMs: 500 } });
    await expect(robot.connect()).rejects.toThrow(
      `could not connect to the robot at ${server.url} within 0.5 s: no message on /joint_states`,
    );
  });

  it('keeps trying to connect until the bridge is up', async () => {
    await server.kill();
    const robot = makeRobot();
    const connected = robot.connect();
    await new Promise((r) => setTimeout(r, 150));
    expect(robot.link()).toBe('reconnecting');
    await server.restart();
    await connected;
    expect(robot.link()).toBe('connected');
    expect(robot.stats().reconnects).toBe(0);
  });

  it('counts malformed frames and messages, and keeps working', async () => {
    const robot = makeRobot();
    await robot.connect();
    server.sendRaw('this is not json');
    server.sendRaw('{"no_op": 1}');
    server.publish('/joint_states', server.type('sensor_msgs', 'JointState'), {
      name: ['joint1'],
      position: [1, 2],
    });
    server.publish('/joint_states', server.type('sensor_msgs', 'JointState'), 'a string');
    await waitFor('4 rejections', () => robot.stats().messagesRejected >= 4);
    expect(robot.stats().lastRejection).toBeDefined();
    // Delayed state still arrives and is used; the link stays up.
    server.setStateDelayMs(150);
    clockMs = 5000;
    await waitFor('a fresh state after the garbage', () => robot.observe()?.stampMs === 5000);
    expect(robot.link()).toBe('connected');
    expect(robot.act({ jointVelocities: velocities(0.1) })).toBeDefined();
    await waitFor('the command', () => server.commands.length === 1);
  });
});

describe('RosRobot: link loss', () => {
  it("with 'resume': holds while down, sends nothing stale, and resumes with new commands", async () => {
    const faults: string[] = [];
    const robot = makeRobot();
    robot.onFault((r) => faults.push(r));
    await robot.connect();
    robot.act({ jointVelocities: velocities(0.1) });
    await waitFor('the first command', () => server.commands.length === 1);

    await server.kill();
    await waitFor('link reconnecting', () => robot.link() === 'reconnecting');
    expect(robot.observe()).toBeUndefined();
    for (let i = 0; i < 5; i++) expect(robot.act({ jointVelocities: velocities(9.9) })).toBeUndefined();
    // Link down: nothing can be sent, and the outcome says so with what the operator must do.
    expect(await robot.stop()).toEqual({
      kind: 'impossible',
      detail: `the link to ${server.url} is down: no stop command could be sent`,
      operatorAction:
        'stop the arm at the robot now (its e-stop): it keeps its last command unless its controller has a command timeout',
    });
    expect(logLines.some((l) => l.includes('no stop command sent'))).toBe(true);
    expect(robot.stats().commandsDropped).toBe(5);

    await server.restart();
    await waitFor('link connected again', () => robot.link() === 'connected');
    expect(robot.observe()).toBeDefined();
    robot.act({ jointVelocities: velocities(1.5) });
    await waitFor('the command after the restart', () => server.commands.some((c) => c.generation === 2));
    const after = server.commands.filter((c) => c.generation === 2);
    expect(dataOf(after[0]!.msg)).toEqual(Array.from(velocities(1.5)));
    expect(server.commands.some((c) => dataOf(c.msg)[0] === 9.9)).toBe(false);
    expect(server.commands).toHaveLength(2);
    expect(robot.stats().reconnects).toBe(1);
    expect(faults).toEqual([]);
  });

  it("with 'stop': the link coming back is a fault, and act() sends nothing after it", async () => {
    const faults: string[] = [];
    const robot = makeRobot({ options: { onReconnect: 'stop' } });
    robot.onFault((r) => faults.push(r));
    await robot.connect();
    await server.kill();
    await waitFor('link reconnecting', () => robot.link() === 'reconnecting');
    await server.restart();
    await waitFor('a fault', () => faults.length === 1);
    expect(faults[0]).toBe(`the link to ${server.url} came back; safety.onReconnect is 'stop'`);
    expect(robot.act({ jointVelocities: velocities(0.2) })).toBeUndefined();
    expect((await robot.stop()).kind).toBe('confirmed');
    await waitFor('the stop command', () => server.commands.length === 1);
    expect(dataOf(server.commands[0]!.msg)).toEqual(new Array(ARM).fill(0));
  });

  it('a link not back within timeoutMs is lost, with a fault naming the URL', async () => {
    const faults: string[] = [];
    const robot = makeRobot({ reconnect: { timeoutMs: 1000 } });
    robot.onFault((r) => faults.push(r));
    await robot.connect();
    await server.kill();
    await waitFor('link lost', () => robot.link() === 'lost');
    expect(faults).toHaveLength(1);
    expect(faults[0]).toMatch(
      new RegExp(`^rosbridge at ${server.url} closed at \\S+ and did not come back within 1 s$`),
    );
    // Coming back later changes nothing: the robot gave up.
    await server.restart();
    await new Promise((r) => setTimeout(r, 200));
    expect(robot.link()).toBe('lost');
    expect(robot.act({ jointVelocities: velocities(0.1) })).toBeUndefined();
  });

  it('an e-stop message is a fault', async () => {
    const faults: string[] = [];
    const robot = makeRobot({ ros: { estopTopic: '/estop' } });
    robot.onFault((r) => faults.push(r));
    await robot.connect();
    await waitFor('e-stop subscription', () => server.subscriberCount('/estop') === 1);
    server.publish('/estop', server.type('std_msgs', 'Bool'), { data: false });
    server.publish('/estop', server.type('std_msgs', 'Bool'), { data: true });
    server.publish('/estop', server.type('std_msgs', 'Bool'), { data: true });
    await waitFor('the fault', () => faults.length > 0);
    await new Promise((r) => setTimeout(r, 50));
    expect(faults).toEqual(['e-stop on /estop']);
    expect(robot.act({ jointVelocities: velocities(0.1) })).toBeUndefined();
  });

  it('close() unsubscribes, unadvertises and stops reconnecting', async () => {
    const robot = makeRobot();
    await robot.connect();
    await robot.close();
    await waitFor('no clients', () => server.clientCount() === 0);
    const ops = server.received.map((m) => m.op);
    expect(ops).toContain('unsubscribe');
    expect(ops).toContain('unadvertise');
    expect(robot.link()).toBe('lost');
    await new Promise((r) => setTimeout(r, 100));
    expect(server.clientCount()).toBe(0);
  });
});

describe('RosRobot: the bridge it meets', () => {
  it('refuses to connect to a ROS 1 bridge with rosVersion 2, saying which version it speaks', async () => {
    await server.close();
    server = await RosbridgeTestServer.start({
      jointNames: PANDA_ROS_JOINTS,
      initialPositions: HOME,
      rosVersion: 1,
    });
    // A long connect timeout: the answer must come from rosapi, not from waiting for a state.
    const robot = makeRobot({ reconnect: { timeoutMs: 60_000 } });
    const error = await robot.connect().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RobotMismatchError);
    expect((error as Error).message).toBe(
      `the robot at ${server.url} does not match robot 'panda-test' (nothing was commanded): rosbridge speaks ROS 1 ` +
        '(rosapi lists /joint_states as sensor_msgs/JointState), but ros.rosVersion is 2: set ros.rosVersion: 1',
    );
    expect(robot.link()).toBe('lost');
    expect(server.commands).toEqual([]);
  }, 30_000);

  it('refuses to connect when nobody subscribes to the command topic, naming it', async () => {
    const robot = makeRobot({
      ros: { command: { type: 'velocity', topic: '/joint_group_velocity_controler/commands' } },
    });
    const error = await robot.connect().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RobotMismatchError);
    expect((error as Error).message).toContain(
      'nobody subscribes to the command topic /joint_group_velocity_controler/commands, so commands sent there would move nothing',
    );
    expect(server.published).toEqual([]);
  });

  it('connects without the checks when rosapi does not answer, and says so', async () => {
    server.disableRosapi();
    const robot = makeRobot();
    await robot.connect();
    expect(robot.link()).toBe('connected');
    expect(logLines.some((l) => l.startsWith('rosapi did not tell the topic list'))).toBe(true);
  });
});

describe('RosRobot: joint states after a gap', () => {
  it('goes on, and says so, when the arm is where the commands took it', async () => {
    const faults: string[] = [];
    const robot = makeRobot();
    robot.onFault((r) => faults.push(r));
    await robot.connect();
    server.pauseState();
    await drained(robot);
    clockMs += 500; // the loop's watchdog would have held the arm meanwhile
    server.resumeState();
    await waitFor('the state gap', () => robot.stats().stateGaps === 1);
    expect(faults).toEqual([]);
    expect(logLines).toContain(
      'joint states are back after 500 ms without joint states; the arm is where the commands sent could have taken it; going on',
    );
    expect(robot.act({ jointVelocities: velocities(0.1) })).toBeDefined();
  });

  it('faults when the state comes back with a jump, naming the joint', async () => {
    const faults: string[] = [];
    const robot = makeRobot();
    robot.onFault((r) => faults.push(r));
    await robot.connect();
    server.pauseState();
    await drained(robot);
    clockMs += 500;
    // Someone resets the arm while its state is not published.
    server.setJointPositions([0.8, ...HOME.slice(1)]);
    server.resumeState();
    await waitFor('the fault', () => faults.length === 1);
    expect(faults[0]).toBe(
      'joint states came back after 500 ms without joint states with joint1 0.800 rad from where it was ' +
        '(the commands sent explain at most 0.208 rad): the arm moved while it was not observed ' +
        '(reset, pushed, or a driver restart); check the arm and the scene, then start a new run',
    );
    expect(robot.act({ jointVelocities: velocities(0.1) })).toBeUndefined();
    // The stop still goes out, and is confirmed by the fresh state.
    expect((await robot.stop()).kind).toBe('confirmed');
  });

  it('faults when the link comes back with the arm elsewhere, even with onReconnect resume', async () => {
    const faults: string[] = [];
    const robot = makeRobot();
    robot.onFault((r) => faults.push(r));
    await robot.connect();
    await server.kill();
    await waitFor('link reconnecting', () => robot.link() === 'reconnecting');
    server.setJointPositions([0, 0.41, 0, -1.85, 0, 2.26, -0.3]);
    await server.restart();
    await waitFor('the fault', () => faults.length === 1);
    expect(faults[0]).toMatch(
      /^joint states came back after a link loss with joint7 1\.090 rad from where it was/,
    );
  });

  it('accepts the motion the commands sent explain, across a gap', async () => {
    const faults: string[] = [];
    const robot = makeRobot();
    robot.onFault((r) => faults.push(r));
    await robot.connect();
    server.pauseState();
    await drained(robot);
    // 1 rad/s on joint1 for 0.5 s of loop time, then a hold: the arm is 0.5 rad further on.
    robot.act({ jointVelocities: Float64Array.of(1, 0, 0, 0, 0, 0, 0) });
    clockMs += 500;
    robot.act({ jointVelocities: new Float64Array(ARM) });
    await waitFor('both commands', () => server.commands.length === 2);
    server.setJointPositions([0.5, ...HOME.slice(1)]);
    clockMs += 200;
    server.resumeState();
    await waitFor('the state gap', () => robot.stats().stateGaps === 1);
    expect(faults).toEqual([]);
  });
});

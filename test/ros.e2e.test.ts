import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type RosbridgeServerOptions, RosbridgeTestServer } from '../src/bridge/ros/rosbridge-test-server.js';
import { readDataset } from '../src/episodes/dataset/index.js';
import { loadRobotConfig } from '../src/robot-config/robot-config.js';
import { PANDA_ROS_JOINTS, waitFor, writeRosRobotYaml } from './support/ros-robot-config.js';
import { cliBin, runCli } from './support/run-cli.js';

const home = [...loadRobotConfig('panda').arm.homeQpos, 0.02, 0.02];
const servers: RosbridgeTestServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

async function setup(
  reconnectTimeoutMs = 30_000,
  safety: Record<string, unknown> = {},
  more: { server?: Partial<RosbridgeServerOptions>; ros?: Record<string, unknown> } = {},
) {
  const server = await RosbridgeTestServer.start({
    jointNames: PANDA_ROS_JOINTS,
    initialPositions: home,
    stateRateHz: 100,
    ...more.server,
  });
  servers.push(server);
  const dir = mkdtempSync(join(tmpdir(), 'armprior-ros-'));
  const robot = writeRosRobotYaml(
    dir,
    {
      url: server.url,
      command: { type: 'velocity', topic: '/joint_group_velocity_controller/commands' },
      reconnect: { initialDelayMs: 50, maxDelayMs: 200, timeoutMs: reconnectTimeoutMs },
      ...more.ros,
    },
    { safety },
  );
  return { server, dir, robot };
}

const READ_REACH = { task: 'reach', observationSize: 6, goalSize: 3, actionSize: 3 } as const;
/** The panda configs' safety.maxStateAgeMs (s): no recorded episode may span a longer gap. */
const MAX_STATE_AGE_SEC = 0.1;

/** The largest time between two consecutive steps of any recorded episode (s). */
function largestStepGapSec(details: readonly { timeSec: Float64Array }[]): number {
  let gap = 0;
  for (const d of details)
    for (let i = 1; i < d.timeSec.length; i++) gap = Math.max(gap, d.timeSec[i]! - d.timeSec[i - 1]!);
  return gap;
}

const velocities = (msg: unknown) => (msg as { data: number[] }).data;

/** `armprior run` of the Reach prior on `robot` toward a fixed goal, printing JSON. */
const reachRun = (robot: string, ...more: string[]) => [
  'run',
  '--robot',
  robot,
  '--actor',
  'prior:reach',
  '--goal',
  '0.1,0,0.1',
  '--json',
  ...more,
];

/** Starts the CLI in the background; `result` resolves when it exits. */
function startCli(args: string[]) {
  const child = spawn(process.execPath, [cliBin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const result = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('exit', (code) => resolve({ code, stdout, stderr })),
  );
  return { child, result };
}

describe('armprior run on a robot over rosbridge', () => {
  it('drives the arm with joint velocity commands within its limits, and ends with a zero command', async () => {
    const { server, dir, robot } = await setup();
    const record = join(dir, 'demos');
    const run = await runCli([
      'run',
      '--robot',
      robot,
      '--actor',
      'prior:reach:bundled',
      '--goal',
      '0.1,0.1,0.15',
      '--duration',
      '2',
      '--record',
      record,
      '--json',
    ]);
    expect(run.stderr).not.toMatch(/unexpected/);
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout);
    expect(result.report.stopReason).toBe('duration reached');
    expect(result.report.steps).toBeGreaterThan(20);
    expect(server.commands.length).toBeGreaterThanOrEqual(result.report.steps);
    const limits = loadRobotConfig('panda').arm.maxJointVelRadPerSec;
    for (const c of server.commands) {
      const v = velocities(c.msg);
      expect(v).toHaveLength(7);
      for (let i = 0; i < 7; i++) expect(Math.abs(v[i]!)).toBeLessThanOrEqual(limits[i]! + 1e-9);
    }
    expect(velocities(server.commands.at(-1)!.msg).every((x) => x === 0)).toBe(true);
    expect(server.commands.some((c) => velocities(c.msg).some((x) => Math.abs(x) > 0.01))).toBe(true);
    const data = await readDataset(record, { task: 'reach', observationSize: 6, goalSize: 3, actionSize: 3 });
    expect(data.meta.source).toBe('robot');
    expect(data.episodes.reduce((n, e) => n + e.length, 0)).toBe(result.report.steps);
  });

  it('stops safely on Ctrl-C, with the reason and every recorded step', async () => {
    const { server, dir, robot } = await setup();
    const record = join(dir, 'demos');
    const cli = startCli(reachRun(robot, '--record', record));
    await waitFor('commands', () => server.commands.length > 10, { timeoutMs: 60_000 });
    cli.child.kill('SIGINT');
    const out = await cli.result;
    expect(out.code).toBe(0);
    const result = JSON.parse(out.stdout);
    expect(result.report.stopReason).toBe('interrupted (SIGINT)');
    expect(result.report.stop.kind).toBe('confirmed');
    expect(velocities(server.commands.at(-1)!.msg).every((x) => x === 0)).toBe(true);
    const data = await readDataset(record, { task: 'reach', observationSize: 6, goalSize: 3, actionSize: 3 });
    expect(data.episodes.reduce((n, e) => n + e.length, 0)).toBe(result.report.steps);
    // The run ended normally: the episode says so (it was not cut short by a fault).
    expect(data.details.at(-1)!.meta.endReason).toBe('run_ended');
  });

  it('ends on a fault when rosbridge dies and does not come back, keeping the recording up to the fault', async () => {
    const { server, dir, robot } = await setup(1000);
    const record = join(dir, 'demos');
    const cli = startCli(reachRun(robot, '--record', record));
    await waitFor('commands', () => server.commands.length > 10, { timeoutMs: 60_000 });
    await server.kill();
    const out = await cli.result;
    expect(out.code).toBe(3);
    expect(out.stderr).toMatch(/fault/);
    expect(out.stderr).toMatch(/did not come back/);
    // It never claims a stop it did not make.
    expect(out.stderr).not.toMatch(/with the robot stopped|robot stopped safely/);
    expect(out.stderr).toMatch(
      /armprior: the run stopped on a fault: rosbridge at \S+ closed at \S+ and did not come back within 1 s; robot NOT stopped: the link to \S+ is down: no stop command could be sent; stop the arm at the robot now/,
    );
    const result = JSON.parse(out.stdout);
    expect(result.report.fault).toBe(true);
    expect(result.report.stop.kind).toBe('impossible');
    expect(result.report.linkDownTicks).toBeGreaterThan(0);
    const data = await readDataset(record, { task: 'reach', observationSize: 6, goalSize: 3, actionSize: 3 });
    expect(data.episodes.reduce((n, e) => n + e.length, 0)).toBe(result.report.steps);
    expect(data.details.at(-1)!.meta.endReason).toBe('link_lost');
  });

  it('a link still down when the duration ends is a fault: no stop could be sent, and the report says what to do', async () => {
    const { server, dir, robot } = await setup(30_000);
    const record = join(dir, 'demos');
    // The text report this time (not --json).
    const cli = startCli([
      'run',
      '--robot',
      robot,
      '--actor',
      'prior:reach',
      '--goal',
      '0.1,0,0.1',
      '--duration',
      '5',
      '--record',
      record,
    ]);
    await waitFor('commands', () => server.commands.length > 10, { timeoutMs: 60_000 });
    await server.kill();
    const out = await cli.result;
    expect(out.code).toBe(3);
    expect(out.stdout).toContain('  ended: duration reached\n');
    expect(out.stdout).toMatch(
      /\n {2}robot NOT stopped: the link to \S+ is down: no stop command could be sent; stop the arm at the robot now \(its e-stop\): it keeps its last command unless its controller has a command timeout\n/,
    );
    expect(out.stdout).not.toMatch(/stopped safely/);
    expect(out.stderr).toMatch(
      /armprior: the run ended \(duration reached\) without a confirmed stop; robot NOT stopped/,
    );
    const data = await readDataset(record, READ_REACH);
    // The episode ended at the loss, not at the end of the run.
    expect(data.details.at(-1)!.meta.endReason).toBe('link_lost');
    expect(largestStepGapSec(data.details)).toBeLessThanOrEqual(MAX_STATE_AGE_SEC + 1e-9);
  });

  it('a stop no fresh state confirms is a fault, saying it was sent but not confirmed', async () => {
    const { server, robot } = await setup();
    const cli = startCli(reachRun(robot));
    await waitFor('commands', () => server.commands.length > 10, { timeoutMs: 60_000 });
    server.pauseState(); // rosbridge up, joint states gone
    await waitFor('watchdog holds', () =>
      server.commands.slice(-3).every((c) => velocities(c.msg).every((x) => x === 0)),
    );
    cli.child.kill('SIGINT');
    const out = await cli.result;
    expect(out.code).toBe(3);
    const report = JSON.parse(out.stdout).report;
    expect(report).toMatchObject({ stopReason: 'interrupted (SIGINT)', fault: true, endedOnFault: false });
    expect(report.stop).toEqual({
      kind: 'unconfirmed',
      detail:
        'zero joint velocity sent, but no joint state arrived on /joint_states within 1000 ms to confirm it',
      operatorAction: 'check the arm: if it is still moving, stop it at the robot (its e-stop)',
    });
    expect(out.stderr).toContain(
      'armprior: the run ended (interrupted (SIGINT)) without a confirmed stop; stop NOT confirmed: zero joint velocity sent',
    );
    expect(velocities(server.commands.at(-1)!.msg).every((x) => x === 0)).toBe(true);
  });

  it('holds the arm while the state goes stale, and goes on when it is fresh again, in a new episode', async () => {
    const { server, dir, robot } = await setup();
    const record = join(dir, 'demos');
    const cli = startCli(reachRun(robot, '--record', record));
    await waitFor('commands', () => server.commands.length > 10, { timeoutMs: 60_000 });
    server.pauseState();
    const pausedAt = server.commands.length;
    await new Promise((r) => setTimeout(r, 600));
    server.resumeState();
    const resumedAt = server.commands.length;
    // Commands sent while no state came (less the first few, before the state grew stale).
    const duringPause = server.commands.slice(pausedAt + 5, resumedAt);
    await waitFor('commands after the pause', () => server.commands.length > resumedAt + 10);
    cli.child.kill('SIGINT');
    const out = await cli.result;
    expect(out.code).toBe(0);
    const report = JSON.parse(out.stdout).report;
    expect(report.watchdogHolds).toBeGreaterThan(0);
    expect(duringPause.length).toBeGreaterThan(0);
    for (const c of duringPause) expect(velocities(c.msg).every((x) => x === 0)).toBe(true);
    expect(server.commands.slice(resumedAt).some((c) => velocities(c.msg).some((x) => x !== 0))).toBe(true);
    // The arm was where it was left: going on is said, not silent.
    expect(out.stderr).toMatch(
      /joint states are back after \d+ ms without joint states; the arm is where the commands sent could have taken it; going on/,
    );
    // The recording ends an episode at the gap and begins the next after it.
    const data = await readDataset(record, READ_REACH);
    const reasons = data.details.map((d) => d.meta.endReason);
    // (A loaded machine may stall the loop past maxStateAgeMs elsewhere too: more state gaps.)
    expect(reasons.length).toBeGreaterThanOrEqual(2);
    expect(reasons.slice(0, -1).every((r) => r === 'state_gap')).toBe(true);
    expect(reasons.at(-1)).toBe('run_ended');
    expect(largestStepGapSec(data.details)).toBeLessThanOrEqual(MAX_STATE_AGE_SEC + 1e-9);
    expect(data.episodes.reduce((n, e) => n + e.length, 0)).toBe(report.steps);
  });

  it('a jump in the joint states after the watchdog held is a fault, not a silent resume', async () => {
    const { server, robot } = await setup();
    // A duration bounds the run should it (wrongly) go on after the jump.
    const cli = startCli(reachRun(robot, '--duration', '30'));
    await waitFor('commands', () => server.commands.length > 10, { timeoutMs: 60_000 });
    server.pauseState();
    await waitFor('watchdog holds', () =>
      server.commands.slice(-3).every((c) => velocities(c.msg).every((x) => x === 0)),
    );
    // The arm is reset while nobody watches it.
    const jumpedAt = server.commands.length;
    server.setJointPositions([home[0]! + 1, ...home.slice(1)]);
    server.resumeState();
    const out = await cli.result;
    expect(out.code).toBe(3);
    expect(out.stderr).toMatch(
      /fault: joint states came back after \d+ ms without joint states with joint1 \d\.\d{3} rad from where it was \(the commands sent explain at most 0\.\d{3} rad\): the arm moved while it was not observed/,
    );
    const report = JSON.parse(out.stdout).report;
    expect(report.endedOnFault).toBe(true);
    expect(report.stop.kind).toBe('confirmed');
    // Nothing but holds and the stop after the jump: commanding did not resume.
    for (const c of server.commands.slice(jumpedAt))
      expect(velocities(c.msg).every((x) => x === 0)).toBe(true);
  });

  it('with safety.onReconnect resume, comes back after rosbridge restarts and goes on commanding, in a new episode', async () => {
    const { server, dir, robot } = await setup(30_000, { onReconnect: 'resume' });
    const record = join(dir, 'demos');
    const cli = startCli(reachRun(robot, '--record', record));
    await waitFor('commands', () => server.commands.length > 10, { timeoutMs: 60_000 });
    await server.kill();
    await new Promise((r) => setTimeout(r, 300));
    await server.restart();
    await waitFor('commands after the restart', () =>
      server.commands.some((c) => c.generation === 2 && velocities(c.msg).some((x) => x !== 0)),
    );
    cli.child.kill('SIGINT');
    const out = await cli.result;
    expect(out.code).toBe(0);
    const result = JSON.parse(out.stdout);
    expect(result.report.linkDownTicks).toBeGreaterThan(0);
    expect(result.robotStats.reconnects).toBe(1);
    // No recorded step spans the outage: the episode ends at the loss, the next begins after it,
    // and the run's normal end closes the last one as such.
    const data = await readDataset(record, READ_REACH);
    const reasons = data.details.map((d) => d.meta.endReason);
    expect(reasons).toContain('link_lost');
    expect(reasons.slice(0, -1).every((r) => r === 'link_lost' || r === 'state_gap')).toBe(true);
    expect(reasons.at(-1)).toBe('run_ended');
    expect(largestStepGapSec(data.details)).toBeLessThanOrEqual(MAX_STATE_AGE_SEC + 1e-9);
    expect(data.episodes.reduce((n, e) => n + e.length, 0)).toBe(result.report.steps);
  });

  it('stops on the e-stop topic', async () => {
    const { server, dir } = await setup();
    const robot = writeRosRobotYaml(
      dir,
      {
        url: server.url,
        command: { type: 'velocity', topic: '/joint_group_velocity_controller/commands' },
        estopTopic: '/estop',
      },
      { name: 'with-estop' },
    );
    const cli = startCli(reachRun(robot));
    await waitFor('commands', () => server.commands.length > 5, { timeoutMs: 60_000 });
    server.publish('/estop', server.type('std_msgs', 'Bool'), { data: true });
    const out = await cli.result;
    expect(out.code).not.toBe(0);
    expect(JSON.parse(out.stdout).report.stopReason).toMatch(/e-stop on \/estop/);
    expect(velocities(server.commands.at(-1)!.msg).every((x) => x === 0)).toBe(true);
  });
});

describe('armprior run refuses a robot that is not the one its config describes, before commanding it', () => {
  it('a ROS 1 bridge with rosVersion 2: says which version it speaks, at once, exit 2', async () => {
    // The reconnect timeout is 30 s: the answer must come from rosapi, not from a silent state topic.
    const { server, robot } = await setup(30_000, {}, { server: { rosVersion: 1 } });
    const out = await runCli(reachRun(robot, '--duration', '5'));
    expect(out.code).toBe(2);
    expect(out.stderr).toContain(
      `armprior: the robot at ${server.url} does not match robot 'panda-test' (nothing was commanded): rosbridge speaks ROS 1 (rosapi lists /joint_states as sensor_msgs/JointState), but ros.rosVersion is 2: set ros.rosVersion: 1\n`,
    );
    expect(server.commands).toEqual([]);
  });

  it('a command topic nobody subscribes to: names it, exit 2, nothing sent', async () => {
    const { server, robot } = await setup(
      30_000,
      {},
      {
        ros: { command: { type: 'velocity', topic: '/joint_group_velocity_controller/command' } },
      },
    );
    const out = await runCli(reachRun(robot, '--duration', '5'));
    expect(out.code).toBe(2);
    expect(out.stderr).toContain(
      'nobody subscribes to the command topic /joint_group_velocity_controller/command, so commands sent there would move nothing',
    );
    expect(server.published).toEqual([]);
  });

  it('joint positions outside the model limits at start: refuses, naming the joint, its position and limits, exit 3', async () => {
    // A real arm powered on at zero: joint4's range is [-3.0718, -0.0698].
    const { server, robot } = await setup(30_000, {}, { server: { initialPositions: new Array(9).fill(0) } });
    const out = await runCli(reachRun(robot, '--duration', '5'));
    expect(out.code).toBe(3);
    expect(out.stderr).toMatch(
      /armprior: robot 'panda-test' reports joint positions outside the limits of its model \S+panda\.xml: joint4 at 0\.000 rad, limits \[-3\.072, -0\.070\]\. The run does not start \(nothing was commanded\)/,
    );
    expect(out.stderr).not.toMatch(/unexpected/);
    expect(server.commands).toEqual([]);
  });

  it('a copied robot YAML whose relative mjcf is not there: names the file, exit 2, no stack', async () => {
    const { server, dir, robot } = await setup();
    const copied = join(dir, 'copied.yaml');
    writeFileSync(
      copied,
      readFileSync(robot, 'utf8').replace(/^mjcf: .*$/m, 'mjcf: ../../sim/assets/panda.xml'),
    );
    const out = await runCli(reachRun(copied, '--duration', '5'));
    expect(out.code).toBe(2);
    expect(out.stderr).toContain(
      `armprior: ${copied}: mjcf: ../../sim/assets/panda.xml is ${resolve(dir, '../../sim/assets/panda.xml')}, which does not exist`,
    );
    expect(out.stderr).not.toMatch(/unexpected|ENOENT|\n\s+at /);
    expect(server.clientCount()).toBe(0);
  });
});

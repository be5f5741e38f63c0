import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadRobotConfig } from '../sim/robot-config.js';
import { readDataset } from '../src/datasets/index.js';
import { PANDA_ROS_JOINTS, waitFor, writeRosRobotYaml } from './support/ros-robot-config.js';
import { RosbridgeTestServer } from './support/rosbridge-server.js';
import { cliBin, runCli } from './support/run-cli.js';

const home = [...loadRobotConfig('panda').arm.homeQpos, 0.02, 0.02];
const servers: RosbridgeTestServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

async function setup(reconnectTimeoutMs = 30_000, safety: Record<string, unknown> = {}) {
  const server = await RosbridgeTestServer.start({
    jointNames: PANDA_ROS_JOINTS,
    initialPositions: home,
    stateRateHz: 100,
  });
  servers.push(server);
  const dir = mkdtempSync(join(tmpdir(), 'armprior-ros-'));
  const robot = writeRosRobotYaml(
    dir,
    {
      url: server.url,
      command: { type: 'velocity', topic: '/joint_group_velocity_controller/commands' },
      reconnect: { initialDelayMs: 50, maxDelayMs: 200, timeoutMs: reconnectTimeoutMs },
    },
    { safety },
  );
  return { server, dir, robot };
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
    expect(velocities(server.commands.at(-1)!.msg).every((x) => x === 0)).toBe(true);
    const data = await readDataset(record, { task: 'reach', observationSize: 6, goalSize: 3, actionSize: 3 });
    expect(data.episodes.reduce((n, e) => n + e.length, 0)).toBe(result.report.steps);
    expect(data.details.at(-1)!.meta.endReason).toBe('aborted');
  });

  it('ends on a fault when rosbridge dies and does not come back, keeping the recording up to the fault', async () => {
    const { server, dir, robot } = await setup(1000);
    const record = join(dir, 'demos');
    const cli = startCli(reachRun(robot, '--record', record));
    await waitFor('commands', () => server.commands.length > 10, { timeoutMs: 60_000 });
    await server.kill();
    const out = await cli.result;
    expect(out.code).not.toBe(0);
    expect(out.stderr).toMatch(/fault/);
    expect(out.stderr).toMatch(/did not come back/);
    const result = JSON.parse(out.stdout);
    expect(result.report.fault).toBe(true);
    expect(result.report.linkDownTicks).toBeGreaterThan(0);
    const data = await readDataset(record, { task: 'reach', observationSize: 6, goalSize: 3, actionSize: 3 });
    expect(data.episodes.reduce((n, e) => n + e.length, 0)).toBe(result.report.steps);
  });

  it('holds the arm while the state goes stale, and goes on when it is fresh again', async () => {
    const { server, robot } = await setup();
    const cli = startCli(reachRun(robot));
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
  });

  it('with safety.onReconnect resume, comes back after rosbridge restarts and goes on commanding', async () => {
    const { server, robot } = await setup(30_000, { onReconnect: 'resume' });
    const cli = startCli(reachRun(robot));
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

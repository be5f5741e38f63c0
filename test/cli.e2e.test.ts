import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './support/run-cli.js';

/** The real CLI, as a user runs it. */
const armprior = (...args: string[]) => runCli(args);

describe('armprior CLI', () => {
  it('lists the tasks', async () => {
    const run = await armprior('tasks');
    expect(run.code).toBe(0);
    for (const name of ['reach', 'push', 'pick-and-place', 'slide', 'open-drawer'])
      expect(run.stdout).toContain(name);
    const json = JSON.parse((await armprior('tasks', '--json')).stdout) as {
      name: string;
      actionSize: number;
    }[];
    expect(json.find((t) => t.name === 'pick-and-place')?.actionSize).toBe(4);
  });

  it('runs episodes and reports each one and a summary', async () => {
    const run = await armprior(
      'sim',
      '--task',
      'push',
      '--controller',
      'random',
      '--episodes',
      '3',
      '--seed',
      '5',
    );
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/episode 1\/3\s+seed 5\s+return\s+-?\d+\.\d\d\s+length 50\s+success (yes|no)/);
    expect(run.stdout).toMatch(/episode 3\/3\s+seed 7/);
    expect(run.stdout).toContain('success rate');
    expect(run.stdout).toContain('env steps/s');
    // Not a terminal: progress comes as plain lines on stderr, never a bar.
    expect(run.stderr).toMatch(/episodes: 3\/3/);
  });

  it('gives identical JSON results for the same seed, and different ones for another', async () => {
    const episodes = async (seed: string) => {
      const run = await armprior(
        'sim',
        '--task',
        'pick-and-place',
        '--episodes',
        '2',
        '--seed',
        seed,
        '--json',
      );
      expect(run.code).toBe(0);
      const report = JSON.parse(run.stdout) as { episodes: unknown[]; summary: { episodes: number } };
      expect(report.summary.episodes).toBe(2);
      return report.episodes;
    };
    const a = await episodes('11');
    expect(await episodes('11')).toEqual(a);
    expect(await episodes('12')).not.toEqual(a);
  });

  it('holds still with the zero controller', async () => {
    const run = await armprior('sim', '--task', 'reach', '--controller', 'zero', '--episodes', '1', '--json');
    const report = JSON.parse(run.stdout) as { episodes: { length: number; simUnstable: boolean }[] };
    expect(report.episodes[0]).toMatchObject({ length: 50, simUnstable: false });
  });

  it('names the known tasks for an unknown one, with exit code 2', async () => {
    const run = await armprior('sim', '--task', 'stack');
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(
      "armprior: unknown task 'stack'; known tasks: reach, push, pick-and-place, slide, open-drawer",
    );
    expect(run.stderr).not.toContain('    at '); // one clear line, no stack trace
  });

  it('rejects bad option values and unknown controllers', async () => {
    const episodes = await armprior('sim', '--task', 'reach', '--episodes', 'ten');
    expect(episodes.code).toBe(2);
    expect(episodes.stderr).toContain("expected an integer from 1 to 1000000, got 'ten'");
    const controller = await armprior('sim', '--task', 'reach', '--controller', 'wizard');
    expect(controller.code).toBe(2);
    expect(controller.stderr).toContain("unknown controller 'wizard'; known controllers: random, zero");
  });

  it('reports a robot whose MJCF is broken, naming the file and MuJoCo’s message', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'armprior-cli-'));
    writeFileSync(join(dir, 'arm.xml'), '<mujoco><worldbody><body name="a"></worldbody></mujoco>');
    writeFileSync(
      join(dir, 'arm.yaml'),
      `name: arm\nmjcf: arm.xml\nbasePos: [0, 0, 0]\neeSite: ee\narm: {joints: [j], actuators: [a], homeQpos: [0], maxJointVelRadPerSec: [1]}\ncontrol: {workspaceMin: [0, 0, 0], workspaceMax: [1, 1, 1]}\n`,
    );
    const run = await armprior('sim', '--task', 'reach', '--robot', join(dir, 'arm.yaml'), '--episodes', '1');
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(join(dir, 'arm.xml'));
    expect(run.stderr).toMatch(/XML_ERROR_MISMATCHED_ELEMENT/);
  });

  it('reports every problem of a broken robot config at once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'armprior-cli-'));
    writeFileSync(join(dir, 'bad.yaml'), 'name: bad\nmjcf: x.xml\nbasePos: [0, 0]\narm: {joints: [j]}\n');
    const run = await armprior('sim', '--task', 'reach', '--robot', join(dir, 'bad.yaml'));
    expect(run.code).toBe(2);
    for (const field of ['basePos', 'eeSite', 'arm.actuators', 'control'])
      expect(run.stderr).toContain(field);
  });

  it('prints the simulation benchmark as JSON', async () => {
    const run = await armprior('bench', 'sim', '--json', '--rounds', '1', '--steps', '60', '--envs', '2');
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout) as Record<string, unknown> & { vec: Record<string, number> };
    expect(result.replayMaxAbsDiff).toBe(0); // the raw replay is exactly the env's physics
    for (const key of ['rawStepsPerSec', 'envStepsPerSec', 'envEfficiency'])
      expect(result[key]).toBeGreaterThan(0);
    expect(result.vec.speedup).toBeGreaterThan(0);
  });

  it('runs the bundled prior of every task when no version is stored', async () => {
    const priors = mkdtempSync(join(tmpdir(), 'armprior-empty-priors-'));
    for (const task of ['reach', 'push', 'pick-and-place', 'slide', 'open-drawer']) {
      const run = await armprior(
        'sim',
        '--task',
        task,
        '--controller',
        'prior',
        '--priors',
        priors,
        '--episodes',
        '2',
        '--json',
      );
      expect(run.code).toBe(0);
      const report = JSON.parse(run.stdout) as {
        controller: string;
        episodes: { controllerFailureKinds: string[] }[];
      };
      expect(report.controller).toBe(`prior ${task} (bundled)`);
      // Never threw nor answered badly; a call past 100 ms can be a loaded machine's doing.
      expect(report.episodes.flatMap((e) => e.controllerFailureKinds).filter((k) => k !== 'timeout')).toEqual(
        [],
      );
    }
  });

  it('refuses an unknown prior version, naming what there is', async () => {
    const priors = mkdtempSync(join(tmpdir(), 'armprior-empty-priors-'));
    const run = await armprior('sim', '--task', 'push', '--controller', 'prior:v4', '--priors', priors);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("the 'push' prior has no version v4");
    const bad = await armprior('sim', '--task', 'push', '--controller', 'prior:latest', '--priors', priors);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("'latest' is not a prior version");
  });

  it('prints the sandbox benchmark as JSON', async () => {
    const run = await armprior('bench', 'sandbox', '--json');
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout) as {
      overheadMicros: { median: number };
      evaluate20EpisodesSec: number;
    };
    expect(result.overheadMicros.median).toBeGreaterThan(0);
    expect(result.evaluate20EpisodesSec).toBeGreaterThan(0);
  });

  it('prints the learner benchmark as JSON', async () => {
    const run = await armprior('bench', 'learner', '--json', '--updates', '10');
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout) as {
      td3UpdatesPerSec: number;
      sacUpdatesPerSec: number;
      rlinguaTd3UpdatesPerSec: number;
      rlinguaTd3PlainCriticsUpdatesPerSec: number;
      batchSize: number;
      hidden: number[];
    };
    expect(result).toMatchObject({ batchSize: 256, hidden: [256, 256] });
    expect(result.td3UpdatesPerSec).toBeGreaterThan(0);
    expect(result.sacUpdatesPerSec).toBeGreaterThan(0);
    expect(result.rlinguaTd3UpdatesPerSec).toBeGreaterThan(0);
    expect(result.rlinguaTd3PlainCriticsUpdatesPerSec).toBeGreaterThan(0);
  });
});

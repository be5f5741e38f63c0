import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import { writeUntrainedPolicy } from '../bench/actor-latency.js';
import { type CliRun, runCli } from './support/run-cli.js';
import { writeFixtureRun } from './support/run-fixture.js';

/**
 * Issue #17 §4: inputs that were accepted and then crashed. Each one is now bad input: exit 2,
 * one line on stderr that names what is wrong, no stack, nothing left on disk.
 */

const ws = () => mkdtempSync(join(tmpdir(), 'armprior-bad-input-'));

/** Exit 2 and exactly one line on stderr matching `message` (no stack, no help text). */
function expectOneLine(run: CliRun, message: RegExp): void {
  expect(run.stderr, run.stderr).not.toMatch(/unexpected error|\n\s+at /);
  expect(run.code, run.stderr).toBe(2);
  expect(run.stderr.trimEnd().split('\n'), run.stderr).toHaveLength(1);
  expect(run.stderr.trimEnd()).toMatch(message);
}

/** A small, fast training config (as test/train.e2e.test.ts). */
const SMALL = `learningStarts: 200
logEverySteps: 200
evaluation: { everySteps: 0, episodes: 2 }
checkpoint: { everySteps: 300, keep: 1 }
td3: { hidden: [16, 16], batchSize: 32 }
numEnvs: 1
numWorkers: 1
`;

/** A Push policy (21 inputs) whose metadata says Reach (9 inputs). */
function lyingPolicy(dir: string): string {
  const push = writeUntrainedPolicy(dir, 'push', 0);
  const model = onnxProto.onnx.ModelProto.decode(readFileSync(push));
  const lie: Record<string, string> = {
    'armprior.task': 'reach',
    'armprior.input_size': '9',
    'armprior.observation_fields': 'eePosition,eeVelocity,desired_goal',
  };
  model.metadataProps = model.metadataProps.map((p) => {
    const key = p.key ?? '';
    const value = lie[key];
    return value === undefined ? p : { key, value };
  });
  const file = join(dir, 'lying.onnx');
  writeFileSync(file, onnxProto.onnx.ModelProto.encode(model).finish());
  return file;
}

describe('inputs that were accepted and then crashed (issue #17 §4)', () => {
  it('refuses huge network sizes and a YAML alias bomb in a training config, creating no run', async () => {
    const dir = ws();
    const runs = join(dir, 'runs');
    writeFileSync(join(dir, 'big.yaml'), 'td3:\n  hidden: [100000, 100000]\n');
    const big = await runCli([
      'train',
      '--task',
      'reach',
      '--algo',
      'td3',
      '--config',
      join(dir, 'big.yaml'),
      '--runs',
      runs,
    ]);
    expect(big.code, big.stderr).toBe(2);
    expect(big.stderr).toMatch(/big\.yaml: \n {2}- td3\.hidden\.0: Too big: expected number to be <=1024/);
    expect(big.stderr).not.toMatch(/unexpected error|ShapeInference|\n\s+at /);

    const levels = ['a: &a [x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 9; i++) {
      const prev = String.fromCharCode(96 + i);
      const name = String.fromCharCode(97 + i);
      levels.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(', ')}]`);
    }
    writeFileSync(join(dir, 'bomb.yaml'), `${levels.join('\n')}\n`);
    const bomb = await runCli([
      'train',
      '--task',
      'reach',
      '--config',
      join(dir, 'bomb.yaml'),
      '--runs',
      runs,
    ]);
    expectOneLine(bomb, /bomb\.yaml: YAML aliases expand to more than 100 copies/);
    expect(existsSync(runs)).toBe(false);
  });

  it('refuses an ONNX policy whose graph does not match its metadata, in eval and in run (not a robot fault)', async () => {
    const dir = ws();
    const file = lyingPolicy(dir);
    const shape =
      /its metadata says 9 inputs and 3 actions \(task 'reach'\), but its graph takes \[batch, 21\]/;
    expectOneLine(await runCli(['eval', file, '--task', 'reach', '-n', '1']), shape);
    const run = await runCli(['run', '--robot', 'sim', '--actor', file, '--duration', '1', '--json']);
    expectOneLine(run, shape);
    expect(run.stdout).toBe('');
  });

  it('export --out to an unwritable path is bad input naming it; eval of a bare file takes its task from it', async () => {
    const dir = ws();
    writeFileSync(join(dir, 'small.yaml'), SMALL);
    const runs = join(dir, 'runs');
    const trained = await runCli([
      'train',
      '--task',
      'reach',
      '--algo',
      'td3',
      '--steps',
      '300',
      '--config',
      join(dir, 'small.yaml'),
      '--runs',
      runs,
    ]);
    expect(trained.code, trained.stderr).toBe(0);
    const run = join(runs, readdirSync(runs)[0]!);

    expectOneLine(
      await runCli(['export', run, '--out', '/proc/nope.onnx']),
      /^armprior: cannot write \/proc\/nope\.onnx \(files cannot be created in \/proc\)$/m,
    );
    const missing = join(dir, 'no', 'such', 'policy.onnx');
    expectOneLine(
      await runCli(['export', run, '--out', missing]),
      new RegExp(`cannot write ${missing} \\(its folder ${join(dir, 'no', 'such')} does not exist\\)`),
    );
    expectOneLine(await runCli(['export', run, '--out', dir]), /cannot write .* \(EISDIR: it is a folder\)/);
    expect(existsSync(join(dir, 'no'))).toBe(false);
    const exported = await runCli(['export', run, '--out', join(dir, 'policy.onnx')]);
    expect(exported.code, exported.stderr).toBe(0);

    // The file's metadata names its task: no --task needed.
    const evaluated = await runCli(['eval', join(dir, 'policy.onnx'), '-n', '2', '--json']);
    expect(evaluated.code, evaluated.stderr).toBe(0);
    const result = JSON.parse(evaluated.stdout);
    expect(result.task).toBe('reach');
    expect(result.episodes).toHaveLength(2);
  }, 300_000);

  it('refuses other unwritable output folders and files before any work', async () => {
    const dir = ws();
    const fixture = writeFixtureRun(dir, { task: 'push', algo: 'td3', seed: 0, evals: [[2000, 0.1, -48]] });
    const cases: [string[], RegExp][] = [
      [
        ['sim', '--task', 'reach', '-n', '1', '--record', '/proc/armprior/demos'],
        /cannot write \/proc\/armprior\/demos/,
      ],
      [['sim', '--task', 'reach', '-n', '1', '--replays', '/proc/armprior'], /cannot write \/proc\/armprior/],
      [['plot', '--runs', fixture, '--out', '/proc/curves.svg'], /cannot write \/proc\/curves\.svg/],
      [['report', '--runs', fixture, '--out', '/proc/report.md'], /cannot write \/proc\/report\.md/],
      [
        ['run', '--robot', 'sim', '--actor', 'prior:reach', '--duration', '1', '--record', '/proc/armprior'],
        /cannot write \/proc\/armprior/,
      ],
      [['train', '--task', 'reach', '--runs', '/proc/armprior/runs'], /cannot write \/proc\/armprior\/runs/],
      [['prior', 'eval', '--task', 'reach', '--priors', '/proc/priors'], /cannot write \/proc\/priors/],
      [
        ['prior', 'add', '/dev/null', '--task', 'reach', '--priors', '/proc/priors'],
        /cannot write \/proc\/priors/,
      ],
    ];
    for (const [args, message] of cases) expectOneLine(await runCli(args), message);
  }, 300_000);

  it('refuses a device as a controller module at once instead of reading it forever', async () => {
    const dir = ws();
    const run = await runCli(
      ['prior', 'add', '/dev/zero', '--task', 'reach', '--priors', join(dir, 'priors')],
      {},
      undefined,
      undefined,
      60_000,
    );
    expectOneLine(
      run,
      /cannot read the controller module \/dev\/zero \(not a regular file: a character device\)/,
    );
    expect(existsSync(join(dir, 'priors', 'reach'))).toBe(false);
  });

  it('prints one line and where to get help for option errors, with exit code 2', async () => {
    const cases: [string[], RegExp][] = [
      [['trian'], /^armprior: unknown command 'trian' \(Did you mean train\?\); see armprior --help$/],
      [
        ['sim', '--task', 'reach', '--bogus'],
        /^armprior: unknown option '--bogus'; see armprior sim --help$/,
      ],
      [['sim', '--task'], /^armprior: option '-t, --task <name>' argument missing; see armprior sim --help$/],
      [
        ['sim', '--task', 'reach', '--episodes', '-1'],
        /^armprior: option '-n, --episodes <n>' argument '-1' is invalid\. expected an integer from 1 to 1000000, got '-1'; see armprior sim --help$/,
      ],
      [['prior', 'frob'], /^armprior: unknown command 'frob'; see armprior prior --help$/],
      [['eval'], /^armprior: missing required argument 'policy'; see armprior eval --help$/],
    ];
    for (const [args, message] of cases) {
      const run = await runCli(args);
      expectOneLine(run, message);
      expect(run.stdout).toBe('');
    }
  });

  it('takes the preset from --config when --algo is not given, and refuses a conflict between them', async () => {
    const dir = ws();
    writeFileSync(join(dir, 'sac.yaml'), 'algo: sac\ntotalSteps: 7000\n');
    const printed = await runCli(['train', '--config', join(dir, 'sac.yaml'), '--print-config']);
    expect(printed.code, printed.stderr).toBe(0);
    expect(printed.stdout).toMatch(/^algo: sac$/m);
    expect(printed.stdout).toMatch(/^learner: sac$/m);
    expect(printed.stdout).toMatch(/^totalSteps: 7000$/m);

    const conflict = await runCli([
      'train',
      '--task',
      'reach',
      '--algo',
      'td3',
      '--config',
      join(dir, 'sac.yaml'),
      '--runs',
      join(dir, 'runs'),
    ]);
    expectOneLine(conflict, /--algo td3 and .*sac\.yaml \(algo: sac\) name different presets/);
    expect(existsSync(join(dir, 'runs'))).toBe(false);

    // A flag that wins over a field of the file says so.
    const steps = await runCli([
      'train',
      '--config',
      join(dir, 'sac.yaml'),
      '--steps',
      '500',
      '--print-config',
    ]);
    expect(steps.code).toBe(0);
    expect(steps.stdout).toMatch(/^totalSteps: 500$/m);
    expect(steps.stderr).toMatch(/--steps 500 wins over totalSteps: 7000 of .*sac\.yaml/);

    writeFileSync(join(dir, 'exp.yaml'), 'algo: sac\n');
    const experiment = await runCli([
      'experiment',
      '--tasks',
      'reach',
      '--config',
      join(dir, 'exp.yaml'),
      '--out',
      join(dir, 'exp'),
      '--runs',
      join(dir, 'runs'),
    ]);
    expectOneLine(experiment, /exp\.yaml: algo: the methods come from --algos/);
  });
});

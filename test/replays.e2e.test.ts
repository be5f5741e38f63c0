import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { observationFieldsOf } from '../sim/env.js';
import { createTask } from '../sim/tasks/registry.js';
import { Rng } from '../src/core/rng.js';
import {
  listSceneReplays,
  readSceneReplay,
  sceneReplayFileName,
} from '../src/episodes/scene/scene-replay-files.js';
import { initMlp } from '../src/rl/graph/mlp.js';
import { RunningNormalizer } from '../src/rl/normalizer.js';
import { exportPolicy } from '../src/rl/policy-export.js';
import { newRunInfo, writeRunInfo } from '../src/rl/train/run-dir.js';
import { runCli } from './support/run-cli.js';

const workspace = () => mkdtempSync(join(tmpdir(), 'armprior-replays-e2e-'));
const names = (dir: string) => listSceneReplays(dir).map((file) => file.slice(dir.length + 1));

describe('episode replays from the CLI', () => {
  it('sim --replays writes one replay per episode, appending on a second run', async () => {
    const dir = join(workspace(), 'replays');
    const sim = (seed: string) =>
      runCli([
        'sim',
        '--task',
        'reach',
        '--controller',
        'random',
        '-n',
        '2',
        '--seed',
        seed,
        '--replays',
        dir,
      ]);
    const first = await sim('5');
    expect(first.code).toBe(0);
    expect(first.stdout).toContain(`replays       ${dir}`);
    expect(names(dir)).toEqual([sceneReplayFileName(0), sceneReplayFileName(1)]);
    expect(readSceneReplay(join(dir, sceneReplayFileName(1)))).toMatchObject({
      task: 'reach',
      actor: 'random',
      seed: 6,
    });

    expect((await sim('9')).code).toBe(0);
    expect(names(dir)).toHaveLength(4);
    const third = readSceneReplay(join(dir, sceneReplayFileName(2)));
    expect(third.seed).toBe(9);
    expect(third.frames).toHaveLength(51); // reach runs its 50 steps: the reset and one frame per step
  });

  it('prior eval records its evaluation episodes in the store, unless --no-replays', async () => {
    const priors = join(workspace(), 'priors');
    const evaluate = (...extra: string[]) =>
      runCli(['prior', 'eval', '--task', 'reach', '--priors', priors, '-n', '3', ...extra]);
    const run = await evaluate();
    expect(run.code).toBe(0);
    const dir = join(priors, 'reach', 'bundled', 'replays');
    expect(run.stdout).toContain(`replays in ${dir}`);
    expect(names(dir)).toHaveLength(3);
    const replays = listSceneReplays(dir).map(readSceneReplay);
    expect(replays.map((r) => r.seed)).toEqual([1000, 1001, 1002]); // the fixed evaluation seeds
    expect(replays.every((r) => r.actor === 'prior:reach:bundled')).toBe(true);

    expect((await evaluate('--no-replays')).code).toBe(0);
    expect(names(dir)).toHaveLength(3);
  });

  it('eval --replays records a policy’s episodes in <run>/replays', async () => {
    // A run folder with an untrained policy: what is recorded, not how well it acts, is tested.
    const run = workspace();
    const task = createTask('reach');
    const info = newRunInfo('reach', 'panda', 'td3', 0);
    writeRunInfo(run, info);
    const normalizer = new RunningNormalizer(info.inputSize, { clip: 5 });
    const actor = initMlp([info.inputSize, 16, info.actionSize], Rng.fromSeed(1));
    writeFileSync(
      join(run, 'policy.onnx'),
      exportPolicy(actor, normalizer, {
        task: 'reach',
        inputSize: info.inputSize,
        actionSize: info.actionSize,
        observationFields: observationFieldsOf(task).map((f) => f.name),
        algorithm: 'td3',
      }),
    );
    const evaluated = await runCli(['eval', run, '-n', '2', '--replays', '--json']);
    expect(evaluated.code).toBe(0);
    const summary = JSON.parse(evaluated.stdout) as { episodes: { return: number; length: number }[] };
    const dir = join(run, 'replays');
    expect(names(dir)).toEqual([sceneReplayFileName(0), sceneReplayFileName(1)]);
    const replay = readSceneReplay(join(dir, sceneReplayFileName(0)));
    expect(replay.actor).toMatch(/^policy:.*policy\.onnx$/);
    expect(replay.seed).toBe(1000);
    expect(replay.frames).toHaveLength(summary.episodes[0]!.length + 1);
    expect(replay.return).toBeCloseTo(summary.episodes[0]!.return, 4);

    const elsewhere = join(workspace(), 'mine');
    expect((await runCli(['eval', run, '-n', '1', '--replays', elsewhere])).code).toBe(0);
    expect(names(elsewhere)).toEqual([sceneReplayFileName(0)]);
  });
});

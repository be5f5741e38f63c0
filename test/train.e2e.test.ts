import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { listSceneReplays, readSceneReplay } from '../src/episodes/scene/scene-replay-files.js';
import { FLAT_REACH } from './support/reach-controllers.js';
import { cliBin, runCli } from './support/run-cli.js';
import { metrics } from './support/run-metrics.js';

/** A small, fast training config: 32×32 networks, frequent checkpoints. */
const SMALL = `learningStarts: 500
logEverySteps: 500
evaluation: { everySteps: 500, episodes: 10 }
checkpoint: { everySteps: 500, keep: 3 }
td3: { hidden: [32, 32], batchSize: 64 }
sac: { hidden: [32, 32], batchSize: 64 }
rlingua: { precollectEpisodes: 20, pretrainUpdates: 200 }
`;

function workspace(): string {
  const dir = mkdtempSync(join(tmpdir(), 'armprior-train-'));
  writeFileSync(join(dir, 'small.yaml'), SMALL);
  return dir;
}

function onlyRun(runs: string): string {
  const names = readdirSync(runs);
  expect(names).toHaveLength(1);
  return join(runs, names[0]!);
}

describe('armprior train / eval / export', () => {
  it('trains, writes a run folder, and the exported ONNX policy scores what training measured', async () => {
    const ws = workspace();
    const runs = join(ws, 'runs');
    // The evaluated and exported policy is the mean of the policies of steps 1000, 1100, … 1500:
    // `eval` of policy.onnx and of `export`'s file (restored from the checkpoint) must score it.
    writeFileSync(
      join(ws, 'small.yaml'),
      `${SMALL}policyAveraging: { enabled: true, fromStep: 1000, everySteps: 100 }\n`,
    );
    const trained = await runCli([
      'train',
      '--task',
      'reach',
      '--algo',
      'td3',
      '--steps',
      '1500',
      '--config',
      join(ws, 'small.yaml'),
      '--runs',
      runs,
    ]);
    expect(trained.stderr).toContain('training reach (td3)');
    expect(trained.code).toBe(0);
    const run = onlyRun(runs);
    expect(run).toMatch(/reach__td3__0__\d{8}-\d{6}$/);
    for (const file of ['config.yaml', 'metrics.jsonl', 'run.json', 'policy.onnx'])
      expect(existsSync(join(run, file))).toBe(true);
    expect(JSON.parse(readFileSync(join(run, 'run.json'), 'utf8'))).toMatchObject({
      status: 'finished',
      envSteps: 1500,
      task: 'reach',
    });
    const lastEval = metrics(run)
      .filter((m) => m.kind === 'eval')
      .at(-1)!;
    expect(lastEval.step).toBe(1500);
    expect(lastEval['eval/policies_averaged']).toBe(6);
    expect(trained.stdout).toContain('(the mean of 6 policies, one every 100 steps from step 1000)');
    // The final evaluation's episodes are kept as replays for the viewer, one per episode.
    const replays = listSceneReplays(join(run, 'replays'));
    expect(replays).toHaveLength(10);
    const successes = replays.filter((file) => readSceneReplay(file).success).length;
    expect(successes / 10).toBe(lastEval['eval/success_rate']);
    expect(readSceneReplay(replays[0]!).actor).toBe('policy:td3 after 1500 steps');

    // The same 10 episodes as training's evaluation, through onnxruntime this time.
    const evaluated = await runCli(['eval', run, '-n', '10', '--seed', '1000000', '--json']);
    expect(evaluated.code).toBe(0);
    expect(JSON.parse(evaluated.stdout).successRate).toBe(lastEval['eval/success_rate']);

    // Paired with the prior on the same episodes: its outcomes are sim's, and z counts the
    // episodes only one of the two solved.
    const priors = join(ws, 'priors');
    const paired = await runCli([
      'eval',
      run,
      ...['-n', '10', '--seed', '1000000', '--json'],
      ...['--against', 'prior:bundled', '--priors', priors],
    ]);
    expect(paired.code).toBe(0);
    const pairedReport = JSON.parse(paired.stdout) as {
      episodes: { success: boolean }[];
      against: { controller: string; successes: boolean[]; successRate: number } & Record<string, number>;
    };
    const sim = JSON.parse(
      (
        await runCli([
          'sim',
          '-t',
          'reach',
          '-c',
          'prior:bundled',
          '--priors',
          priors,
          '-n',
          '10',
          '-s',
          '1000000',
          '--json',
        ])
      ).stdout,
    ) as { episodes: { success: boolean }[]; summary: { successRate: number } };
    const prior = sim.episodes.map((e) => e.success);
    const policySolved = pairedReport.episodes.map((e) => e.success);
    const onlyPolicy = policySolved.filter((s, i) => s && !prior[i]).length;
    const onlyPrior = prior.filter((s, i) => s && !policySolved[i]).length;
    expect(pairedReport.against).toMatchObject({
      controller: 'prior:reach:bundled',
      successes: prior,
      successRate: sim.summary.successRate,
      episodes: 10,
      onlyFirst: onlyPolicy,
      onlySecond: onlyPrior,
    });
    expect(pairedReport.against.z).toBeCloseTo(
      onlyPolicy + onlyPrior === 0 ? 0 : (onlyPolicy - onlyPrior) / Math.sqrt(onlyPolicy + onlyPrior),
      12,
    );
    const pairedText = await runCli(['eval', run, '-n', '3', '--against', 'zero']);
    expect(pairedText.stdout).toMatch(/against +zero on the same episodes: [\d.]+%/);
    expect(pairedText.stdout).toMatch(/only the policy solved \d+, only zero \d+: McNemar's z = /);
    // A version the store does not have is refused before any episode runs.
    const missing = await runCli(['eval', run, '-n', '3', '--against', 'prior:v7', '--priors', priors]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("the 'reach' prior has no version v7");

    // The best evaluation's policy is kept beside the last one, and scores what it scored.
    const evals = metrics(run).filter((m) => m.kind === 'eval');
    const score = (m: Record<string, unknown>) => [
      Number(m['eval/success_rate']),
      Number(m['eval/mean_return']),
    ];
    const best = evals.reduce((a, b) => {
      const [bs, br] = score(b);
      const [as, ar] = score(a);
      return bs! > as! || (bs === as && br! > ar!) ? b : a;
    });
    expect(trained.stdout).toContain(`best policy   ${join(run, 'best-policy.onnx')}`);
    const bestEvaluated = await runCli(['eval', run, '--best', '-n', '10', '--seed', '1000000', '--json']);
    expect(bestEvaluated.code).toBe(0);
    const bestReport = JSON.parse(bestEvaluated.stdout);
    expect(bestReport.policy).toBe(join(run, 'best-policy.onnx'));
    expect(bestReport.chosenBy).toMatchObject({ step: best.step, successRate: best['eval/success_rate'] });
    expect(bestReport.successRate).toBe(best['eval/success_rate']);
    const notInRun = await runCli(['eval', join(run, 'policy.onnx'), '--best']);
    expect(notInRun.code).toBe(2);
    expect(notInRun.stderr).toContain('--best picks a file in a run folder');

    const out = join(ws, 'exported.onnx');
    const exported = await runCli(['export', run, '--out', out]);
    expect(exported.code).toBe(0);
    expect(exported.stdout).toContain('checkpoint at 1500 env steps');
    const again = await runCli(['eval', out, '--task', 'reach', '-n', '10', '--seed', '1000000', '--json']);
    expect(JSON.parse(again.stdout).successRate).toBe(lastEval['eval/success_rate']);
    // The same network, not just the same score: every episode ends at the same distance.
    const distances = (stdout: string) =>
      (JSON.parse(stdout) as { episodes: { finalGoalDistance: number }[] }).episodes.map(
        (e) => e.finalGoalDistance,
      );
    expect(distances(again.stdout)).toEqual(distances(evaluated.stdout));

    // Every failed episode is diagnosed by the prior's rollout critic, so a policy's failures
    // read like its prior's: the counts add up to the failed episodes, in JSON and in the text.
    const report = JSON.parse(evaluated.stdout) as {
      episodes: { success: boolean; outcome: string }[];
      failures: { outcome: string; count: number }[];
    };
    const failed = report.episodes.filter((e) => !e.success);
    expect(report.failures.reduce((n, f) => n + f.count, 0)).toBe(failed.length);
    expect(report.episodes.filter((e) => e.success).every((e) => e.outcome === 'success')).toBe(true);
    const text = await runCli(['eval', run, '-n', '10', '--seed', '1000000']);
    expect(text.code).toBe(0);
    for (const f of report.failures) expect(text.stdout).toContain(`${f.count} × ${f.outcome}`);
    if (failed.length > 0) expect(text.stdout).toContain('failures');
  });

  it('resumes after the process was killed with SIGKILL, ending where an uninterrupted run ends', async () => {
    const ws = workspace();
    const args = (runs: string) => [
      'train',
      '--task',
      'reach',
      '--algo',
      'sac',
      '--steps',
      '2000',
      '--seed',
      '7',
      '--config',
      join(ws, 'small.yaml'),
      '--runs',
      runs,
    ];
    const whole = await runCli(args(join(ws, 'whole')));
    expect(whole.code).toBe(0);

    const killedRuns = join(ws, 'killed');
    mkdirSync(killedRuns);
    const child = spawn(process.execPath, [cliBin, ...args(killedRuns)], { stdio: 'ignore' });
    const exited = new Promise((resolve) => child.on('exit', resolve));
    // Kill it once a checkpoint past the first one is on disk (it is training, mid-run).
    for (;;) {
      await new Promise((r) => setTimeout(r, 100));
      const runDirs = readdirSync(killedRuns);
      const checkpoints = runDirs.length ? join(killedRuns, runDirs[0]!, 'checkpoints') : '';
      if (
        checkpoints &&
        existsSync(checkpoints) &&
        readdirSync(checkpoints).some((n) => n >= 'ckpt-0000001000')
      )
        break;
    }
    child.kill('SIGKILL');
    expect(await exited).toBe(null);
    const run = onlyRun(killedRuns);
    expect(JSON.parse(readFileSync(join(run, 'run.json'), 'utf8')).status).toBe('running');

    const resumed = await runCli(['train', '--resume', run]);
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toMatch(/resumed at \d+/);
    expect(metrics(run)).toEqual(metrics(onlyRun(join(ws, 'whole'))));
  }, 300_000); // three training runs: room for a loaded machine

  it('lays the rlingua preset out over a small --steps, so that it learns (issue #19)', async () => {
    const ws = workspace();
    const runs = join(ws, 'runs');
    const run = await runCli([
      'train',
      '--task',
      'reach',
      '--algo',
      'rlingua',
      '--steps',
      '1000',
      '--runs',
      runs,
    ]);
    expect(run.code).toBe(0);
    expect(run.stderr).not.toContain('no update will be made');
    const config = parse(readFileSync(join(onlyRun(runs), 'config.yaml'), 'utf8'));
    // 90k's 200 prior episodes and 10,000 offline updates, shrunk by 1000 / 90000.
    expect(config.rlingua).toMatchObject({ precollectEpisodes: 2, pretrainUpdates: 111 });
    const trainRecords = metrics(onlyRun(runs)).filter((r) => r.kind === 'train');
    expect(trainRecords.at(-1)?.['train/gradient_steps']).toBeGreaterThan(111);
  });

  it('stops on Ctrl-C after a checkpoint, saying how to continue', async () => {
    const ws = workspace();
    const args = [
      'train',
      '--task',
      'reach',
      '--algo',
      'sac',
      '--steps',
      '50000',
      '--config',
      join(ws, 'small.yaml'),
    ];
    const child = spawn(process.execPath, [cliBin, ...args, '--runs', join(ws, 'runs')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    // The first progress line: the signal handler is in place and training has begun.
    const training = new Promise<void>((resolve) =>
      child.stderr.on('data', (d) => String(d).includes('training reach') && resolve()),
    );
    const exited = new Promise((resolve) => child.on('exit', resolve));
    await training;
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    const run = onlyRun(join(ws, 'runs'));
    expect(stdout).toContain('stopped early');
    expect(stdout).toContain(`continue with armprior train --resume ${run}`);
    expect(JSON.parse(readFileSync(join(run, 'run.json'), 'utf8')).status).toBe('interrupted');
    expect(readdirSync(join(run, 'checkpoints')).length).toBeGreaterThan(0);
  });

  it('keeps the prior a run learns from in its config, so a resume uses it whichever is active then', async () => {
    const ws = workspace();
    const priors = join(ws, 'priors');
    const store = ['--config', join(ws, 'small.yaml'), '--priors', priors];
    const newRun = async (runs: string, ...prior: string[]) => {
      const args = ['train', '--task', 'reach', '--algo', 'rlingua', '--steps', '600', '--runs', runs];
      expect((await runCli([...args, ...prior, ...store])).code).toBe(0);
      return onlyRun(runs);
    };
    const priorOf = (run: string) => parse(readFileSync(join(run, 'config.yaml'), 'utf8')).rlingua.prior;
    const run = await newRun(join(ws, 'runs'), '--prior', 'bundled');
    expect(priorOf(run)).toBe('bundled');
    // A person's own edit becomes the active prior; the run goes on with the one it started with.
    writeFileSync(join(ws, 'flat.js'), FLAT_REACH);
    const add = [
      'prior',
      'add',
      join(ws, 'flat.js'),
      '--task',
      'reach',
      '--priors',
      priors,
      '--episodes',
      '2',
    ];
    expect((await runCli(add)).code).toBe(0);
    expect((await runCli(['train', '--resume', run, '--steps', '800', ...store])).code).toBe(0);
    expect(priorOf(run)).toBe('bundled');
    // A new run without --prior names the version that was active: v1.
    expect(priorOf(await newRun(join(ws, 'runs2')))).toBe('v1');
  });

  it('says at the start when the budget leaves no room for an update (a config that asks too much)', async () => {
    const ws = workspace();
    writeFileSync(join(ws, 'many-demos.yaml'), 'rlingua: { precollectEpisodes: 200, pretrainUpdates: 0 }\n');
    const run = await runCli([
      'train',
      '--task',
      'reach',
      '--algo',
      'rlingua',
      '--steps',
      '100',
      '--config',
      join(ws, 'many-demos.yaml'),
      '--runs',
      join(ws, 'runs'),
    ]);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain(
      'armprior: the 200 prior episodes collected first (rlingua.precollectEpisodes, up to 10000 env steps) take the whole budget of 100 steps: no update will be made',
    );
    const trainRecords = metrics(onlyRun(join(ws, 'runs'))).filter((r) => r.kind === 'train');
    expect(trainRecords.length).toBeGreaterThan(0);
    expect(trainRecords.map((r) => r['train/gradient_steps'])).toEqual(trainRecords.map(() => 0));
  });

  it('refuses bad input with one clear message each, and touches no saved run', async () => {
    const ws = workspace();
    writeFileSync(join(ws, 'bad.yaml'), 'totalSteps: -5\nbatchsize: 3\ntd3: { gamma: 2 }\n');
    const bad = await runCli([
      'train',
      '--task',
      'reach',
      '--config',
      join(ws, 'bad.yaml'),
      '--runs',
      join(ws, 'runs'),
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/totalSteps/);
    expect(bad.stderr).toMatch(/batchsize/);
    expect(bad.stderr).toMatch(/td3\.gamma/);

    const runs = join(ws, 'runs2');
    expect(
      (
        await runCli([
          'train',
          '--task',
          'reach',
          '--algo',
          'td3',
          '--steps',
          '600',
          '--config',
          join(ws, 'small.yaml'),
          '--runs',
          runs,
        ])
      ).code,
    ).toBe(0);
    const run = onlyRun(runs);
    const before = readFileSync(join(run, 'metrics.jsonl'), 'utf8');
    const otherTask = await runCli(['train', '--resume', run, '--task', 'push']);
    expect(otherTask.code).toBe(2);
    expect(otherTask.stderr).toMatch(/trains task reach, not push/);
    writeFileSync(join(ws, 'wider.yaml'), 'td3: { hidden: [48, 32] }\n');
    const wider = await runCli([
      'train',
      '--resume',
      run,
      '--config',
      join(ws, 'wider.yaml'),
      '--steps',
      '1000',
    ]);
    expect(wider.code).toBe(2);
    expect(wider.stderr).toMatch(/actor\.0\.weight is \[32, 9\], expected \[48, 9\]/);
    expect(readFileSync(join(run, 'metrics.jsonl'), 'utf8')).toBe(before);

    const missing = await runCli(['eval', join(ws, 'nope.onnx'), '--task', 'reach']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/no run folder or policy file/);
  });

  it('records prior episodes as a dataset and trains from them with --demos; a dataset of another task is refused', async () => {
    const ws = workspace();
    const demos = join(ws, 'demos');
    const recorded = await runCli([
      'sim',
      '--task',
      'reach',
      '--controller',
      'prior',
      '--episodes',
      '4',
      '--record',
      demos,
      '--priors',
      join(ws, 'priors'),
    ]);
    expect(recorded.code).toBe(0);
    expect(readdirSync(join(demos, 'episodes'))).toHaveLength(4);
    // Trained from its LeRobot-layout export (issue #21), which reads back as the same episodes.
    const lerobot = join(ws, 'demos-lerobot');
    const exported = await runCli(['dataset', 'export', demos, '--format', 'lerobot', '--out', lerobot]);
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.stdout).toMatch(
      /^exported 4 episodes \(\d+ frames at 25 fps\) as a LeRobot v2\.1 dataset: /,
    );
    expect(readdirSync(join(lerobot, 'data', 'chunk-000'))).toHaveLength(4);
    const again = await runCli(['dataset', 'export', demos, '--format', 'lerobot', '--out', lerobot]);
    expect(again.code).toBe(2);
    expect(again.stderr.trim()).toBe(
      `armprior: ${lerobot}: the folder is not empty: export into a new folder`,
    );
    const trained = await runCli([
      'train',
      '--task',
      'reach',
      '--algo',
      'td3',
      '--steps',
      '600',
      '--demos',
      lerobot,
      '--config',
      join(ws, 'small.yaml'),
      '--runs',
      join(ws, 'runs'),
    ]);
    expect(trained.code, trained.stderr).toBe(0);
    expect(trained.stderr).toContain('4 demonstration episodes');
    const wrongTask = await runCli([
      'train',
      '--task',
      'push',
      '--algo',
      'td3',
      '--steps',
      '600',
      '--demos',
      demos,
      '--runs',
      join(ws, 'runs3'),
    ]);
    expect(wrongTask.code).toBe(2);
    expect(wrongTask.stderr).toMatch(/recorded for task reach/);
    expect(existsSync(join(ws, 'runs3'))).toBe(false); // a refused run leaves no folder behind
  });

  it('runs an experiment: the prior, BC, TD3 at 3× the budget, RLingua and an ablation; held-out scores paired against the prior', async () => {
    const ws = workspace();
    const out = join(ws, 'experiment');
    const runs = join(ws, 'runs');
    const experimentArgs = [
      'experiment',
      '--tasks',
      'reach',
      '--algos',
      'prior,bc,td3,rlingua,rlingua-no-imitation',
      '--seeds',
      '1',
      '--steps',
      '600',
      '--held-out',
      '20',
      '--config',
      join(ws, 'small.yaml'),
      '--out',
      out,
      '--runs',
      runs,
      '--priors',
      join(ws, 'priors'),
    ];
    const run = await runCli(experimentArgs);
    expect(run.code).toBe(0);
    const table = readFileSync(join(out, 'results.md'), 'utf8');
    expect(table).toContain(
      '| final, 20 held-out episodes (mean ± std) | against the prior: McNemar z per seed |',
    );
    expect(table).toMatch(/\n\| reach \| prior \| – \|.* \| \d+% \| – \| \d+ s \|\n/);
    expect(table).toMatch(/\n\| reach \| td3 \| 1,800 \|.* \| \d+% \| -?\d+\.\d \([01]\/1 ≥ 3\) \|/);
    for (const method of ['bc', 'rlingua', 'rlingua-no-imitation'])
      expect(table).toMatch(
        new RegExp(
          `\\n\\| reach \\| ${method} \\| 600 \\|.* \\| \\d+% \\| -?\\d+\\.\\d \\([01]/1 ≥ 3\\) \\|`,
        ),
      );
    // RLingua's step ratio against TD3 (or why there is none), as `armprior report` gives it.
    expect(table).toMatch(
      /\n- reach: (rlingua needed (≥ )?\d+\.\d× (fewer|more) env steps than td3|no step ratio)/,
    );
    const json = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    expect(Array.isArray(json.speedups)).toBe(true);
    const rlingua = json.results.find((r: { method: string }) => r.method === 'rlingua');
    expect(rlingua.heldOutSuccess).toHaveLength(1);
    expect(rlingua.againstPrior[0].episodes).toBe(20);
    const folders = readdirSync(runs).sort();
    expect(folders.map((f) => f.split('__')[1])).toEqual(['bc', 'rlingua-no-imitation', 'rlingua', 'td3']);
    const ablation = join(runs, folders[1]!);
    expect(JSON.parse(readFileSync(join(ablation, 'run.json'), 'utf8')).algo).toBe('rlingua-no-imitation');
    expect(parse(readFileSync(join(ablation, 'config.yaml'), 'utf8')).td3.imitation.enabled).toBe(false);
    expect(readFileSync(join(out, 'curves-reach.svg'), 'utf8')).toContain('td3 (1 seed)');
    const bad = await runCli(['experiment', '--tasks', 'reach', '--algos', 'td3,ppo']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/unknown method 'ppo'/);

    // The same command again: every run and score is reused, nothing trains, the table is the same.
    const again = await runCli(experimentArgs);
    expect(again.code).toBe(0);
    // No progress line: a training run or a held-out scoring prints `<label>: <done>/<total>`, as the first did.
    expect(run.stderr).toMatch(/: \d+\/\d+ \(/);
    expect(again.stderr).not.toMatch(/: \d+\/\d+ \(/);
    expect(again.stderr).toContain('run 4/4: reach · rlingua-no-imitation · seed 0');
    expect(readdirSync(runs).sort()).toEqual(folders);
    expect(readFileSync(join(out, 'results.md'), 'utf8')).toBe(table);
  });

  it('stops an experiment on Ctrl-C after a checkpoint, and the same command continues it', async () => {
    const ws = workspace();
    const args = (out: string) => [
      'experiment',
      '--tasks',
      'reach',
      '--algos',
      'prior,rlingua',
      '--seeds',
      '1',
      '--steps',
      '1500',
      '--held-out',
      '20',
      '--config',
      join(ws, 'small.yaml'),
      '--out',
      out,
      '--runs',
      join(out, 'runs'),
      '--priors',
      join(ws, 'priors'),
    ];
    const whole = await runCli(args(join(ws, 'whole')));
    expect(whole.code).toBe(0);

    const stoppedOut = join(ws, 'stopped');
    const child = spawn(process.execPath, [cliBin, ...args(stoppedOut)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    const training = new Promise<void>((resolve) =>
      child.stderr.on('data', (d) => {
        stderr += d;
        if (stderr.includes('run 1/1')) resolve();
      }),
    );
    const exited = new Promise((resolve) => child.on('exit', resolve));
    await training;
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(stdout).toMatch(
      /stopped on request: 0 of 1 runs done, run 1 checkpointed.*run the same command again to continue/,
    );
    const run = onlyRun(join(stoppedOut, 'runs'));
    expect(JSON.parse(readFileSync(join(run, 'run.json'), 'utf8')).status).toBe('interrupted');

    const continued = await runCli(args(stoppedOut));
    expect(continued.code).toBe(0);
    expect(continued.stderr).toContain(`continuing ${run} from its newest checkpoint`);
    expect(onlyRun(join(stoppedOut, 'runs'))).toBe(run);
    expect(metrics(run)).toEqual(metrics(onlyRun(join(ws, 'whole', 'runs'))));
    const heldOutRow = (out: string) =>
      readFileSync(join(out, 'results.md'), 'utf8')
        .split('\n')
        .find((line) => line.startsWith('| reach | rlingua |'))!
        .split(' | ')
        .slice(0, -1); // all but the wall clock
    expect(heldOutRow(stoppedOut)).toEqual(heldOutRow(join(ws, 'whole')));
  }, 300_000);
});

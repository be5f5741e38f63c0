import { mkdtempSync, readdirSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ResolvedPrior } from '../../controllers/priors.js';
import { type MetricsRecord, readMetrics, runFiles } from './run-dir.js';
import { resolveTrainConfig, type TrainConfig } from './train-config.js';
import { train } from './trainer.js';

/** Small networks and frequent checkpoints: a run of a few thousand steps takes seconds. */
function smallConfig(algo: 'td3' | 'sac' | 'rlingua', overrides: Record<string, unknown> = {}): TrainConfig {
  return resolveTrainConfig(algo, 'test', {
    totalSteps: 2000,
    learningStarts: algo === 'rlingua' ? 0 : 500,
    logEverySteps: 500,
    evaluation: { everySteps: 1000, episodes: 10 },
    checkpoint: { everySteps: 500, keep: 3 },
    td3: { hidden: [32, 32], batchSize: 64 },
    sac: { hidden: [32, 32], batchSize: 64 },
    ...overrides,
  });
}

/** A Reach prior that moves toward the goal, then throws on every call from step 20 on. */
const crashingReachPrior: ResolvedPrior = {
  task: 'reach',
  version: 'bundled',
  label: 'reach (crashes at step 20)',
  code: `export function act(obs, ctx) {
  if (ctx.step >= 20) throw new Error('lost track of the goal');
  return towards(obs.eePosition, obs.desiredGoal);
}`,
};

/** A Reach prior that decides each step from what it sees (keeps nothing in ctx.memory). */
const closedLoopReachPrior: ResolvedPrior = {
  task: 'reach',
  version: 1,
  label: 'reach, closed loop',
  code: 'export function act(obs) { return towards(obs.eePosition, obs.desiredGoal); }',
};

const runDir = () => mkdtempSync(join(tmpdir(), 'armprior-run-'));

/** Metrics without the wall-clock group: what must be identical between runs of one seed. */
function deterministicMetrics(dir: string): MetricsRecord[] {
  return readMetrics(runFiles(dir).metrics).map(
    (r) => Object.fromEntries(Object.entries(r).filter(([k]) => !k.startsWith('time/'))) as MetricsRecord,
  );
}

describe('training loop', () => {
  it('TD3 + HER learns Reach to ≥ 90% success within 3000 env steps', async () => {
    const dir = runDir();
    const result = await train({
      task: 'reach',
      robot: 'panda',
      seed: 0,
      config: smallConfig('td3', { totalSteps: 3000, td3: { hidden: [64, 64], batchSize: 128 } }),
      runDir: dir,
    });
    expect(result.envSteps).toBe(3000);
    expect(result.lastEvaluation!.successRate).toBeGreaterThanOrEqual(0.9);
    const evals = readMetrics(runFiles(dir).metrics).filter((r) => r.kind === 'eval');
    expect(evals.map((r) => r.step)).toEqual([1000, 2000, 3000]);
    expect(evals[0]!['eval/success_rate']).toBeLessThan(0.9); // it learned; it was not solved from the start
  });

  it('gives identical metrics for the same seed, and different ones for another seed', async () => {
    const run = async (seed: number) => {
      const dir = runDir();
      await train({
        task: 'reach',
        robot: 'panda',
        seed,
        config: smallConfig('td3', { totalSteps: 1500 }),
        runDir: dir,
      });
      return deterministicMetrics(dir);
    };
    const a = await run(3);
    expect(await run(3)).toEqual(a);
    expect(await run(4)).not.toEqual(a);
  });

  it('resumes from a checkpoint exactly: stopped and continued equals uninterrupted', async () => {
    // The policy average too: its mean at the stop (steps 500, 700) goes on into the evaluations.
    const config = smallConfig('sac', {
      totalSteps: 1500,
      policyAveraging: { enabled: true, fromStep: 500, everySteps: 200 },
    });
    const whole = runDir();
    await train({ task: 'reach', robot: 'panda', seed: 1, config, runDir: whole });
    const stopped = runDir();
    let rounds = 0;
    const first = await train({
      task: 'reach',
      robot: 'panda',
      seed: 1,
      config,
      runDir: stopped,
      shouldStop: () => ++rounds >= 8, // 8 rounds × 2 envs × 50 steps = 800 steps
    });
    expect(first.interrupted).toBe(true);
    expect(first.envSteps).toBe(800);
    // As if the first process had trained for a day: the resumed one's clock must go on from there.
    const day = 86_400;
    const firstRecords = readMetrics(runFiles(stopped).metrics).map((r) =>
      r.kind === 'train' ? { ...r, 'time/elapsed_s': day + (r['time/elapsed_s'] as number) } : r,
    );
    writeFileSync(runFiles(stopped).metrics, firstRecords.map((r) => `${JSON.stringify(r)}\n`).join(''));
    const events: string[] = [];
    const second = await train({
      task: 'reach',
      robot: 'panda',
      seed: 1,
      config,
      runDir: stopped,
      resume: true,
      onResume: (envSteps) => events.push(`resume ${envSteps}`),
      onProgress: (p) => events.push(`progress ${p.envSteps}`),
    });
    expect(second.resumedFrom).toBe(800);
    // The CLI's progress counts its rate from the resumed step: it hears of it before any progress.
    expect(events[0]).toBe('resume 800');
    expect(events.length).toBeGreaterThan(1);
    expect(events.slice(1).every((e) => e.startsWith('progress '))).toBe(true);
    expect(second.envSteps).toBe(1500);
    expect(deterministicMetrics(stopped)).toEqual(deterministicMetrics(whole));
    // Evaluated at 1000 and 1500: the mean of the policies of 500, 700, 900 and of 500 … 1500.
    const averaged = readMetrics(runFiles(stopped).metrics)
      .filter((r) => r.kind === 'eval')
      .map((r) => r['eval/policies_averaged']);
    expect(averaged).toEqual([3, 6]);
    // The clock continues across the resume: time/elapsed_s counts both processes.
    const elapsed = readMetrics(runFiles(stopped).metrics)
      .filter((r) => r.kind === 'train')
      .map((r) => r['time/elapsed_s'] as number);
    expect(elapsed.length).toBeGreaterThan(2);
    for (let i = 1; i < elapsed.length; i++) expect(elapsed[i]).toBeGreaterThan(elapsed[i - 1]!);
    expect(elapsed.at(-1)).toBeGreaterThan(day);
  });

  it('falls back to the previous checkpoint when the newest is damaged, and says so', async () => {
    const config = smallConfig('td3', { totalSteps: 1000 });
    const dir = runDir();
    const reference = runDir();
    await train({ task: 'reach', robot: 'panda', seed: 2, config, runDir: reference });
    let rounds = 0;
    await train({
      task: 'reach',
      robot: 'panda',
      seed: 2,
      config,
      runDir: dir,
      shouldStop: () => ++rounds >= 7,
    });
    const checkpoints = runFiles(dir).checkpoints;
    const [newest, previous] = readdirSync(checkpoints).sort().reverse();
    expect([newest, previous]).toEqual(['ckpt-0000000700', 'ckpt-0000000500']);
    truncateSync(join(checkpoints, newest!, 'arrays.bin'), 100);
    const notices: string[] = [];
    const resumed = await train({
      task: 'reach',
      robot: 'panda',
      seed: 2,
      config,
      runDir: dir,
      resume: true,
      onNotice: (m) => notices.push(m),
    });
    expect(resumed.resumedFrom).toBe(500);
    expect(notices.join('\n')).toMatch(
      /skipped a damaged checkpoint: .*ckpt-0000000700: arrays.bin has 100 bytes/,
    );
    // The damaged checkpoint is left as it was, for a person to look at.
    expect(readdirSync(checkpoints)).toContain('ckpt-0000000700');
    expect(deterministicMetrics(dir)).toEqual(deterministicMetrics(reference));
  });

  it('RLingua: pre-collects prior episodes as demonstrations, lets the prior act on a decaying schedule, keeps going when the prior crashes', async () => {
    const dir = runDir();
    const config = smallConfig('rlingua', {
      totalSteps: 1400,
      rlingua: {
        precollectEpisodes: 4,
        pretrainUpdates: 300,
        priorActionProbability: { initial: 1, final: 0, decaySteps: 1000 },
        priorActing: 'step',
        labelPolicySteps: false,
      },
    });
    const offlineStart: { envSteps: number; done: number; total: number }[] = [];
    const result = await train({
      task: 'reach',
      robot: 'panda',
      seed: 0,
      config,
      runDir: dir,
      prior: crashingReachPrior,
      onProgress: (p) => p.pretrain && offlineStart.push({ envSteps: p.envSteps, ...p.pretrain }),
    });
    expect(result.envSteps).toBe(1400);
    // The offline start is told as it goes, after the 4 demonstrations (200 env steps).
    expect(offlineStart).toEqual([
      { envSteps: 200, done: 250, total: 300 },
      { envSteps: 200, done: 300, total: 300 },
    ]);
    const train0 = readMetrics(runFiles(dir).metrics).filter((r) => r.kind === 'train');
    // The prior is asked while it may act (4 demonstrations, then rounds starting before step
    // 1000, where its probability reaches 0: 8 rounds × 2 envs); it fails from step 20 on in
    // each of those 20 episodes, which are handed to the policy and counted.
    expect(train0.at(-1)!['rollout/prior_aborted_episodes']).toBe(20);
    // 300 offline steps on the 4 demonstrations, then one per env step after them.
    expect(train0.at(-1)!['train/gradient_steps']).toBe(300 + 1400 - 4 * 50);
    const probabilities = train0.map((r) => r['rollout/prior_action_probability'] as number);
    expect(probabilities[0]).toBeGreaterThan(probabilities.at(-1)!);
    expect(train0.at(-1)!['train/imitation_weight']).toBeGreaterThan(0);
    expect(train0.at(-1)!['train/demo_fraction']).toBeGreaterThan(0);
  });

  it("BC: spends the budget on the prior's episodes, then clones the ones it solved, offline", async () => {
    const dir = runDir();
    const config = resolveTrainConfig('bc', 'test', {
      totalSteps: 1500,
      logEverySteps: 500,
      evaluation: { everySteps: 0, episodes: 10 },
      td3: { hidden: [32, 32], batchSize: 64 },
    });
    const result = await train({
      task: 'reach',
      robot: 'panda',
      seed: 0,
      config,
      runDir: dir,
      prior: closedLoopReachPrior,
    });
    expect(result.envSteps).toBe(1500);
    const records = readMetrics(runFiles(dir).metrics);
    const trainRecords = records.filter((r) => r.kind === 'train');
    // The prior drove every episode; the 1,500 updates came after the last of them.
    expect(trainRecords.map((r) => r['rollout/prior_acted_fraction'])).toEqual([1, 1, 1]);
    expect(trainRecords.map((r) => r['train/gradient_steps'])).toEqual([0, 0, 1500]);
    expect(records.filter((r) => r.kind === 'eval').map((r) => r.step)).toEqual([1500]);
    expect(result.lastEvaluation!.successRate).toBeGreaterThanOrEqual(0.9);
  });

  it('labelPolicySteps auto: labels the policy’s steps with a memoryless prior’s answers, not with a phase machine’s', async () => {
    const memoryless = closedLoopReachPrior;
    const phaseMachine: ResolvedPrior = {
      task: 'reach',
      version: 2,
      label: 'reach, keeps its phase',
      code: `export function act(obs, ctx) {
  ctx.memory.phase = ctx.memory.phase ?? 'move';
  return towards(obs.eePosition, obs.desiredGoal);
}`,
    };
    const labelled = async (prior: ResolvedPrior) => {
      const dir = runDir();
      const notices: string[] = [];
      await train({
        task: 'reach',
        robot: 'panda',
        seed: 0,
        config: smallConfig('rlingua', {
          totalSteps: 600,
          rlingua: {
            precollectEpisodes: 2,
            pretrainUpdates: 20,
            priorActionProbability: { initial: 0, final: 0, decaySteps: 0 },
          },
        }),
        runDir: dir,
        prior,
        onNotice: (m) => notices.push(m),
      });
      const records = readMetrics(runFiles(dir).metrics).filter((r) => r.kind === 'train');
      return { values: [...new Set(records.map((r) => r['rollout/policy_steps_labelled']))], notices };
    };
    const open = await labelled(memoryless);
    expect(open.values).toEqual([1]);
    expect(open.notices).toEqual([
      "the prior keeps nothing in ctx.memory: its answers on the policy's steps are imitation labels too (rlingua.labelPolicySteps: auto)",
    ]);
    const planned = await labelled(phaseMachine);
    expect(planned.values).toEqual([0]);
    expect(planned.notices).toEqual([
      'the prior keeps a plan in ctx.memory: only its own steps are imitation labels (rlingua.labelPolicySteps: auto)',
    ]);
  });
});

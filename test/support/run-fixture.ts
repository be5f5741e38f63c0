import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';

/** One eval point of a fixture run: env steps, success rate, mean return. */
export type EvalPoint = [step: number, successRate: number, meanReturn: number];

/**
 * A run folder written by hand in the trainer's format (run.json, config.yaml, metrics.jsonl
 * with a train record before each eval record), for plot tests that need no training.
 */
export function writeFixtureRun(
  root: string,
  run: { task: string; algo: string; seed: number; evals: readonly EvalPoint[] },
): string {
  const dir = join(root, `${run.task}__${run.algo}__${run.seed}__20260101-000000`);
  mkdirSync(dir, { recursive: true });
  const now = '2026-01-01T00:00:00.000Z';
  const envSteps = run.evals.at(-1)?.[0] ?? 0;
  writeFileSync(
    join(dir, 'run.json'),
    `${JSON.stringify(
      {
        task: run.task,
        robot: 'panda',
        algo: run.algo,
        seed: run.seed,
        inputSize: 9,
        actionSize: 3,
        status: 'running',
        started: now,
        updated: now,
        envSteps,
      },
      null,
      2,
    )}\n`,
  );
  writeFileSync(
    join(dir, 'config.yaml'),
    stringify({ algo: run.algo, totalSteps: 10_000, evaluation: { episodes: 10, seed: 1_000_000 } }),
  );
  const lines = run.evals.flatMap(([step, success, meanReturn]) => [
    {
      kind: 'train',
      step,
      'rollout/success_rate': success / 2,
      'rollout/ep_rew_mean': meanReturn - 5,
      'train/critic_loss': 0.1,
      'time/elapsed_s': step / 100,
    },
    { kind: 'eval', step, 'eval/success_rate': success, 'eval/mean_return': meanReturn, 'eval/episodes': 10 },
  ]);
  writeFileSync(join(dir, 'metrics.jsonl'), lines.map((l) => `${JSON.stringify(l)}\n`).join(''));
  return dir;
}

/** Appends a half-written line to a run's metrics.jsonl, as a trainer caught mid-write leaves it. */
export function tearMetrics(runDir: string): void {
  appendFileSync(join(runDir, 'metrics.jsonl'), '{"kind":"eval","step":9000,"eval/success_rate":0.');
}

import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../core/rng.js';
import { readModelMetadata } from '../graph/builder.js';
import { initMlp } from '../graph/mlp.js';
import { RunningNormalizer } from '../normalizer.js';
import { OnnxPolicy } from '../onnx-policy.js';
import { exportPolicy } from '../policy-export.js';
import {
  type BestEvaluation,
  BestPolicyKeeper,
  evaluationFromMetadata,
  evaluationMetadata,
  isBetterEvaluation,
} from './best-policy.js';

const metadata = { task: 'reach', inputSize: 9, actionSize: 3, observationFields: ['a'], algorithm: 'td3' };
const actor = initMlp([9, 8, 3], Rng.fromSeed(1));
const encode = (e: BestEvaluation) =>
  exportPolicy(actor, new RunningNormalizer(9, { clip: 5 }), metadata, evaluationMetadata(e));
const evaluation = (step: number, successRate: number, meanReturn: number): BestEvaluation => ({
  step,
  successRate,
  meanReturn,
  episodes: 20,
});
const file = () => join(mkdtempSync(join(tmpdir(), 'armprior-best-')), 'best-policy.onnx');

describe('best policy', () => {
  it('ranks by success rate, then by mean return', () => {
    expect(isBetterEvaluation(evaluation(2, 0.5, -30), undefined)).toBe(true);
    expect(isBetterEvaluation(evaluation(2, 0.6, -40), evaluation(1, 0.5, -30))).toBe(true);
    expect(isBetterEvaluation(evaluation(2, 0.5, -20), evaluation(1, 0.5, -30))).toBe(true);
    expect(isBetterEvaluation(evaluation(2, 0.5, -30), evaluation(1, 0.5, -30))).toBe(false);
    expect(isBetterEvaluation(evaluation(2, 0.4, -5), evaluation(1, 0.5, -30))).toBe(false);
  });

  it('writes only improvements, and the file carries the evaluation that chose it', async () => {
    const path = file();
    const keeper = BestPolicyKeeper.open(path);
    expect(keeper.current).toBeUndefined();
    expect(keeper.consider(evaluation(1000, 0.4, -30), encode)).toBe(true);
    expect(keeper.consider(evaluation(2000, 0.8, -20), encode)).toBe(true);
    const written = readFileSync(path);
    expect(keeper.consider(evaluation(3000, 0.2, -40), encode)).toBe(false);
    expect(readFileSync(path).equals(written)).toBe(true);
    expect(evaluationFromMetadata(readModelMetadata(written))).toEqual(evaluation(2000, 0.8, -20));
    // Still a policy every loader takes.
    const policy = await OnnxPolicy.load(path, { inputSize: 9, actionSize: 3 });
    expect(evaluationFromMetadata(policy.rawMetadata)?.step).toBe(2000);
    await policy.close();
  });

  it('a resumed run compares against the file it finds, and moves an unreadable one aside', () => {
    const path = file();
    BestPolicyKeeper.open(path).consider(evaluation(4000, 0.7, -25), encode);
    const resumed = BestPolicyKeeper.open(path);
    expect(resumed.current).toEqual(evaluation(4000, 0.7, -25));
    expect(resumed.consider(evaluation(5000, 0.6, -10), encode)).toBe(false);

    writeFileSync(path, 'not an onnx file');
    const notices: string[] = [];
    const fresh = BestPolicyKeeper.open(path, (m) => notices.push(m));
    expect(fresh.current).toBeUndefined();
    expect(readFileSync(`${path}.unreadable`, 'utf8')).toBe('not an onnx file');
    expect(existsSync(path)).toBe(false);
    expect(notices[0]).toContain('moved to');
  });

  it('a policy without an evaluation in its metadata has none', () => {
    const plain = exportPolicy(actor, new RunningNormalizer(9, { clip: 5 }), metadata);
    expect(evaluationFromMetadata(readModelMetadata(plain))).toBeUndefined();
  });
});

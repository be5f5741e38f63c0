import { existsSync, renameSync } from 'node:fs';
import { INPUT_LIMITS, readInputFile } from '../../core/input-file.js';
import { readModelMetadata } from '../graph/builder.js';
import { writeFileAtomic } from './run-dir.js';

/** The evaluation a best policy was chosen on, stored in the ONNX file's own metadata. */
export interface BestEvaluation {
  /** Environment steps when the policy was evaluated. */
  step: number;
  successRate: number;
  meanReturn: number;
  episodes: number;
}

/** Metadata keys of {@link BestEvaluation} in an exported policy. */
export const EVALUATION_KEYS = {
  step: 'armprior.eval_step',
  successRate: 'armprior.eval_success_rate',
  meanReturn: 'armprior.eval_mean_return',
  episodes: 'armprior.eval_episodes',
} as const;

/** The evaluation an exported policy carries in its metadata, if it carries one. */
export function evaluationFromMetadata(metadata: Record<string, string>): BestEvaluation | undefined {
  const values = Object.fromEntries(
    Object.entries(EVALUATION_KEYS).map(([field, key]) => [field, Number(metadata[key])]),
  ) as unknown as BestEvaluation;
  if (metadata[EVALUATION_KEYS.successRate] === undefined) return undefined;
  return Object.values(values).every(Number.isFinite) ? values : undefined;
}

/** Higher success wins; at equal success, the higher mean return (closer to the goal sooner). */
export function isBetterEvaluation(candidate: BestEvaluation, best: BestEvaluation | undefined): boolean {
  if (!best) return true;
  if (candidate.successRate !== best.successRate) return candidate.successRate > best.successRate;
  return candidate.meanReturn > best.meanReturn;
}

/**
 * Keeps `<run>/best-policy.onnx`: the policy of the best evaluation so far, as SB3's
 * EvalCallback keeps best_model. Off-policy training can fall apart late (measured on Push:
 * 86% at 45k steps, 14% at 50k once the imitation weight reached 0), and the last policy is then
 * not the one to deploy. The file says which evaluation chose it (metadata, one atomic write),
 * so a resumed run compares against the file itself, not a counter that may be older.
 *
 * Chosen on the training evaluation's own episodes, its score is biased upward (the best of
 * many noisy estimates): measure it again on other seeds (`armprior eval <run> --best -n 100`).
 */
export class BestPolicyKeeper {
  private constructor(
    private readonly file: string,
    private best: BestEvaluation | undefined,
  ) {}

  /**
   * Reads the evaluation of an existing best policy (a resumed run). A file that cannot be read
   * is moved aside to `<file>.unreadable` (kept, never deleted) and said in a notice.
   */
  static open(file: string, onNotice?: (message: string) => void): BestPolicyKeeper {
    if (!existsSync(file)) return new BestPolicyKeeper(file, undefined);
    let best: BestEvaluation | undefined;
    try {
      best = evaluationFromMetadata(
        readModelMetadata(readInputFile(file, { maxBytes: INPUT_LIMITS.policy, what: 'the best policy' })),
      );
    } catch {
      best = undefined;
    }
    if (!best) {
      renameSync(file, `${file}.unreadable`);
      onNotice?.(`${file} could not be read as a best policy; moved to ${file}.unreadable`);
    }
    return new BestPolicyKeeper(file, best);
  }

  get current(): BestEvaluation | undefined {
    return this.best;
  }

  /** Writes the policy `encode` gives when `evaluation` beats the best so far; true if it did. */
  consider(evaluation: BestEvaluation, encode: (evaluation: BestEvaluation) => Uint8Array): boolean {
    if (!isBetterEvaluation(evaluation, this.best)) return false;
    writeFileAtomic(this.file, encode(evaluation));
    this.best = evaluation;
    return true;
  }
}

/** {@link BestEvaluation} as the metadata entries of an exported policy. */
export function evaluationMetadata(evaluation: BestEvaluation): Record<string, string> {
  return Object.fromEntries(
    Object.entries(EVALUATION_KEYS).map(([field, key]) => [
      key,
      String(evaluation[field as keyof BestEvaluation]),
    ]),
  );
}

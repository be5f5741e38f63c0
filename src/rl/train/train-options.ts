import type { ResolvedPrior } from '../../controllers/priors.js';
import type { Episode } from '../../episodes/episode.js';
import type { CollectionPhase } from '../prior-arbitration.js';
import type { BestEvaluation } from './best-policy.js';
import type { PolicyEvaluation } from './policy-evaluation.js';
import type { TrainConfig } from './train-config.js';

/** What `train()` (trainer.ts) takes, reports while it runs, and returns. */

export interface TrainOptions {
  task: string;
  robot: string;
  seed: number;
  config: TrainConfig;
  runDir: string;
  /** The prior that drives pre-collection and prior-acting steps (needed when the config uses it). */
  prior?: ResolvedPrior | undefined;
  /** Demonstration episodes loaded from datasets (`--demos`), added to the demo buffer at the start. */
  demos?: readonly Episode[] | undefined;
  /** Continue from the run folder's newest good checkpoint. */
  resume?: boolean;
  onProgress?: (progress: TrainProgress) => void;
  /** Called once, before any progress, when a checkpoint was restored: the env steps it stands at. */
  onResume?: (envSteps: number) => void;
  /** Polled between rounds: true stops training after a checkpoint (Ctrl-C), resumable later. */
  shouldStop?: () => boolean;
  /** Messages a person should see (a damaged checkpoint skipped, a prior that keeps failing). */
  onNotice?: (message: string) => void;
}

export interface TrainProgress {
  envSteps: number;
  totalSteps: number;
  phase: CollectionPhase;
  /** Success rate of the last 100 training episodes. */
  successRate: number;
  lastEval: PolicyEvaluation | undefined;
  updatesPerSec: number;
  /** During RLingua's offline start (no env steps move): its updates done so far, and of how many. */
  pretrain?: { done: number; total: number } | undefined;
}

export interface TrainResult {
  envSteps: number;
  /** Stopped early on request (shouldStop); a checkpoint holds the state to resume from. */
  interrupted: boolean;
  /** The evaluation at the last step (undefined only when interrupted before the first one). */
  lastEvaluation: PolicyEvaluation | undefined;
  /** The evaluation that chose `<run>/best-policy.onnx` (over the whole run, resumes included). */
  best: BestEvaluation | undefined;
  resumedFrom: number | undefined;
  /** How many policies `<run>/policy.onnx` averages (policyAveraging; 0: the learner's last one). */
  policiesAveraged: number;
}

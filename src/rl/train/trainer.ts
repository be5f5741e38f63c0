import type { ResolvedPrior } from '../../controllers/priors.js';
import type { Episode } from '../../episodes/episode.js';
import { type CollectionPhase, PriorArbitration } from '../prior-arbitration.js';
import type { BestEvaluation } from './best-policy.js';
import { checkpointIfDue } from './checkpointing.js';
import { Collector } from './collector.js';
import { EvaluationSchedule } from './evaluation-schedule.js';
import type { PolicyEvaluation } from './policy-evaluation.js';
import { ProgressLog } from './progress-log.js';
import { openRun, type TrainingRun } from './run-setup.js';
import { learnerConfig, priorNeeded, type TrainConfig } from './train-config.js';
import { UpdateLoop } from './update-loop.js';

export { TrainingDivergedError } from './update-loop.js';

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

/**
 * The training loop: envs step in worker threads (VecEnv) while the learner updates on the
 * main thread; transitions go to the replay buffers (demonstrations apart), HER relabels at
 * sampling time, and the three RLingua parts (arXiv 2403.06420) are config knobs — prior
 * episodes collected first into the demo buffer, the prior's action executed with a decaying
 * probability during rollouts, the imitation term in the learner's actor loss.
 *
 * Work is done in rounds: every env runs one episode from a reset seeded by the run's RNG.
 * Checkpoints, logs and evaluations happen between rounds, where no env holds state, so a
 * resumed run continues exactly as the uninterrupted one would have.
 */
export async function train(options: TrainOptions): Promise<TrainResult> {
  if (priorNeeded(options.config) && !options.prior)
    throw new RangeError('this training config consults the prior, but no prior was given');
  const run = await openRun(options);
  try {
    return await trainRun(run, options);
  } finally {
    await run.close();
  }
}

/** Rounds until totalSteps: collect (learning meanwhile), then log, evaluate, checkpoint as due. */
async function trainRun(run: TrainingRun, options: TrainOptions): Promise<TrainResult> {
  const { config } = options;
  const { state, average, learner } = run.parts;
  const updates = new UpdateLoop(run, config, options.onNotice);
  const collector = new Collector(run, config, priorArbitration(run, options), (envSteps) =>
    updates.payFor(envSteps),
  );
  const evaluations = new EvaluationSchedule(run, config, options.onNotice);
  const log = new ProgressLog(run, config, updates, options.onProgress);
  const result = (interrupted: boolean, lastEvaluation: PolicyEvaluation | undefined): TrainResult => ({
    envSteps: state.envSteps,
    interrupted,
    lastEvaluation,
    best: evaluations.best,
    resumedFrom: run.resumedFrom,
    policiesAveraged: average.size,
  });
  while (state.envSteps < config.totalSteps) {
    await updates.pretrainWhenReady();
    await collector.collectRound();
    average.observe(state.envSteps, learner);
    log.recordIfDue();
    const finished = state.envSteps >= config.totalSteps;
    await evaluations.afterRound(finished);
    const stopping = !finished && options.shouldStop?.() === true;
    checkpointIfDue(run, config.checkpoint, finished || stopping);
    log.report();
    if (stopping) return result(true, state.lastEval);
  }
  return result(false, await evaluations.last());
}

function priorArbitration(run: TrainingRun, options: TrainOptions): PriorArbitration {
  return new PriorArbitration({
    priors: run.priors,
    numEnvs: run.envs.numEnvs,
    sizes: run.sizes,
    config: options.config.rlingua,
    imitation: learnerConfig(options.config).imitation.enabled,
    // The run state keeps what the arbitration learns of the prior, so a resume keeps it too.
    memory: run.parts.state,
    onNotice: options.onNotice,
  });
}

import { BadInputError } from '../../core/errors.js';
import { PriorArbitration } from '../prior-arbitration.js';
import { budgetNotice } from './budget-notice.js';
import { checkpointIfDue } from './checkpointing.js';
import { Collector } from './collector.js';
import { EvaluationSchedule } from './evaluation-schedule.js';
import type { PolicyEvaluation } from './policy-evaluation.js';
import { ProgressLog } from './progress-log.js';
import { openRun, type TrainingRun } from './run-setup.js';
import { learnerConfig, priorNeeded } from './train-config.js';
import type { TrainOptions, TrainResult } from './train-options.js';
import { UpdateLoop } from './update-loop.js';

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
    throw new BadInputError('this training config consults the prior, but no prior was given');
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
  const noRoom = budgetNotice(config, run.maxEpisodeSteps);
  if (noRoom) options.onNotice?.(noRoom);
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
  const pretrain = () => updates.pretrainWhenReady((done, total) => log.report({ done, total }));
  while (state.envSteps < config.totalSteps) {
    // Before a round for demonstrations loaded with --demos; after one for those it collected, so
    // that the round's evaluation and checkpoint see the policy that starts from them.
    await pretrain();
    await collector.collectRound();
    await pretrain();
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
    episodeSteps: run.maxEpisodeSteps,
    config: options.config.rlingua,
    imitation: learnerConfig(options.config).imitation.enabled,
    // The run state keeps what the arbitration learns of the prior, so a resume keeps it too.
    memory: run.parts.state,
    onNotice: options.onNotice,
  });
}

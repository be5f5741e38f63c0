import { collectionPhase } from './collector.js';
import type { TrainingRun } from './run-setup.js';
import type { RunState } from './run-state.js';
import type { TrainConfig } from './train-config.js';
import type { TrainProgress } from './train-options.js';
import { mean, trainRecord } from './train-record.js';
import type { UpdateLoop } from './update-loop.js';

/**
 * How a run tells how it goes: a train record in metrics.jsonl every logEverySteps (and at the
 * last step), averaging what was accumulated since the one before, and a progress report to the
 * caller after every round.
 */
export class ProgressLog {
  /** When this run would have started had it never been interrupted (performance.now() ms). */
  private readonly started: number;

  constructor(
    private readonly run: TrainingRun,
    private readonly config: TrainConfig,
    private readonly updates: Pick<UpdateLoop, 'updatesDone' | 'updateSeconds'>,
    private readonly onProgress?: ((progress: TrainProgress) => void) | undefined,
  ) {
    this.started = performance.now() - 1000 * run.elapsedBefore;
  }

  /** The train record when due; its sums and rollout counts then start again. */
  recordIfDue(): void {
    const { state, learner } = this.run.parts;
    if (state.envSteps < state.nextLog && state.envSteps < this.config.totalSteps) return;
    const { updatesDone, updateSeconds } = this.updates;
    this.run.metrics.append(
      trainRecord(state, learner.steps, { updatesDone, updateSeconds, started: this.started }),
    );
    startNewRecord(state);
    while (state.nextLog <= state.envSteps) state.nextLog += this.config.logEverySteps;
  }

  /** `pretrain`: where RLingua's offline start stands, while it runs. */
  report(pretrain?: TrainProgress['pretrain']): void {
    const { state } = this.run.parts;
    const { updatesDone, updateSeconds } = this.updates;
    this.onProgress?.({
      envSteps: state.envSteps,
      totalSteps: this.config.totalSteps,
      phase: collectionPhase(state, this.config),
      successRate: mean(state.recentSuccess),
      lastEval: state.lastEval,
      updatesPerSec: updatesDone / Math.max(1e-9, updateSeconds),
      pretrain,
    });
  }
}

function startNewRecord(state: RunState): void {
  state.sums = {};
  state.counts = {};
  state.priorActedSteps = 0;
  state.collectedSteps = 0;
}

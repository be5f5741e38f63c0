import { ArmpriorError } from '../../core/errors.js';
import { sampleMixed } from '../data-mixer.js';
import type { LearnerStats } from '../learner.js';
import { NonFiniteUpdateError } from '../learners/actor-critic.js';
import type { Batch, SampleOptions } from '../replay-buffer.js';
import { linearSchedule } from '../schedule.js';
import { BatchBuilder } from './batch-builder.js';
import type { TrainingRun } from './run-setup.js';
import { learnerConfig, type TrainConfig } from './train-config.js';
import { accumulate } from './train-record.js';

/** Training stopped because updates kept coming out non-finite (NaN/Inf losses or weights). */
export class TrainingDivergedError extends ArmpriorError {
  constructor(message: string) {
    super('training_diverged', message);
  }
}

/** Offline-start updates between two progress reports. */
const PRETRAIN_REPORT_EVERY = 250;

/** Consecutive rejected (non-finite) updates after which training stops instead of going on. */
const MAX_CONSECUTIVE_REJECTED = 20;

/**
 * The gradient updates (SB3's train()): each samples a batch mixed from the demonstration and
 * online buffers (HER relabels at sampling time) and takes one learner step on the run's learn
 * stream. A non-finite update changes nothing and is counted; a run of them stops training.
 */
export class UpdateLoop {
  /** Gradient steps this process took, and the seconds they took (time/updates_per_sec). */
  updatesDone = 0;
  updateSeconds = 0;
  private consecutiveRejected = 0;
  private readonly batch: Batch;
  private readonly batches: BatchBuilder;
  /** How rows are drawn from each buffer: HER, and n-step returns (`nStepReturns`). */
  private readonly sampling: { demo: SampleOptions; online: SampleOptions };

  constructor(
    private readonly run: TrainingRun,
    private readonly config: TrainConfig,
    private readonly onNotice?: ((message: string) => void) | undefined,
  ) {
    const { evalEnv, parts, sizes } = run;
    const her = config.her.enabled
      ? {
          k: config.her.k,
          computeReward: (achieved: Float64Array, desired: Float64Array) =>
            evalEnv.computeReward(achieved, desired),
        }
      : undefined;
    const { steps, on } = config.nStepReturns;
    const nStep = steps > 1 ? { steps, gamma: learnerConfig(config).gamma } : undefined;
    this.sampling = { demo: { her, nStep }, online: { her, nStep: on === 'all' ? nStep : undefined } };
    this.batch = parts.online.createBatch(learnerConfig(config).batchSize);
    this.batches = new BatchBuilder(sizes, this.batch, parts.normalizer, config.rlingua.imitateRelabeled);
  }

  /**
   * RLingua's offline start (rlingua.pretrainUpdates): updates on the demonstrations alone, once
   * they are in (or the budget has ended their collection: behaviour cloning spends it all on
   * them) and before the policy first acts (no env steps). Minutes at the preset's 10,000:
   * `onProgress` hears of it every {@link PRETRAIN_REPORT_EVERY} updates.
   */
  async pretrainWhenReady(onProgress?: (done: number, total: number) => void): Promise<void> {
    const { state, demo } = this.run.parts;
    const { precollectEpisodes, pretrainUpdates } = this.config.rlingua;
    const collected = state.precollected >= precollectEpisodes || state.envSteps >= this.config.totalSteps;
    const demosReady = collected && demo.size > 0;
    if (state.pretrained || !demosReady || pretrainUpdates <= 0) return;
    for (let done = 0; done < pretrainUpdates; ) {
      const chunk = Math.min(PRETRAIN_REPORT_EVERY, pretrainUpdates - done);
      await this.runUpdates(chunk, true);
      done += chunk;
      onProgress?.(done, pretrainUpdates);
    }
    state.pretrained = true;
  }

  /** The updates owed for `envSteps` new env steps (gradientStepsPerEnvStep need not be whole). */
  async payFor(envSteps: number): Promise<void> {
    const { state } = this.run.parts;
    state.updateCredit += this.config.gradientStepsPerEnvStep * envSteps;
    const count = Math.floor(state.updateCredit);
    state.updateCredit -= count;
    await this.runUpdates(count);
  }

  private async runUpdates(count: number, offlineStart = false): Promise<void> {
    const { online, demo } = this.run.parts;
    const t0 = performance.now();
    for (let u = 0; u < count; u++) {
      if (online.size === 0 && demo.size === 0) return;
      await this.update(offlineStart);
    }
    this.updateSeconds += (performance.now() - t0) / 1000;
  }

  private async update(offlineStart: boolean): Promise<void> {
    const { state, online, demo, learner, learnRng: rng } = this.run.parts;
    // The demonstrations' share of the batch decays (rlingua.demoFraction); all of it offline.
    const fraction = offlineStart
      ? 1
      : demo.size > 0
        ? linearSchedule(this.config.rlingua.demoFraction, state.envSteps)
        : 0;
    sampleMixed(this.batch, rng, { online, demo }, fraction, this.sampling);
    let stats: LearnerStats;
    try {
      stats = await learner.update(this.batches.build(), rng, state.envSteps, offlineStart);
    } catch (error) {
      this.rejected(error);
      return;
    }
    this.consecutiveRejected = 0;
    accumulate(state, { ...stats, 'train/demo_fraction': fraction });
    this.updatesDone++;
  }

  /** A non-finite update is counted and told; too many in a row stop training. Other errors go on up. */
  private rejected(error: unknown): void {
    if (!(error instanceof NonFiniteUpdateError)) throw error;
    const { state } = this.run.parts;
    state.rejectedUpdates++;
    this.consecutiveRejected++;
    this.onNotice?.(error.message);
    if (this.consecutiveRejected >= MAX_CONSECUTIVE_REJECTED) {
      throw new TrainingDivergedError(
        `training stopped at ${state.envSteps} env steps: ${this.consecutiveRejected} updates in a row came out non-finite (last: ${error.message}); the last checkpoint holds the weights before it`,
      );
    }
  }
}

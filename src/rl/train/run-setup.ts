import { ArmEnv } from '../../../sim/env.js';
import { rewardRange } from '../../../sim/tasks/task.js';
import { VecEnv } from '../../../sim/vec-env.js';
import { createPriorController } from '../../controllers/priors.js';
import type { SandboxedController } from '../../controllers/sandboxed-controller.js';
import { Rng } from '../../core/rng.js';
import type { Episode } from '../../episodes/episode.js';
import type { TransitionSizes } from '../../episodes/step.js';
import type { Learner } from '../learner.js';
import type { PolicyMetadata } from '../policy-export.js';
import { ReplayBuffer } from '../replay-buffer.js';
import { updateNormalizer } from './batch-builder.js';
import { createLearner, createNormalizer } from './learner-factory.js';
import { PolicyAverage } from './policy-average.js';
import { policyMetadataFor } from './policy-file.js';
import { MetricsLog, runFiles } from './run-dir.js';
import {
  applyRunCheckpoint,
  type RunCheckpoint,
  type RunParts,
  type RunState,
  readRunCheckpoint,
} from './run-state.js';
import { priorNeeded, type TrainConfig } from './train-config.js';
import type { TrainOptions } from './train-options.js';
import { lastElapsedSeconds } from './train-record.js';

/** Everything a training run works with: built, and restored from a checkpoint, by {@link openRun}. */
export interface TrainingRun {
  /** The run folder. */
  dir: string;
  files: ReturnType<typeof runFiles>;
  metrics: MetricsLog;
  /** The env evaluations run on; its task's reward also relabels goals for HER. */
  evalEnv: ArmEnv;
  /** The envs that collect, stepped in worker threads. */
  envs: VecEnv;
  /** One prior per env, each in its own sandbox process; none when the config never consults it. */
  priors: readonly SandboxedController[];
  /** What a checkpoint saves and restores. */
  parts: RunParts;
  sizes: TransitionSizes;
  maxEpisodeSteps: number;
  /** What the exported policies say about themselves. */
  policyMetadata: PolicyMetadata;
  /** The env steps of the checkpoint this process resumed from. */
  resumedFrom: number | undefined;
  /** Wall clock of the processes that trained this run before (time/elapsed_s counts them all). */
  elapsedBefore: number;
  /** Closes the envs, the priors' sandboxes and the learner. */
  close(): Promise<void>;
}

/**
 * Builds a run: envs, priors, learner, replay buffers sized to the run, its random streams;
 * with `resume`, puts the newest good checkpoint back; loads the demonstrations once. What it
 * opened is closed again when a later step fails.
 */
export async function openRun(options: TrainOptions): Promise<TrainingRun> {
  const { config } = options;
  const opened = new OpenedResources();
  try {
    const { evalEnv, envs } = await openEnvs(options, opened);
    const sizes = {
      observation: evalEnv.observationSize,
      goal: evalEnv.goalSize,
      action: evalEnv.actionSize,
    };
    const maxEpisodeSteps = evalEnv.task.config.maxEpisodeSteps;
    const priors = await openPriors(options, evalEnv, envs.numEnvs, opened);
    const range = rewardRange(evalEnv.task);
    const { learner, collectRng, learnRng } = await openLearner(config, sizes, range, options.seed, opened);
    const files = runFiles(options.runDir);
    const checkpoint = options.resume ? readRunCheckpoint(files.checkpoints) : undefined;
    const parts: RunParts = {
      state: freshState(config),
      collectRng,
      learnRng,
      normalizer: createNormalizer(config, sizes),
      ...replayBuffers(config, sizes, maxEpisodeSteps, options.demos, checkpoint),
      learner,
      average: new PolicyAverage(config.policyAveraging),
    };
    const metrics = new MetricsLog(files.metrics);
    const resumed = checkpoint ? resume(checkpoint, parts, metrics, options) : undefined;
    loadDemos(parts, options.demos, sizes);
    return {
      dir: options.runDir,
      files,
      metrics,
      evalEnv,
      envs,
      priors,
      parts,
      sizes,
      maxEpisodeSteps,
      policyMetadata: policyMetadataFor(evalEnv, config.algo),
      resumedFrom: resumed?.envSteps,
      elapsedBefore: resumed?.elapsedSeconds ?? 0,
      close: () => opened.closeAll(),
    };
  } catch (error) {
    await opened.closeAll();
    throw error;
  }
}

/** The env evaluations run on, and the envs that collect (in worker threads). */
async function openEnvs(
  options: TrainOptions,
  opened: OpenedResources,
): Promise<{ evalEnv: ArmEnv; envs: VecEnv }> {
  const { task, robot, config } = options;
  const evalEnv = opened.add(await ArmEnv.create({ task, robot }), (env) => env.close());
  const envs = opened.add(
    await VecEnv.create({
      task,
      robot,
      numEnvs: config.numEnvs,
      numWorkers: Math.min(config.numWorkers, config.numEnvs),
      seed: options.seed,
    }),
    (vec) => vec.close(),
  );
  return { evalEnv, envs };
}

/** The learner, and the run's random streams: one seed split, in this order, for initialisation, collection, learning. */
async function openLearner(
  config: TrainConfig,
  sizes: TransitionSizes,
  rewardRange: readonly [number, number] | undefined,
  seed: number,
  opened: OpenedResources,
): Promise<{ learner: Learner; collectRng: Rng; learnRng: Rng }> {
  const root = Rng.fromSeed(seed);
  const initRng = root.split();
  const collectRng = root.split();
  const learnRng = root.split();
  const networkSizes = { input: sizes.observation + sizes.goal, action: sizes.action };
  const learner = opened.add(await createLearner(config, networkSizes, initRng, rewardRange), (l) =>
    l.close(),
  );
  return { learner, collectRng, learnRng };
}

/** One prior per env when the config consults it (train() has checked that one was given). */
async function openPriors(
  options: TrainOptions,
  evalEnv: ArmEnv,
  numEnvs: number,
  opened: OpenedResources,
): Promise<SandboxedController[]> {
  const prior = priorNeeded(options.config) ? options.prior : undefined;
  const priors: SandboxedController[] = [];
  if (!prior) return priors;
  for (let i = 0; i < numEnvs; i++)
    priors.push(opened.add(await createPriorController(evalEnv, prior), (p) => p.dispose()));
  return priors;
}

function freshState(config: TrainConfig): RunState {
  return {
    envSteps: 0,
    rounds: 0,
    episodes: 0,
    precollected: 0,
    updateCredit: 0,
    rejectedUpdates: 0,
    priorAbortedEpisodes: 0,
    recentSuccess: [],
    recentReturn: [],
    nextLog: config.logEverySteps,
    nextEval: config.evaluation.everySteps || Number.POSITIVE_INFINITY,
    nextCheckpoint: config.checkpoint.everySteps || Number.POSITIVE_INFINITY,
    sums: {},
    counts: {},
    priorActedSteps: 0,
    collectedSteps: 0,
    demosLoaded: false,
    pretrained: false,
    lastEval: undefined,
    lastEvalStep: -1,
  };
}

/**
 * No run stores more transitions than it collects: the rings are sized to the run, not to the
 * 1M default (about 450 MB of float64 for Push). A resumed run keeps its sizes.
 */
function replayBuffers(
  config: TrainConfig,
  sizes: TransitionSizes,
  maxEpisodeSteps: number,
  demos: readonly Episode[] | undefined,
  checkpoint: RunCheckpoint | undefined,
): { online: ReplayBuffer; demo: ReplayBuffer } {
  const demoSteps = (demos ?? []).reduce((n, e) => n + e.length, 0);
  const { bufferSize, totalSteps, rlingua } = config;
  const online = checkpoint?.capacities.online ?? Math.max(1, Math.min(bufferSize, totalSteps));
  const demo =
    checkpoint?.capacities.demo ??
    Math.max(1, Math.min(rlingua.demoBufferSize, rlingua.precollectEpisodes * maxEpisodeSteps + demoSteps));
  return { online: new ReplayBuffer(online, sizes), demo: new ReplayBuffer(demo, sizes) };
}

/**
 * Puts a checkpoint back into `parts`, random streams included, and cuts metrics.jsonl back to
 * it (the interrupted process may have logged past it). Returns where the run resumed and the
 * wall clock it had used.
 */
function resume(
  checkpoint: RunCheckpoint,
  parts: RunParts,
  metrics: MetricsLog,
  options: TrainOptions,
): { envSteps: number; elapsedSeconds: number } {
  const restored = applyRunCheckpoint(checkpoint, parts);
  for (const skipped of checkpoint.skipped)
    options.onNotice?.(`skipped a damaged checkpoint: ${skipped.reason}`);
  const envSteps = parts.state.envSteps;
  options.onResume?.(envSteps);
  const elapsedSeconds = lastElapsedSeconds(metrics.truncateAfter(envSteps));
  parts.collectRng = restored.collectRng;
  parts.learnRng = restored.learnRng;
  return { envSteps, elapsedSeconds };
}

/** Demonstrations from datasets (--demos) join the demo buffer once; a resumed run has them in its checkpoint. */
function loadDemos(parts: RunParts, demos: readonly Episode[] | undefined, sizes: TransitionSizes): void {
  if (parts.state.demosLoaded || !demos) return;
  for (const episode of demos) {
    parts.demo.addEpisode(episode);
    updateNormalizer(parts.normalizer, episode, sizes);
  }
  parts.state.demosLoaded = true;
}

/** What a run has opened, closed in the reverse order: by the run's close(), or when set-up fails. */
class OpenedResources {
  private readonly closers: (() => unknown)[] = [];

  add<T>(resource: T, close: (resource: T) => unknown): T {
    this.closers.push(() => close(resource));
    return resource;
  }

  async closeAll(): Promise<void> {
    for (const close of this.closers.splice(0).reverse()) await close();
  }
}

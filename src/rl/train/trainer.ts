import { join } from 'node:path';
import { ArmEnv } from '../../../sim/env.js';
import { VecEnv } from '../../../sim/vec-env.js';
import type { ResolvedPrior } from '../../controllers/priors.js';
import { createPriorController } from '../../controllers/priors.js';
import type { SandboxedController } from '../../controllers/sandboxed-controller.js';
import { ArmpriorError } from '../../core/errors.js';
import { Rng } from '../../core/rng.js';
import { ReplayRecorder } from '../../replays/replay-recorder.js';
import { sampleMixed } from '../data-mixer.js';
import type { Learner, LearnerStats } from '../learner.js';
import { NonFiniteUpdateError } from '../learners/actor-critic.js';
import { type EpisodeData, type HerOptions, ReplayBuffer, type TransitionSizes } from '../replay-buffer.js';
import { linearSchedule } from '../schedule.js';
import { BatchBuilder, policyInput, updateNormalizer } from './batch-builder.js';
import { type BestEvaluation, BestPolicyKeeper, evaluationMetadata } from './best-policy.js';
import { EpisodeRecorder } from './episode-recorder.js';
import { createLearner, createNormalizer } from './learner-factory.js';
import { PolicyAverage } from './policy-average.js';
import { evaluatePolicy, type PolicyEvaluation } from './policy-evaluation.js';
import { encodePolicy, policyMetadataFor, writePolicyFile } from './policy-file.js';
import { MetricsLog, runFiles } from './run-dir.js';
import { applyRunCheckpoint, type RunState, readRunCheckpoint, saveRun } from './run-state.js';
import { learnerConfig, priorNeeded, type TrainConfig } from './train-config.js';
import { accumulate, lastElapsedSeconds, mean, trainRecord } from './train-record.js';

/** Training stopped because updates kept coming out non-finite (NaN/Inf losses or weights). */
export class TrainingDivergedError extends ArmpriorError {
  constructor(message: string) {
    super('training_diverged', message);
  }
}

export interface TrainOptions {
  task: string;
  robot: string;
  seed: number;
  config: TrainConfig;
  runDir: string;
  /** The prior that drives pre-collection and prior-acting steps (needed when the config uses it). */
  prior?: ResolvedPrior | undefined;
  /** Demonstration episodes loaded from datasets (`--demos`), added to the demo buffer at the start. */
  demos?: readonly EpisodeData[] | undefined;
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
  phase: 'precollect' | 'train';
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

/** Consecutive rejected (non-finite) updates after which training stops instead of going on. */
const MAX_CONSECUTIVE_REJECTED = 20;
/** Training episodes in the rolling success rate (SB3's ep_info_buffer is 100 long). */
const SUCCESS_WINDOW = 100;

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
  const { config } = options;
  const files = runFiles(options.runDir);
  const evalEnv = await ArmEnv.create({ task: options.task, robot: options.robot });
  const sizes: TransitionSizes = {
    observation: evalEnv.observationSize,
    goal: evalEnv.goalSize,
    action: evalEnv.actionSize,
  };
  const maxSteps = evalEnv.task.config.maxEpisodeSteps;
  if (priorNeeded(config) && !options.prior)
    throw new RangeError('this training config consults the prior, but no prior was given');
  const priors: SandboxedController[] = [];
  let learner: Learner | undefined;
  let vec: VecEnv | undefined;
  try {
    vec = await VecEnv.create({
      task: options.task,
      robot: options.robot,
      numEnvs: config.numEnvs,
      numWorkers: Math.min(config.numWorkers, config.numEnvs),
      seed: options.seed,
    });
    const envs = vec;
    if (priorNeeded(config) && options.prior) {
      for (let i = 0; i < envs.numEnvs; i++) priors.push(await createPriorController(evalEnv, options.prior));
    }
    const root = Rng.fromSeed(options.seed);
    const initRng = root.split();
    learner = await createLearner(
      config,
      { input: sizes.observation + sizes.goal, action: sizes.action },
      initRng,
    );
    const state: RunState = {
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
    let collectRng = root.split();
    let learnRng = root.split();
    const normalizer = createNormalizer(config, sizes);
    const checkpoint = options.resume ? readRunCheckpoint(files.checkpoints) : undefined;
    // No run stores more transitions than it collects: the rings are sized to the run, not to
    // the 1M default (about 450 MB of float64 for Push). A resumed run keeps its sizes.
    const demoSteps = (options.demos ?? []).reduce((n, e) => n + e.length, 0);
    const online = new ReplayBuffer(
      checkpoint?.capacities.online ?? Math.max(1, Math.min(config.bufferSize, config.totalSteps)),
      sizes,
    );
    const demo = new ReplayBuffer(
      checkpoint?.capacities.demo ??
        Math.max(
          1,
          Math.min(config.rlingua.demoBufferSize, config.rlingua.precollectEpisodes * maxSteps + demoSteps),
        ),
      sizes,
    );
    const average = new PolicyAverage(config.policyAveraging);
    const metrics = new MetricsLog(files.metrics);
    let resumedFrom: number | undefined;
    // Wall clock of the processes that trained this run before (time/elapsed_s counts them all).
    let elapsedBefore = 0;
    if (checkpoint) {
      const restored = applyRunCheckpoint(checkpoint, {
        state,
        normalizer,
        online,
        demo,
        learner,
        average,
      });
      for (const skipped of checkpoint.skipped)
        options.onNotice?.(`skipped a damaged checkpoint: ${skipped.reason}`);
      resumedFrom = state.envSteps;
      options.onResume?.(resumedFrom);
      elapsedBefore = lastElapsedSeconds(metrics.truncateAfter(state.envSteps));
      collectRng = restored.collectRng;
      learnRng = restored.learnRng;
    }
    if (!state.demosLoaded && options.demos) {
      for (const episode of options.demos) {
        demo.addEpisode(episode);
        updateNormalizer(normalizer, episode, sizes);
      }
      state.demosLoaded = true;
    }
    const her: HerOptions | undefined = config.her.enabled
      ? {
          k: config.her.k,
          computeReward: (achieved, desired) => evalEnv.computeReward(achieved, desired),
        }
      : undefined;
    const replayBatch = online.createBatch(learnerBatchSize(config));
    const batches = new BatchBuilder(sizes, replayBatch, normalizer, config.rlingua.imitateRelabeled);
    const recorders = Array.from({ length: envs.numEnvs }, () => new EpisodeRecorder(sizes, maxSteps));
    const started = performance.now() - 1000 * elapsedBefore;
    const policyMetadata = policyMetadataFor(evalEnv, config.algo);
    let updateSeconds = 0;
    let updatesDone = 0;
    let consecutiveRejected = 0;
    const activeLearner = learner;

    const runUpdates = async (count: number, demoOnly = false) => {
      const t0 = performance.now();
      for (let u = 0; u < count; u++) {
        if (online.size === 0 && demo.size === 0) return;
        const rng = learnRng;
        const fraction = demoOnly
          ? 1
          : demo.size > 0
            ? linearSchedule(config.rlingua.demoFraction, state.envSteps)
            : 0;
        sampleMixed(replayBatch, rng, { online, demo }, fraction, her);
        let stats: LearnerStats;
        try {
          stats = await activeLearner.update(batches.build(), rng, state.envSteps);
        } catch (error) {
          if (!(error instanceof NonFiniteUpdateError)) throw error;
          state.rejectedUpdates++;
          consecutiveRejected++;
          options.onNotice?.(error.message);
          if (consecutiveRejected >= MAX_CONSECUTIVE_REJECTED) {
            throw new TrainingDivergedError(
              `training stopped at ${state.envSteps} env steps: ${consecutiveRejected} updates in a row came out non-finite (last: ${error.message}); the last checkpoint holds the weights before it`,
            );
          }
          continue;
        }
        consecutiveRejected = 0;
        accumulate(state, { ...stats, 'train/demo_fraction': fraction });
        updatesDone++;
      }
      updateSeconds += (performance.now() - t0) / 1000;
    };

    // rlingua.labelPolicySteps: auto. Checked once per round, so the choice changes between rounds only.
    let labelsAnnounced = false;
    const shouldLabelPolicySteps = (): boolean => {
      const setting = config.rlingua.labelPolicySteps;
      if (setting !== 'auto' || priors.length === 0) return setting === true;
      if (!state.priorKeepsMemory && priors.some((prior) => prior.keepsMemory())) {
        state.priorKeepsMemory = true;
        labelsAnnounced = false;
      }
      return !state.priorKeepsMemory;
    };

    const runRound = async () => {
      const phase = state.precollected < config.rlingua.precollectEpisodes ? 'precollect' : 'train';
      const labelsPolicySteps = shouldLabelPolicySteps();
      if (
        phase === 'train' &&
        !labelsAnnounced &&
        config.rlingua.labelPolicySteps === 'auto' &&
        imitationOn(config) &&
        priors.length > 0
      ) {
        labelsAnnounced = true;
        options.onNotice?.(
          labelsPolicySteps
            ? "the prior keeps nothing in ctx.memory: its answers on the policy's steps are imitation labels too (rlingua.labelPolicySteps: auto)"
            : 'the prior keeps a plan in ctx.memory: only its own steps are imitation labels (rlingua.labelPolicySteps: auto)',
        );
      }
      const rng = collectRng;
      const n = envs.numEnvs;
      const a = sizes.action;
      let obs = await envs.reset({ seed: rng.int(0, 2 ** 31 - 1) });
      for (const prior of priors) prior.reset();
      const active = new Uint8Array(n).fill(1);
      const priorBroken = new Uint8Array(n);
      const returns = new Float64Array(n);
      const successes = new Uint8Array(n);
      const probability =
        phase === 'precollect' ? 1 : linearSchedule(config.rlingua.priorActionProbability, state.envSteps);
      const askPrior = priors.length > 0 && (probability > 0 || (imitationOn(config) && labelsPolicySteps));
      const perEpisode = config.rlingua.priorActing === 'episode';
      const priorDrives = Uint8Array.from({ length: n }, () =>
        askPrior && probability > 0 && (probability >= 1 || rng.next() < probability) ? 1 : 0,
      );
      const learning = phase === 'train' && state.envSteps >= config.learningStarts;
      for (let t = 0; t < maxSteps && active.some((x) => x === 1); t++) {
        const input = policyInput(obs.observation, obs.desiredGoal, n, sizes, normalizer);
        const policy =
          phase === 'train' && state.envSteps < config.learningStarts
            ? Float32Array.from({ length: n * a }, () => rng.uniform(-1, 1))
            : activeLearner.act(input, n, 'explore', rng);
        const actions = new Float64Array(n * a);
        const priorActions: (Float64Array | undefined)[] = [];
        const priorActed = new Uint8Array(n);
        // Each prior runs in its own sandbox process: ask them all at once.
        const answers = await Promise.all(
          priors.map((prior, i) =>
            askPrior && active[i] && !priorBroken[i]
              ? prior.act(
                  obs.observation.subarray(i * sizes.observation, (i + 1) * sizes.observation),
                  obs.achievedGoal.subarray(i * sizes.goal, (i + 1) * sizes.goal),
                  obs.desiredGoal.subarray(i * sizes.goal, (i + 1) * sizes.goal),
                )
              : undefined,
          ),
        );
        for (let i = 0; i < n; i++) {
          let proposal = answers[i];
          if (proposal !== undefined) {
            const prior = priors[i]!;
            if (prior.abortReason() !== undefined) {
              // A prior that keeps failing hands the episode to the policy; it is counted.
              priorBroken[i] = 1;
              state.priorAbortedEpisodes++;
              proposal = undefined;
            }
          }
          priorActions.push(proposal);
          const usePrior =
            proposal !== undefined &&
            (perEpisode ? priorDrives[i] === 1 : probability >= 1 || rng.next() < probability);
          priorActed[i] = usePrior ? 1 : 0;
          for (let j = 0; j < a; j++) {
            actions[i * a + j] = usePrior ? Math.min(1, Math.max(-1, proposal![j]!)) : policy[i * a + j]!;
          }
        }
        // Collection and learning overlap: the workers simulate while this thread updates.
        const stepping = envs.step(actions);
        if (learning) {
          state.updateCredit += config.gradientStepsPerEnvStep * countActive(active);
          const count = Math.floor(state.updateCredit);
          state.updateCredit -= count;
          await runUpdates(count);
        }
        const result = await stepping;
        for (let i = 0; i < n; i++) {
          if (!active[i]) continue;
          const done = result.terminated[i] === 1 || result.truncated[i] === 1;
          const o = sizes.observation;
          const g = sizes.goal;
          recorders[i]!.add({
            observation: obs.observation.subarray(i * o, (i + 1) * o),
            achievedGoal: obs.achievedGoal.subarray(i * g, (i + 1) * g),
            desiredGoal: obs.desiredGoal.subarray(i * g, (i + 1) * g),
            action: actions.subarray(i * a, (i + 1) * a),
            reward: result.reward[i]!,
            nextObservation: (done ? result.finalObservation : result.observation).subarray(
              i * o,
              (i + 1) * o,
            ),
            nextAchievedGoal: (done ? result.finalAchievedGoal : result.achievedGoal).subarray(
              i * g,
              (i + 1) * g,
            ),
            terminated: result.terminated[i] === 1,
            priorActed: priorActed[i] === 1,
            // A label to imitate only where the prior drove (RLingua imitates the controller's
            // own samples): asked while the policy drives, a phase-machine prior answers from a
            // plan the policy is not following (measured on Push: those labels kept the policy
            // at the do-nothing level). `rlingua.labelPolicySteps` keeps them anyway.
            priorAction: priorActed[i] || labelsPolicySteps ? priorActions[i] : undefined,
          });
          returns[i] = returns[i]! + result.reward[i]!;
          state.envSteps++;
          state.collectedSteps++;
          state.priorActedSteps += priorActed[i]!;
          if (done) {
            active[i] = 0;
            successes[i] = result.isSuccess[i]!;
          }
        }
        obs = result;
      }
      for (let i = 0; i < n; i++) {
        const episode = recorders[i]!.take();
        (phase === 'precollect' ? demo : online).addEpisode(episode);
        updateNormalizer(normalizer, episode, sizes);
        state.recentSuccess = [...state.recentSuccess, successes[i]!].slice(-SUCCESS_WINDOW);
        state.recentReturn = [...state.recentReturn, returns[i]!].slice(-SUCCESS_WINDOW);
        state.episodes++;
        if (phase === 'precollect') state.precollected++;
      }
      state.rounds++;
      accumulate(state, {
        'rollout/prior_action_probability': probability,
        // 1 while the prior's answers on the policy's steps are imitation labels (labelPolicySteps).
        'rollout/policy_steps_labelled':
          phase === 'train' && imitationOn(config) && priors.length > 0
            ? Number(labelsPolicySteps)
            : undefined,
      });
    };

    const bestPolicy = BestPolicyKeeper.open(files.bestPolicy, options.onNotice);
    /** The final evaluation's episodes are kept as replays in `<run>/replays`, for the viewer. */
    const evaluate = async (final: boolean) => {
      const recorder = final
        ? new ReplayRecorder(evalEnv, {
            actor: `policy:${config.algo} after ${state.envSteps} steps`,
            dir: join(options.runDir, 'replays'),
          })
        : undefined;
      const evaluation = await evaluatePolicy(evalEnv, average.policy(activeLearner), normalizer, {
        ...config.evaluation,
        recorder,
      });
      state.lastEval = evaluation;
      state.lastEvalStep = state.envSteps;
      metrics.append({
        kind: 'eval',
        step: state.envSteps,
        'eval/success_rate': evaluation.successRate,
        'eval/mean_return': evaluation.meanReturn,
        'eval/episodes': evaluation.episodes,
        // How many policies the evaluated mean holds (0: the learner's own policy was evaluated).
        ...(config.policyAveraging.enabled ? { 'eval/policies_averaged': average.size } : {}),
      });
      const { successRate, meanReturn, episodes } = evaluation;
      bestPolicy.consider({ step: state.envSteps, successRate, meanReturn, episodes }, (chosen) =>
        encodePolicy(average.policy(activeLearner), normalizer, policyMetadata, evaluationMetadata(chosen)),
      );
      return evaluation;
    };

    const report = () =>
      options.onProgress?.({
        envSteps: state.envSteps,
        totalSteps: config.totalSteps,
        phase: state.precollected < config.rlingua.precollectEpisodes ? 'precollect' : 'train',
        successRate: mean(state.recentSuccess),
        lastEval: state.lastEval,
        updatesPerSec: updatesDone / Math.max(1e-9, updateSeconds),
      });

    while (state.envSteps < config.totalSteps) {
      const demosReady = state.precollected >= config.rlingua.precollectEpisodes && demo.size > 0;
      if (!state.pretrained && demosReady && config.rlingua.pretrainUpdates > 0) {
        // Offline start on the demonstrations alone, before the policy acts (no env steps).
        await runUpdates(config.rlingua.pretrainUpdates, true);
        state.pretrained = true;
      }
      await runRound();
      average.observe(state.envSteps, activeLearner);
      if (state.envSteps >= state.nextLog || state.envSteps >= config.totalSteps) {
        metrics.append(trainRecord(state, activeLearner.steps, { updatesDone, updateSeconds, started }));
        state.sums = {};
        state.counts = {};
        state.priorActedSteps = 0;
        state.collectedSteps = 0;
        while (state.nextLog <= state.envSteps) state.nextLog += config.logEverySteps;
      }
      const finished = state.envSteps >= config.totalSteps;
      if (state.envSteps >= state.nextEval) {
        await evaluate(finished);
        while (state.nextEval <= state.envSteps) state.nextEval += config.evaluation.everySteps;
      }
      const stopping = !finished && options.shouldStop?.() === true;
      if (finished && state.lastEvalStep !== state.envSteps) await evaluate(true);
      if (finished || stopping || state.envSteps >= state.nextCheckpoint) {
        while (state.nextCheckpoint <= state.envSteps) state.nextCheckpoint += config.checkpoint.everySteps;
        saveRun(files.checkpoints, config.checkpoint.keep, {
          state,
          collectRng,
          learnRng,
          normalizer,
          online,
          demo,
          learner: activeLearner,
          average,
        });
        writePolicyFile(files.policy, average.policy(activeLearner), normalizer, policyMetadata);
      }
      report();
      if (stopping)
        return {
          envSteps: state.envSteps,
          interrupted: true,
          lastEvaluation: state.lastEval,
          best: bestPolicy.current,
          resumedFrom,
          policiesAveraged: average.size,
        };
    }
    const lastEvaluation = state.lastEval ?? (await evaluate(true));
    return {
      envSteps: state.envSteps,
      interrupted: false,
      lastEvaluation,
      best: bestPolicy.current,
      resumedFrom,
      policiesAveraged: average.size,
    };
  } finally {
    for (const prior of priors) prior.dispose?.();
    await learner?.close();
    await vec?.close();
    evalEnv.close();
  }
}

function imitationOn(config: TrainConfig): boolean {
  return learnerConfig(config).imitation.enabled;
}

function learnerBatchSize(config: TrainConfig): number {
  return learnerConfig(config).batchSize;
}

function countActive(active: Uint8Array): number {
  let n = 0;
  for (const x of active) n += x;
  return n;
}

import { z } from 'zod';
import { parseConfig } from '../../core/config-file.js';
import { SacConfigSchema } from '../learners/sac.js';
import { Td3ConfigSchema } from '../learners/td3.js';
import { MAX_ENV_STEPS } from '../off-policy-config.js';
import { PolicyAveragingSchema } from './policy-average.js';
import { ALGOS, type Algo, presetFor } from './presets.js';

/**
 * Transitions a replay buffer may hold. Buffers are preallocated: about 450 bytes a transition
 * on pick-and-place, so 1 GB at the bound.
 */
const MAX_BUFFER_TRANSITIONS = 2_000_000;
/** A step count: 0 … {@link MAX_ENV_STEPS}. */
const stepCount = () => z.number().int().min(0).max(MAX_ENV_STEPS);

const schedule = (initial: number, final: number, decaySteps: number) =>
  z
    .object({
      initial: z.number().min(0).max(1).default(initial),
      final: z.number().min(0).max(1).default(final),
      /** Environment steps over which the value moves linearly from initial to final. */
      decaySteps: stepCount().default(decaySteps),
    })
    .strict()
    .prefault({});

/**
 * One training run, every field described. The defaults are RL Zoo's TD3+HER settings for the
 * panda-gym tasks where they exist; `--algo` picks a preset (see {@link presetFor}) and a
 * `--config` YAML overrides any field. The resolved config is saved in the run folder.
 */
export const TrainConfigSchema = z
  .object({
    /** The preset this run started from (td3, sac or rlingua): a label for run names and plots. */
    algo: z.enum(ALGOS).default('td3'),
    /** The gradient-step algorithm. RLingua runs on top of TD3 in the paper. */
    learner: z.enum(['td3', 'sac']).default('td3'),
    /** Environment steps to train for (pre-collection included: they are interaction too). */
    totalSteps: stepCount().min(1).default(50_000),
    /** Envs stepped in parallel worker threads while the learner updates. */
    numEnvs: z.number().int().min(1).max(64).default(2),
    /** Worker threads for the envs (each loads its own MuJoCo). */
    numWorkers: z.number().int().min(1).max(64).default(2),
    /** Environment steps with uniformly random actions (or the prior, with RLingua) before learning. */
    learningStarts: stepCount().default(1000),
    /** Gradient steps per environment step (the update-to-data ratio); fractions accumulate. */
    gradientStepsPerEnvStep: z.number().positive().max(64).default(1),
    nStepReturns: z
      .object({
        /**
         * Rewards summed per critic target before it bootstraps (1: TD3's and SAC's one-step
         * target). More carries a sparse success back through an episode sooner, at the price of
         * a bias towards the return of whoever acted (replay-buffer.ts, NStepOptions).
         */
        steps: z.number().int().min(1).max(50).default(1),
        /** Which rows: all, or the demonstration buffer's only (DDPGfD's use, where the prior acted). */
        on: z.enum(['all', 'demos']).default('all'),
      })
      .strict()
      .prefault({}),
    /** Capacity of the online replay buffer (transitions); the demo buffer has its own. */
    bufferSize: z.number().int().positive().max(MAX_BUFFER_TRANSITIONS).default(1_000_000),
    her: z
      .object({
        /** Hindsight relabelling with the "future" strategy (Andrychowicz et al. 2017). */
        enabled: z.boolean().default(true),
        /** Relabelled goals per real one (RL Zoo: n_sampled_goal 4). */
        k: z.number().int().min(1).max(16).default(4),
      })
      .strict()
      .prefault({}),
    normalize: z
      .object({
        /** Running mean/variance normalisation of the network inputs (observation and goal). */
        enabled: z.boolean().default(true),
        /** Normalised values are clipped to ±clip. */
        clip: z.number().positive().max(1000).default(5),
      })
      .strict()
      .prefault({}),
    evaluation: z
      .object({
        /** Evaluate the deterministic policy every this many environment steps (0: only at the end). */
        everySteps: stepCount().default(2000),
        episodes: z.number().int().min(1).max(10_000).default(20),
        /** Evaluation episode k is reset with seed + k: the same episodes at every evaluation. */
        seed: z
          .number()
          .int()
          .min(0)
          .max(2 ** 31 - 1)
          .default(1_000_000),
      })
      .strict()
      .prefault({}),
    checkpoint: z
      .object({
        /** Write a checkpoint every this many environment steps (0: only at the end). */
        everySteps: stepCount().default(10_000),
        /** Checkpoints kept (older ones are deleted once a newer one is complete). */
        keep: z.number().int().min(1).max(100).default(2),
      })
      .strict()
      .prefault({}),
    /** Environment steps between two metrics lines of the train group. */
    logEverySteps: stepCount().min(1).default(1000),
    /** Evaluate and export the mean of the policy's weights over the late part of training. */
    policyAveraging: PolicyAveragingSchema,
    rlingua: z
      .object({
        /** Which prior drives: 'active' (the store's pinned version, else the bundled one), 'bundled' or 'vN'. */
        prior: z.string().default('active'),
        /** Episodes collected with the prior alone into the demonstration buffer before training (RLingua's demonstrations). */
        precollectEpisodes: z.number().int().min(0).max(100_000).default(0),
        /**
         * Probability that the prior's action is executed instead of the policy's, per step,
         * decaying over training (RLingua: the prior "produces action samples during rollouts
         * with a decaying probability").
         */
        priorActionProbability: schedule(0, 0, 0),
        /**
         * What that probability picks: 'episode' hands whole episodes to the prior (a phase
         * machine is not interrupted, so its episodes stay demonstrations of the task), 'step'
         * draws per step (the paper's per-sample mixing), 'rollIn' lets the prior start the
         * episode and hands it to the policy after a uniformly drawn number of steps (jump-start
         * RL; precollected episodes stay whole), 'takeOver' lets the policy start it and the
         * prior, started afresh, finish it from a step drawn in the first half (its steps show
         * the way back from where the policy went; its answers are asked only once it drives).
         */
        priorActing: z.enum(['episode', 'step', 'rollIn', 'takeOver']).default('episode'),
        /**
         * Gradient steps on the demonstrations alone once they are collected (or loaded with
         * --demos), before the policy first acts: an offline start from the prior's data.
         */
        pretrainUpdates: z.number().int().min(0).max(10_000_000).default(0),
        /** Share of each batch drawn from the demonstration buffer, decaying. */
        demoFraction: schedule(0.5, 0.1, 20_000),
        /**
         * Also ask the prior on steps the policy drives and keep its answer as an imitation
         * label (DAgger's relabelling, the prior as the expert); off, only the prior's own steps
         * are labels. Right for a closed-loop prior that decides each step from what it sees:
         * 90% held on 3 of 3 seeds with it on Push and pick-and-place, 2 of 3 and 0 of 1
         * without. Wrong for a phase machine that keeps a plan in `ctx.memory` (the bundled
         * priors): it answers from a plan the policy is not following, and those labels kept the
         * policy at the do-nothing level. `auto`: on while the prior has kept nothing in
         * `ctx.memory`, off for the rest of the run once it has (known after the first episode
         * it drives; with precollection, before the policy's first step).
         */
        labelPolicySteps: z.union([z.boolean(), z.literal('auto')]).default('auto'),
        /**
         * Keep the prior's action as an imitation label on rows whose goal HER relabelled. The
         * prior answered for the episode's goal, not the relabelled one, so the label is then a
         * hindsight label (the action did lead to that goal), not what the prior would do.
         */
        imitateRelabeled: z.boolean().default(true),
        /**
         * Keep the prior's actions as imitation labels in episodes it drove and failed. Off, only
         * episodes that end in success teach by imitation (filtered behaviour cloning); every
         * transition still trains the critic. Its answers on the policy's steps stay labels.
         */
        imitateFailedPriorEpisodes: z.boolean().default(true),
        /** Capacity of the demonstration buffer (transitions). */
        demoBufferSize: z.number().int().positive().max(MAX_BUFFER_TRANSITIONS).default(200_000),
      })
      .strict()
      .prefault({}),
    /** TD3's hyperparameters (SB3 names), used when learner is td3. */
    td3: Td3ConfigSchema.prefault({}),
    /** SAC's hyperparameters (SB3 names), used when learner is sac. */
    sac: SacConfigSchema.prefault({}),
  })
  .strict();

export type TrainConfig = z.output<typeof TrainConfigSchema>;
export type { Algo } from './presets.js';
export { ALGOS };

/** The active learner's hyperparameters. */
export function learnerConfig(config: TrainConfig): TrainConfig['td3'] | TrainConfig['sac'] {
  return config.learner === 'td3' ? config.td3 : config.sac;
}

/**
 * The config with the prior it learns from named by version (`bundled`, `vN`) instead of
 * `active`: what a run folder keeps, so that a resumed run (or an experiment run again) learns
 * from the same prior whichever is active by then.
 */
export function withPinnedPrior(config: TrainConfig, version: number | 'bundled'): TrainConfig {
  return {
    ...config,
    rlingua: { ...config.rlingua, prior: version === 'bundled' ? 'bundled' : `v${version}` },
  };
}

/**
 * Whether a run consults the prior: it collects demonstrations, may act, or labels the
 * policy's steps for imitation. The CLI resolves a prior exactly when this is true.
 */
export function priorNeeded(config: TrainConfig): boolean {
  const r = config.rlingua;
  const imitation = learnerConfig(config).imitation.enabled;
  return (
    r.precollectEpisodes > 0 ||
    r.priorActionProbability.initial > 0 ||
    (imitation && r.labelPolicySteps !== false)
  );
}

/** `override` merged into `base`, objects field by field (arrays and scalars replace). */
export function deepMerge(
  base: Record<string, unknown>,
  override: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) {
    const current = out[key];
    out[key] = isPlainObject(current) && isPlainObject(value) ? deepMerge(current, value) : value;
  }
  return out;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The run's config: the preset of `algo`, then the user's file, then the command-line values;
 * validated as a whole so that every problem is reported at once, naming `source`.
 */
export function resolveTrainConfig(
  algo: Algo,
  source: string,
  fromFile: Record<string, unknown> = {},
  fromFlags: Record<string, unknown> = {},
): TrainConfig {
  // The preset is laid out over the run's budget, whichever of the two sets it.
  const budget = fromFlags.totalSteps ?? fromFile.totalSteps;
  const preset = presetFor(algo, typeof budget === 'number' ? budget : undefined);
  const merged = deepMerge(deepMerge(preset, fromFile), fromFlags);
  return parseConfig(source, merged, TrainConfigSchema);
}

import { z } from 'zod';
import type { GraphBuilder, Value } from '../graph/builder.js';
import type { LearnerBatch } from '../learner.js';
import { MAX_ENV_STEPS } from '../off-policy-config.js';
import { linearSchedule } from '../schedule.js';
import { type Feeds, type Outputs, scalarFeed, scalarOutput, tensor } from './feeds.js';

/**
 * RLingua's imitation term toward the prior's actions (Chen et al. 2024, arXiv 2403.06420,
 * §III-C), shared by every learner that trains an actor: its config, its weight's schedule, the
 * Q-filter's switch, the graph inputs the host feeds and the term in the actor loss.
 */
export const ImitationConfigSchema = z
  .object({
    /** Add the term to the actor loss (the batches must then carry the prior's actions). */
    enabled: z.boolean().default(false),
    /** The term's weight at the first actor step; it moves linearly to `finalWeight`. */
    initialWeight: z.number().min(0).max(10_000).default(2.5),
    finalWeight: z.number().min(0).max(10_000).default(0),
    /** Actor steps over which the weight moves from `initialWeight` to `finalWeight`. */
    decaySteps: z.number().int().min(0).max(MAX_ENV_STEPS).default(20_000),
    /** Imitate only where Q1 rates the prior's action above the policy's (Nair et al. 2018). */
    qFilter: z.boolean().default(true),
    /**
     * Environment steps before the Q-filter gates the term (with `qFilter`); until then every
     * labelled row imitates. Early on the critic is too poor to judge the prior; once it
     * can, the filter lets the policy leave the prior where it knows better. Counted by the
     * training loop (an update given no step count filters whenever `qFilter` is on).
     */
    qFilterFromStep: z.number().int().min(0).max(MAX_ENV_STEPS).default(0),
  })
  .strict()
  .prefault({});

export type ImitationConfig = z.output<typeof ImitationConfigSchema>;

/** The term's diagnostics, on the updates that apply it. */
export interface ImitationStats {
  'train/imitation_loss'?: number;
  'train/imitation_weight'?: number;
  /** The share of the batch's rows that imitated (labelled, and passing the Q-filter when on). */
  'train/imitation_fraction'?: number;
}

/** The term's weight after `actorSteps` actor steps. */
export function imitationWeight(config: ImitationConfig, actorSteps: number): number {
  const { initialWeight: initial, finalWeight: final, decaySteps } = config;
  return linearSchedule({ initial, final, decaySteps }, actorSteps);
}

/** Whether the Q-filter gates the term at `envSteps` (unknown: it does, when configured). */
export function qFilterOn(config: ImitationConfig, envSteps: number | undefined): boolean {
  return config.qFilter && (envSteps === undefined || envSteps >= config.qFilterFromStep);
}

/**
 * The inputs {@link imitationTerm} declares, for an actor step after `actorSteps` others at
 * `envSteps`, and the weight fed. A batch without the prior's actions is a bug of the caller
 * (the training loop labels every batch when imitation is on), not bad input.
 */
export function imitationFeeds(
  config: ImitationConfig,
  batch: LearnerBatch,
  actionSize: number,
  progress: { actorSteps: number; envSteps: number | undefined; learner: string },
): { feeds: Feeds; weight: number } {
  if (!batch.priorAction || !batch.hasPriorAction) {
    throw new Error(`${progress.learner} with imitation needs priorAction and hasPriorAction in every batch`);
  }
  const weight = imitationWeight(config, progress.actorSteps);
  const feeds: Feeds = {
    prior_action: tensor(batch.priorAction, [batch.size, actionSize]),
    has_prior: tensor(batch.hasPriorAction, [batch.size, 1]),
    imitation_weight: scalarFeed(weight),
    q_filter_on: scalarFeed(qFilterOn(config, progress.envSteps) ? 1 : 0),
  };
  return { feeds, weight };
}

/** The term's stats from an update's outputs, with the weight that was fed. */
export function imitationStats(out: Outputs, weight: number): Required<ImitationStats> {
  return {
    'train/imitation_loss': scalarOutput(out.imitation_loss),
    'train/imitation_weight': weight,
    'train/imitation_fraction': scalarOutput(out.imitation_fraction),
  };
}

/**
 * The term in the actor loss: w · mean over prior-labelled rows of ‖action − a_prior‖²,
 * declaring the inputs `prior_action` [batch, action], `has_prior` [batch, 1] and
 * `imitation_weight` [] (its schedule decays on the host). With `qFilter` (Nair et al. 2018), a
 * row imitates only where Q1(s, a_prior) > Q1(s, π(s)), while the input `q_filter_on` [] is 1;
 * at 0 every labelled row imitates (the host switches the filter on once the critic can judge
 * the prior). `policyQ` gives Q1(s, π(s)) and is called only with `qFilter`. The mask carries
 * no gradient. Returns the weighted term to add to the actor loss, and the diagnostics to output.
 */
export function imitationTerm(
  g: GraphBuilder,
  o: {
    obs: Value;
    action: Value;
    actionSize: number;
    /** Q1 of a [observation, action] input. */
    q1: (input: Value) => Value;
    qFilter: boolean;
    policyQ: () => Value;
  },
): { weighted: Value; outputs: [Value, string][] } {
  const priorAction = g.input('prior_action', ['batch', o.actionSize]);
  const hasPrior = g.input('has_prior', ['batch', 1]);
  const weight = g.input('imitation_weight', []);
  let mask = hasPrior;
  if (o.qFilter) {
    const filterOn = g.input('q_filter_on', []);
    const priorQ = o.q1(g.concat([o.obs, priorAction]));
    const better = g.op(
      'Cast',
      [g.op('Greater', [priorQ, o.policyQ()], ['batch', 1])],
      ['batch', 1],
      [{ name: 'to', int: 1 }],
    );
    // on · better + (1 − on): exactly `better` when on, exactly 1 when off.
    const passes = g.add(g.mul(filterOn, better), g.sub(g.scalar(1), filterOn));
    mask = g.mul(mask, g.stopGradient(passes));
  }
  mask = g.stopGradient(mask);
  const squaredError = g.reduceSum(g.square(g.sub(o.action, priorAction)), [1], true);
  // Mean over the rows that imitate (the share of prior-labelled rows changes during training).
  const count = g.add(g.reduceSum(mask, [0, 1]), g.scalar(1e-6));
  const imitation = g.div(g.reduceSum(g.mul(mask, squaredError), [0, 1]), count);
  return {
    weighted: g.mul(weight, imitation),
    outputs: [
      [imitation, 'imitation_loss'],
      [g.reduceMean(mask), 'imitation_fraction'],
    ],
  };
}

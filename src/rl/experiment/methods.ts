import { ALGOS, type Algo, deepMerge } from '../train/train-config.js';

/**
 * RLingua's three parts switched off one at a time (the paper's ablations): each is the rlingua
 * preset with one part removed, whatever a --config says about that part.
 */
const ABLATIONS = {
  /** No prior episodes collected first, so no offline start on them. */
  'rlingua-no-demos': { rlingua: { precollectEpisodes: 0, pretrainUpdates: 0 } },
  /** The prior never acts during training. */
  'rlingua-no-prior-actions': { rlingua: { priorActionProbability: { initial: 0, final: 0 } } },
  /** No imitation term in the actor loss. */
  'rlingua-no-imitation': { td3: { imitation: { enabled: false } } },
} as const;

export type Ablation = keyof typeof ABLATIONS;
/** What `armprior experiment --algos` takes: the prior alone, every preset, the ablations. */
export type ExperimentMethod = 'prior' | Algo | Ablation;
export const EXPERIMENT_METHODS: readonly ExperimentMethod[] = [
  'prior',
  ...ALGOS,
  ...(Object.keys(ABLATIONS) as Ablation[]),
];

/** RL without the prior: the baselines that get a larger budget (RLingua's claim is about steps). */
export const RL_BASELINES: readonly Algo[] = ['td3', 'sac'];

/** How a training method of the experiment is configured. */
export interface MethodRun {
  /** The preset it starts from. */
  algo: Algo;
  /** Config fields over the preset: the user's --config, then the ablation's (which win). */
  overrides: Record<string, unknown>;
  /** Its env-step budget. */
  steps: number;
}

/**
 * The preset, config and budget of `method`: td3 and sac get `baselineSteps`, every other
 * method `steps` (behaviour cloning spends it on the prior's episodes).
 */
export function methodRun(
  method: Exclude<ExperimentMethod, 'prior'>,
  userOverrides: Record<string, unknown>,
  budgets: { steps: number; baselineSteps: number },
): MethodRun {
  if (method in ABLATIONS) {
    const ablation = ABLATIONS[method as Ablation] as unknown as Record<string, unknown>;
    return {
      algo: 'rlingua',
      overrides: deepMerge(userOverrides, structuredClone(ablation)),
      steps: budgets.steps,
    };
  }
  const algo = method as Algo;
  const steps = RL_BASELINES.includes(algo) ? budgets.baselineSteps : budgets.steps;
  return { algo, overrides: userOverrides, steps };
}

import { resolve } from 'node:path';
import { ArmEnv } from '../../sim/env.js';
import { taskDefinition } from '../../sim/tasks/registry.js';
import type { ControllerEvaluation } from '../controllers/evaluate.js';
import { evaluate } from '../controllers/prior-rounds.js';
import type { ResolvedPrior } from '../controllers/priors.js';
import { PriorStore } from '../controllers/store.js';
import { checkOutputDir } from '../core/output-path.js';
import { createProgress } from './progress.js';

/** Where priors are kept unless `--priors` says otherwise: `./priors` in the working folder. */
export const DEFAULT_PRIORS_DIR = 'priors';

export function openStore(dir: string | undefined): PriorStore {
  return new PriorStore(resolve(dir ?? DEFAULT_PRIORS_DIR));
}

/** {@link openStore} for a command that stores something: an unwritable store is refused before any work. */
export function openStoreForWriting(dir: string | undefined): PriorStore {
  const store = openStore(dir);
  checkOutputDir(store.root);
  return store;
}

/** The canonical task name for a name or alias (an unknown one lists the known ones). */
export function canonicalTask(name: string): string {
  return taskDefinition(name).name;
}

/**
 * Evaluates a prior on the fixed seed set, with progress on stderr; with `replaysDir`, each
 * episode is saved there as a replay (the store's `replaysDir` for the version).
 */
export async function evaluatePrior(
  prior: ResolvedPrior,
  episodes: number,
  options: { robot?: string | undefined; quiet?: boolean; replaysDir?: string | undefined } = {},
): Promise<ControllerEvaluation> {
  const env = await ArmEnv.create({ task: prior.task, robot: options.robot });
  try {
    const progress = options.quiet ? undefined : createProgress(`evaluating ${prior.label}`, episodes);
    const evaluation = await evaluate(env, prior, {
      episodes,
      onEpisode: (_, done) => progress?.update(done),
      replaysDir: options.replaysDir,
    });
    progress?.stop();
    return evaluation;
  } finally {
    env.close();
  }
}

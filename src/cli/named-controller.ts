import type { ArmEnv } from '../../sim/env.js';
import { BASIC_CONTROLLERS, createBasicController } from '../controllers/basic.js';
import {
  createPriorController,
  priorControllerName,
  type ResolvedPrior,
  resolvePrior,
} from '../controllers/priors.js';
import { UnknownNameError } from '../core/errors.js';
import type { Rng } from '../core/rng.js';
import type { EpisodeController } from '../episodes/run-episode.js';
import { priorActorName } from '../episodes/scene/scene-replay-sink.js';
import { openStore } from './prior-support.js';

/**
 * The controller a `-c`/`--against` value names: `random`, `zero`, or `prior[:vN|:bundled]`
 * loaded from the store into its sandbox; with the name a replay gives it (`prior:push:v3`,
 * `random`). `rng` seeds the random controller, so a command given the same seed draws the same.
 */
export async function createNamedController(
  env: ArmEnv,
  name: string,
  priorsDir: string | undefined,
  rng: Rng,
): Promise<{ controller: EpisodeController; actor: string }> {
  const [kind, version] = name.split(':', 2) as [string, string | undefined];
  if (kind === 'prior') {
    const prior = resolvePrior(openStore(priorsDir), env.task.name, version);
    return {
      controller: await createPriorController(env, prior),
      actor: priorActorName(prior.task, prior.version),
    };
  }
  return { controller: createBasicController(name, env.actionSize, rng.split()), actor: name };
}

/**
 * What a `-c` value names, without loading it: a basic controller's name, or the prior's code
 * (for a queued collection, which pins it), and the name the controller reports itself by.
 */
export function resolveNamedController(
  taskName: string,
  name: string,
  priorsDir: string | undefined,
): { prior: ResolvedPrior | undefined; controllerName: string } {
  const [kind, version] = name.split(':', 2) as [string, string | undefined];
  if (kind === 'prior') {
    const prior = resolvePrior(openStore(priorsDir), taskName, version);
    return { prior, controllerName: priorControllerName(prior) };
  }
  if (!(BASIC_CONTROLLERS as readonly string[]).includes(name))
    throw new UnknownNameError('controller', name, [...BASIC_CONTROLLERS, 'prior']);
  return { prior: undefined, controllerName: name };
}

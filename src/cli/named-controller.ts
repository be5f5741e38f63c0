import type { ArmEnv } from '../../sim/env.js';
import { createBasicController } from '../controllers/basic.js';
import { createPriorController, resolvePrior } from '../controllers/priors.js';
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

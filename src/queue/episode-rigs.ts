import { ArmEnv } from '../../sim/env.js';
import { createBasicController } from '../controllers/basic.js';
import { createPriorController } from '../controllers/priors.js';
import { Rng } from '../core/rng.js';
import type { EpisodeController } from '../episodes/run-episode.js';
import type { ChunkJob } from './collection-jobs.js';

/** An env and a controller set up for one collection's chunks. */
export interface EpisodeRig {
  collectionId: string;
  env: ArmEnv;
  controller: EpisodeController;
}

/** Rigs kept idle per worker: one per chunk it runs at once is enough. */
const MAX_IDLE = 4;

/**
 * A worker's envs and controllers, kept from one chunk to the next of the same collection.
 * Setting them up (the env, and a prior's sandbox process) takes 150–400 ms, a fifth to a half of
 * a chunk of 25 Reach episodes; a worker usually takes several chunks of one collection in a row.
 * Reusing them changes nothing in the episodes: `sim` runs all its episodes on one env and one
 * controller, each reset with the episode's seed.
 */
export class EpisodeRigs {
  private readonly idle: EpisodeRig[] = [];

  /** A rig for the chunk's collection: an idle one, else a new one. */
  async take(data: ChunkJob): Promise<EpisodeRig> {
    const at = this.idle.findIndex((rig) => rig.collectionId === data.collectionId);
    if (at >= 0) return this.idle.splice(at, 1)[0]!;
    const env = await ArmEnv.create({
      task: data.task,
      robot: data.robot,
      taskOverrides: data.reward ? { rewardType: data.reward } : {},
    });
    try {
      return { collectionId: data.collectionId, env, controller: await controllerFor(env, data) };
    } catch (error) {
      env.close();
      throw error;
    }
  }

  /** Gives a rig back after a chunk that ended well; the oldest idle ones are freed beyond a few. */
  give(rig: EpisodeRig): void {
    this.idle.push(rig);
    while (this.idle.length > MAX_IDLE) free(this.idle.shift()!);
  }

  /** Frees a rig that must not be used again (its chunk failed: the sandbox may be broken). */
  discard(rig: EpisodeRig): void {
    free(rig);
  }

  /** Frees every idle rig (the worker stops). */
  close(): void {
    for (const rig of this.idle.splice(0)) free(rig);
  }
}

function controllerFor(env: ArmEnv, data: ChunkJob): Promise<EpisodeController> | EpisodeController {
  if (data.prior) return createPriorController(env, data.prior);
  // Reset with each episode's seed, it draws from that: the generator given here is never used.
  return createBasicController(data.controller, env.actionSize, Rng.fromSeed(data.seed));
}

function free(rig: EpisodeRig): void {
  rig.controller.dispose?.();
  rig.env.close();
}

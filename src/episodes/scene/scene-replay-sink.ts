import type { ArmEnv } from '../../../sim/env.js';
import type { EpisodeSink } from '../sink.js';
import type { EpisodeBegin, StateReport, Step } from '../step.js';
import { readSceneGeometry, type SceneGeometry } from './scene-geometry.js';
import { SceneReplayError, writeSceneReplay } from './scene-replay-files.js';
import {
  roundSceneValue,
  roundSceneValues,
  SCENE_REPLAY_FORMAT_VERSION,
  type SceneReplay,
} from './scene-replay-format.js';

/** What acted in a recorded episode, as `SceneReplay.actor` spells it. */
export function priorActorName(task: string, version: number | 'bundled'): string {
  return `prior:${task}:${version === 'bundled' ? 'bundled' : `v${version}`}`;
}

/**
 * Records the episodes of one env as the viewer's scene replays (scene-replay-format.ts), one
 * file each in one folder, written when the episode ends. The scene's geometry is read once;
 * each step then costs a copy of the body poses.
 *
 * ```ts
 * const replays = new SceneReplaySink(env, { actor: 'prior:push:v3', dir });
 * await runEpisode(env, controller, seed, { sinks: [replays] }); // <dir>/episode-000000.json
 * ```
 */
export class SceneReplaySink implements EpisodeSink {
  readonly needsScenePoses = true;
  readonly geometry: SceneGeometry;
  readonly dir: string;
  /** The file of the last episode written. */
  lastFile: string | undefined;
  private readonly env: ArmEnv;
  private readonly actor: string;
  private episode:
    | { seed: number; frames: SceneReplay['frames']; termNames?: string[]; total: number }
    | undefined;

  constructor(env: ArmEnv, options: { actor: string; dir: string }) {
    this.env = env;
    this.actor = options.actor;
    this.dir = options.dir;
    env.simulation.ensureViews();
    this.geometry = readSceneGeometry(env.simulation);
  }

  begin(begin: EpisodeBegin): void {
    this.episode = { seed: begin.seed ?? 0, frames: [], total: 0 };
    this.addFrame(begin, 0);
  }

  step(step: Step): void {
    if (!this.episode) throw new Error('SceneReplaySink.step outside an episode');
    this.episode.total += step.reward;
    this.addFrame(step, step.reward);
  }

  async end(): Promise<void> {
    const replay = this.replay();
    this.episode = undefined;
    this.lastFile = await writeSceneReplay(this.dir, replay);
  }

  /** The replay of the episode so far. */
  replay(): SceneReplay {
    const episode = this.episode;
    if (!episode) throw new Error('SceneReplaySink.replay outside an episode');
    const { env, geometry } = this;
    return {
      format: SCENE_REPLAY_FORMAT_VERSION,
      task: env.task.name,
      robot: env.robot.name,
      actor: this.actor,
      seed: episode.seed,
      ctrlDtSec: env.task.config.ctrlDtSec,
      success: episode.frames.at(-1)?.success ?? false,
      return: roundSceneValue(episode.total),
      bodies: geometry.bodies,
      geoms: geometry.geoms,
      rewardTermNames: episode.termNames ?? [],
      frames: episode.frames,
    };
  }

  /** Frame 0 is the state after reset; frame t the state after step t. */
  private addFrame(state: StateReport, reward: number): void {
    const episode = this.episode!;
    const { scene, success, rewardTerms } = state;
    if (!scene || success === undefined || !rewardTerms)
      throw new Error('scene replays need steps with scene poses, success and reward terms (a simulation)');
    const bodies = this.geometry.bodies.length;
    // The names are fixed by the first frame, sorted, so every frame lists them in one order.
    episode.termNames ??= Object.keys(rewardTerms).sort();
    episode.frames.push({
      bodyPos: roundSceneValues(scene.bodyPos, 3 * bodies),
      bodyQuat: roundSceneValues(scene.bodyQuat, 4 * bodies),
      reward: roundSceneValue(reward),
      success,
      rewardTerms: episode.termNames.map((name) => {
        const value = rewardTerms[name];
        if (value === undefined)
          throw new SceneReplayError(
            this.dir,
            `task '${this.env.task.name}' stopped reporting reward term '${name}'`,
          );
        return roundSceneValue(value);
      }),
    });
  }
}

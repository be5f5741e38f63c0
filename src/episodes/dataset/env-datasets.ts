import type { ArmEnv } from '../../../sim/env.js';
import type { StepObserver } from '../run-episode.js';
import type { EpisodeData } from '../../rl/replay-buffer.js';
import { EpisodeRecorder } from '../../rl/train/episode-recorder.js';
import { readDataset } from './reader.js';
import { DatasetWriter } from './writer.js';

/** Opens (or continues) a dataset for episodes of `env` run in simulation. */
export function openSimDataset(dir: string, env: ArmEnv): Promise<DatasetWriter> {
  return DatasetWriter.open(dir, {
    task: env.task.name,
    robot: env.robot.name,
    source: 'sim',
    ctrlDtSec: env.task.config.ctrlDtSec,
    observationFields: env.observationFields,
    goalSize: env.goalSize,
    actionSize: env.actionSize,
  });
}

/**
 * Collects an episode's transitions as `runEpisode` reports them (its `onStep`), in the replay
 * buffer's layout. `priorActed` marks episodes driven by a prior: they are demonstrations, the
 * action is the prior's.
 */
export function episodeCollector(env: ArmEnv, options: { priorActed: boolean }) {
  const recorder = new EpisodeRecorder(
    { observation: env.observationSize, goal: env.goalSize, action: env.actionSize },
    env.task.config.maxEpisodeSteps,
  );
  const onStep: StepObserver = (before, rawAction, result) => {
    // Stored as applied: the env clips actions to [-1, 1], and a policy's tanh cannot leave it.
    const action = Array.from(rawAction, (x) => Math.min(1, Math.max(-1, x)));
    recorder.add({
      observation: before.observation,
      achievedGoal: before.achievedGoal,
      desiredGoal: before.desiredGoal,
      action,
      reward: result.reward,
      nextObservation: result.obs.observation,
      nextAchievedGoal: result.obs.achievedGoal,
      terminated: result.terminated,
      priorActed: options.priorActed,
      priorAction: options.priorActed ? action : undefined,
    });
  };
  return { onStep, take: (): EpisodeData => recorder.take() };
}

/**
 * Demonstrations for training on `env`'s task: every episode of the dataset, checked against its
 * checksum and the env's observation layout, goal and action sizes and task (a corrupted file or
 * a mismatch is refused, naming it). `unverified`: files written before checksums.
 */
export async function readDemonstrations(
  dir: string,
  env: ArmEnv,
): Promise<{ episodes: EpisodeData[]; tempFiles: string[]; unverified: string[] }> {
  const contents = await readDataset(dir, {
    task: env.task.name,
    observationFields: env.observationFields,
    goalSize: env.goalSize,
    actionSize: env.actionSize,
  });
  return { episodes: contents.episodes, tempFiles: contents.tempFiles, unverified: contents.unverified };
}

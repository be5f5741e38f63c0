import type { ArmEnv } from '../../../sim/env.js';
import type { Episode } from '../episode.js';
import { isLerobotDataset, readLerobotDataset } from './lerobot/lerobot-import.js';
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
 * Demonstrations for training on `env`'s task: every episode of the dataset (armprior's layout,
 * or a LeRobot-layout export of one), checked against its checksum and the env's observation
 * layout, goal and action sizes and task (a corrupted file or a mismatch is refused, naming it).
 * `unverified`: files written before checksums.
 */
export async function readDemonstrations(
  dir: string,
  env: ArmEnv,
): Promise<{ episodes: Episode[]; tempFiles: string[]; unverified: string[] }> {
  const expected = {
    task: env.task.name,
    observationFields: env.observationFields,
    goalSize: env.goalSize,
    actionSize: env.actionSize,
  };
  // A LeRobot-layout export (armprior dataset export --format lerobot) reads as the same episodes.
  if (isLerobotDataset(dir)) {
    const { episodes } = await readLerobotDataset(dir, expected);
    return { episodes, tempFiles: [], unverified: [] };
  }
  const contents = await readDataset(dir, expected);
  return { episodes: contents.episodes, tempFiles: contents.tempFiles, unverified: contents.unverified };
}

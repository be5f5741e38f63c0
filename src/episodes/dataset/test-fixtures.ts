/** Small datasets for the tests of this folder: a pick-and-place-like layout and made-up episodes. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Episode } from '../episode.js';
import type { DatasetMetaInput } from './schema.js';

export const FIELDS = [
  { name: 'eePosition', size: 3 },
  { name: 'eeVelocity', size: 3 },
  { name: 'gripperWidth', size: 1 },
  { name: 'objectPosition', size: 3 },
];

export const META: DatasetMetaInput = {
  task: 'pick-and-place',
  robot: 'panda',
  source: 'sim',
  ctrlDtSec: 0.04,
  observationFields: FIELDS,
  goalSize: 3,
  actionSize: 4,
};

/** What a reader for the same task expects. */
export const EXPECTED = { task: 'pick-and-place', observationFields: FIELDS, goalSize: 3, actionSize: 4 };

export const newDir = () => mkdtempSync(join(tmpdir(), 'armprior-dataset-'));

/** A fixed clock, so metadata times are known. */
export const clock = () => new Date('2025-03-01T12:00:00.000Z');

/**
 * Episode `tag` of `length` steps with values that tell episode, step and column apart; the prior
 * is asked on even steps and acts on every fourth; the last step is terminal when `terminal`.
 */
export function makeEpisode(tag: number, length: number, terminal = false): Episode {
  const values = (size: number, column: number) =>
    Float64Array.from({ length: length * size }, (_, i) => tag * 1000 + column * 100 + i / 7 - 3);
  const hasPriorAction = Uint8Array.from({ length }, (_, t) => (t % 2 === 0 ? 1 : 0));
  const priorAction = values(4, 8).map((v, i) => (hasPriorAction[Math.floor(i / 4)] ? v : 0));
  return {
    length,
    observation: values(10, 1),
    achievedGoal: values(3, 2),
    desiredGoal: values(3, 3),
    action: values(4, 4),
    reward: Float64Array.from({ length }, (_, t) => (t % 3 === 0 ? 0 : -1)),
    nextObservation: values(10, 5),
    nextAchievedGoal: values(3, 6),
    terminated: Uint8Array.from({ length }, (_, t) => (terminal && t === length - 1 ? 1 : 0)),
    priorActed: Uint8Array.from({ length }, (_, t) => (t % 4 === 0 ? 1 : 0)),
    priorAction,
    hasPriorAction,
  };
}

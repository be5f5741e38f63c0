import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DataType } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { DatasetError } from '../../../core/errors.js';
import { decodeParquet } from '../parquet-io.js';
import { readDataset } from '../reader.js';
import { EXPECTED, META, makeEpisode, newDir } from '../test-fixtures.js';
import { DatasetWriter, writeEpisodeData } from '../writer.js';
import { exportLerobot } from './lerobot-export.js';
import { isLerobotDataset, readLerobotDataset } from './lerobot-import.js';

/** An armprior dataset of three episodes (one terminal), as `sim --record` writes them. */
async function armpriorDataset(): Promise<string> {
  const dir = newDir();
  const writer = await DatasetWriter.open(dir, META);
  for (const i of [0, 1, 2])
    await writeEpisodeData(writer, makeEpisode(i, 4 + i, i === 2), {
      start: { actor: 'prior:pick-and-place:bundled' },
    });
  await writer.close();
  return dir;
}

const narrowed = (values: ArrayLike<number>) => Array.from(values, Math.fround);

describe('LeRobot layout (issue #21)', () => {
  it("writes LeRobot v2.1's files, names and dtypes, with armprior's extras as features", async () => {
    const source = await armpriorDataset();
    const out = join(newDir(), 'lerobot');
    const done = await exportLerobot(source, out);
    expect(done).toEqual({ dir: out, episodes: 3, frames: 15, fps: 25 });
    const info = JSON.parse(readFileSync(join(out, 'meta', 'info.json'), 'utf8'));
    expect(info).toMatchObject({
      codebase_version: 'v2.1',
      robot_type: 'panda',
      total_episodes: 3,
      total_frames: 15,
      total_tasks: 1,
      chunks_size: 1000,
      fps: 25,
      splits: { train: '0:3' },
      data_path: 'data/chunk-{episode_chunk:03d}/episode_{episode_index:06d}.parquet',
    });
    expect(info.features['observation.state']).toEqual({
      dtype: 'float32',
      shape: [10],
      names: expect.arrayContaining(['eePosition.x', 'gripperWidth.x', 'objectPosition.z']),
    });
    expect(info.features.action.names).toEqual(['dx', 'dy', 'dz', 'gripper']);
    for (const name of [
      'timestamp',
      'frame_index',
      'episode_index',
      'index',
      'task_index',
      'next.reward',
      'next.done',
    ])
      expect(info.features[name], name).toMatchObject({ shape: [1] });
    const lines = (file: string) =>
      readFileSync(join(out, 'meta', file), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
    expect(lines('episodes.jsonl')).toEqual(
      [0, 1, 2].map((k) => ({ episode_index: k, tasks: ['pick-and-place'], length: 4 + k })),
    );
    expect(lines('tasks.jsonl')).toEqual([{ task_index: 0, task: 'pick-and-place' }]);
    expect(lines('episodes_stats.jsonl')[1].stats['observation.state'].count).toEqual([5]);
    const file = join(out, 'data', 'chunk-000', 'episode_000001.parquet');
    const { table } = decodeParquet(readFileSync(file), file);
    expect(table.numRows).toBe(5);
    const state = table.getChild('observation.state')!;
    expect(DataType.isList(state.type) && DataType.isFloat(state.type.children[0]!.type)).toBe(true);
    expect(String(state.type.children[0]!.type)).toBe('Float32');
    // The global frame index runs on from the episodes before.
    expect(Array.from({ length: 5 }, (_, t) => Number(table.getChild('index')!.get(t)))).toEqual([
      4, 5, 6, 7, 8,
    ]);
    expect(Array.from({ length: 5 }, (_, t) => Number(table.getChild('frame_index')!.get(t)))).toEqual([
      0, 1, 2, 3, 4,
    ]);
  });

  it('reads back as the same episodes, to float32 precision, for train --demos', async () => {
    const source = await armpriorDataset();
    const out = join(newDir(), 'lerobot');
    await exportLerobot(source, out);
    expect(isLerobotDataset(out)).toBe(true);
    const contents = await readDataset(source, EXPECTED);
    const original = contents.episodes;
    const back = (await readLerobotDataset(out, EXPECTED)).episodes;
    expect(back).toHaveLength(3);
    const vectorKeys = [
      'observation',
      'achievedGoal',
      'desiredGoal',
      'action',
      'reward',
      'nextObservation',
      'nextAchievedGoal',
      'priorAction',
    ] as const;
    for (const [k, episode] of original.entries()) {
      const read = back[k]!;
      for (const key of vectorKeys)
        expect(Array.from(read[key]), `${k} ${key}`).toEqual(narrowed(episode[key]));
      for (const key of ['terminated', 'priorActed', 'hasPriorAction'] as const)
        expect(Array.from(read[key]), `${k} ${key}`).toEqual(Array.from(episode[key]));
      expect(Array.from(read.truncated!)).toEqual(Array.from(contents.details[k]!.truncated));
      expect(Array.from(read.timeSec!)).toEqual(narrowed(contents.details[k]!.timeSec));
    }
  });

  it('refuses a folder that is not empty, a dataset of another task, and a LeRobot dataset without the goals', async () => {
    const source = await armpriorDataset();
    const busy = newDir();
    writeFileSync(join(busy, 'notes.txt'), 'mine');
    await expect(exportLerobot(source, busy)).rejects.toThrow(
      `${busy}: the folder is not empty: export into a new folder`,
    );
    expect(readFileSync(join(busy, 'notes.txt'), 'utf8')).toBe('mine');
    const out = join(newDir(), 'lerobot');
    await exportLerobot(source, out);
    await expect(readLerobotDataset(out, { ...EXPECTED, task: 'push' })).rejects.toThrow(
      /recorded for task pick-and-place/,
    );
    // One recorded by LeRobot itself: frames without armprior's goals.
    const foreign = newDir();
    mkdirSync(join(foreign, 'meta'));
    const info = JSON.parse(readFileSync(join(out, 'meta', 'info.json'), 'utf8'));
    delete info.features['observation.desired_goal'];
    writeFileSync(join(foreign, 'meta', 'info.json'), JSON.stringify(info));
    const refused = await readLerobotDataset(foreign, EXPECTED).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(DatasetError);
    expect((refused as Error).message).toContain(
      'without meta/armprior.json and without the features observation.desired_goal',
    );
    expect(existsSync(join(foreign, 'data'))).toBe(false);
  });
});

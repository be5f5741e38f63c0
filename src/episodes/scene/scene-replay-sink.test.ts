import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as fsPromises from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ArmEnv } from '../../../sim/env.js';
import { compileModel } from '../../../sim/mujoco/model-loader.js';
import { getMujoco } from '../../../sim/mujoco/module.js';
import { Simulation } from '../../../sim/mujoco/simulation.js';
import { failFreshWrites } from '../../../test/support/full-disk-writes.js';
import { createBasicController } from '../../controllers/basic.js';
import { DiskFullError } from '../../core/errors.js';
import { Rng } from '../../core/rng.js';
import { runEpisode } from '../run-episode.js';
import { readSceneGeometry } from './scene-geometry.js';
import {
  appendSceneReplays,
  listSceneReplays,
  readSceneReplay,
  SceneReplayError,
  sceneReplayFileName,
  writeSceneReplay,
} from './scene-replay-files.js';
import { SceneReplaySink } from './scene-replay-sink.js';

vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs/promises')>();
  return { ...actual, open: vi.fn(actual.open) };
});

afterEach(() => {
  vi.mocked(fsPromises.open).mockReset();
});

describe('scene replays', () => {
  let env: ArmEnv;
  beforeAll(async () => {
    env = await ArmEnv.create({ task: 'push' });
  });
  afterAll(() => env.close());

  const freshDir = () => mkdtempSync(join(tmpdir(), 'armprior-replays-'));

  /** One random-controller episode recorded into `dir`; the summary and the written file. */
  const recordEpisode = async (dir: string, seed: number) => {
    const recorder = new SceneReplaySink(env, { actor: 'random', dir });
    const controller = createBasicController('random', env.actionSize, Rng.fromSeed(seed));
    const summary = await runEpisode(env, controller, seed, { sinks: [recorder] });
    return { summary, file: recorder.lastFile!, recorder };
  };

  it('round-trips an episode: one frame per step plus the reset, every body, what the episode summary says', async () => {
    const dir = freshDir();
    const { summary, file, recorder } = await recordEpisode(dir, 3);
    expect(file).toBe(join(dir, sceneReplayFileName(0)));
    const replay = readSceneReplay(file);

    expect(replay).toMatchObject({ task: 'push', robot: 'panda', actor: 'random', seed: 3 });
    expect(replay.ctrlDtSec).toBe(env.task.config.ctrlDtSec);
    expect(replay.frames).toHaveLength(summary.length + 1);
    expect(replay.bodies).toHaveLength(env.simulation.model.nbody);
    expect(replay.bodies[0]).toBe('world');
    expect(replay.bodies).toContain('hand');
    expect(replay.geoms.map((g) => g.name)).toEqual(expect.arrayContaining(['floor', 'table']));
    expect(recorder.geometry.skippedGeoms).toEqual([]);
    for (const frame of replay.frames) {
      expect(frame.bodyPos).toHaveLength(3 * replay.bodies.length);
      expect(frame.bodyQuat).toHaveLength(4 * replay.bodies.length);
    }

    // The arm moved: the hand's world position differs between the first and the last frame.
    const hand = replay.bodies.indexOf('hand');
    const handAt = (t: number) => replay.frames[t]!.bodyPos.slice(3 * hand, 3 * hand + 3);
    const moved = Math.hypot(...handAt(0).map((v, i) => v - handAt(replay.frames.length - 1)[i]!));
    expect(moved).toBeGreaterThan(0.01);

    expect(replay.success).toBe(summary.success);
    expect(replay.frames.at(-1)!.success).toBe(summary.success);
    expect(replay.return).toBeCloseTo(summary.return, 4);
    const summed = replay.frames.reduce((sum, f) => sum + f.reward, 0);
    expect(summed).toBeCloseTo(summary.return, 3);
    expect(replay.frames[0]!.reward).toBe(0);
    expect(replay.rewardTermNames).toContain('goalDistance');
    const distance = replay.rewardTermNames.indexOf('goalDistance');
    expect(replay.frames.at(-1)!.rewardTerms[distance]).toBeCloseTo(summary.finalGoalDistance!, 4);
  });

  it('appends after the highest index and never overwrites', async () => {
    const dir = freshDir();
    const first = (await recordEpisode(dir, 1)).file;
    const before = readFileSync(first, 'utf8');
    // A gap (a file someone kept from elsewhere): the next one goes after it, not into the gap.
    writeFileSync(join(dir, sceneReplayFileName(7)), before);
    const next = (await recordEpisode(dir, 2)).file;
    expect(next).toBe(join(dir, sceneReplayFileName(8)));
    expect(await writeSceneReplay(dir, readSceneReplay(next))).toBe(join(dir, sceneReplayFileName(9)));
    expect(readFileSync(first, 'utf8')).toBe(before);
    expect(listSceneReplays(dir).map((f) => f.slice(dir.length + 1))).toEqual([
      sceneReplayFileName(0),
      sceneReplayFileName(7),
      sceneReplayFileName(8),
      sceneReplayFileName(9),
    ]);
    // No temporary files left behind.
    expect(readdirSync(dir).filter((name) => name.includes('tmp'))).toEqual([]);
    expect(listSceneReplays(join(dir, 'missing'))).toEqual([]);
  });

  it('moves replays recorded aside to the end of a folder, in order, never overwriting', async () => {
    const aside = freshDir();
    const dir = freshDir();
    await recordEpisode(dir, 1);
    await recordEpisode(aside, 2);
    await recordEpisode(aside, 3);
    const moved = await appendSceneReplays(aside, dir);
    expect(moved).toEqual([join(dir, sceneReplayFileName(1)), join(dir, sceneReplayFileName(2))]);
    expect(listSceneReplays(dir).map((f) => readSceneReplay(f).seed)).toEqual([1, 2, 3]);
    expect(existsSync(aside)).toBe(false);
  });

  it('reports a full disk as a DiskFullError naming the replay, leaving no partial file', async () => {
    const dir = freshDir();
    const replay = readSceneReplay((await recordEpisode(dir, 1)).file);
    failFreshWrites(fsPromises.open);
    await expect(writeSceneReplay(dir, replay)).rejects.toThrow(DiskFullError);
    await expect(writeSceneReplay(dir, replay)).rejects.toThrow(
      `no space left on device while writing ${join(dir, sceneReplayFileName(1))}`,
    );
    expect(readdirSync(dir)).toEqual([sceneReplayFileName(0)]);
  });

  it('refuses a truncated or invalid file, naming it and the problem', async () => {
    const dir = freshDir();
    const { file } = await recordEpisode(dir, 4);
    const text = readFileSync(file, 'utf8');

    const truncated = join(dir, 'truncated.json');
    writeFileSync(truncated, text.slice(0, Math.floor(text.length / 2)));
    expect(() => readSceneReplay(truncated)).toThrow(SceneReplayError);
    expect(() => readSceneReplay(truncated)).toThrow(`${truncated}: not a whole JSON document`);

    const json = JSON.parse(text) as { frames: { bodyPos: unknown }[]; format: number };
    const wrongFormat = join(dir, 'format.json');
    writeFileSync(wrongFormat, JSON.stringify({ ...json, format: 99 }));
    expect(() => readSceneReplay(wrongFormat)).toThrow(/format\.json: not a valid replay: format:/);

    json.frames[2]!.bodyPos = [1, 2, 3];
    const wrongPoses = join(dir, 'poses.json');
    writeFileSync(wrongPoses, JSON.stringify(json));
    expect(() => readSceneReplay(wrongPoses)).toThrow(
      /poses\.json: frame 2 has poses for a different number of bodies/,
    );

    expect(() => readSceneReplay(join(dir, 'nope.json'))).toThrow(/nope\.json: cannot read the replay/);
  });

  it('draws a mesh as its bounding box, takes a material colour, and leaves out collision-only geoms', async () => {
    const mj = await getMujoco();
    // A 0.2 × 0.1 × 0.04 m block mesh, its vertices off-centre by +0.3 m in x.
    const corners = [0.2, 0.4].flatMap((x) =>
      [-0.05, 0.05].flatMap((y) => [-0.02, 0.02].map((z) => `${x} ${y} ${z}`)),
    );
    const xml = `<mujoco>
  <asset>
    <mesh name="block" vertex="${corners.join('  ')}"/>
    <material name="red" rgba="1 0 0 1"/>
  </asset>
  <worldbody>
    <body name="thing" pos="0 0 1">
      <freejoint/>
      <geom name="shell" type="mesh" mesh="block" material="red"/>
      <geom name="hull" type="box" size="0.1 0.1 0.1" group="3"/>
    </body>
  </worldbody>
</mujoco>`;
    const sim = new Simulation(mj, compileModel(mj, { displayName: 'mesh test', xml, files: new Map() }));
    try {
      const scene = readSceneGeometry(sim);
      expect(scene.bodies).toEqual(['world', 'thing']);
      expect(scene.geoms).toHaveLength(1);
      const shell = scene.geoms[0]!;
      expect(shell).toMatchObject({ type: 'box', body: 1, name: 'shell', rgba: [1, 0, 0, 1] });
      // MuJoCo centres a mesh on its centroid and moves the geom there: the box lands on the block.
      const sorted = [...shell.size].sort((a, b) => a - b);
      expect(sorted[0]).toBeCloseTo(0.02, 4);
      expect(sorted[1]).toBeCloseTo(0.05, 4);
      expect(sorted[2]).toBeCloseTo(0.1, 4);
      expect(Math.hypot(...shell.pos)).toBeCloseTo(0.3, 4);
      expect(scene.skippedGeoms).toEqual(["geom 'hull': group 3 (hidden, collision only)"]);
    } finally {
      sim.dispose();
    }
  });
});
